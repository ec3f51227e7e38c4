/* test_csr.c - keygen, subjects, SANs, validation findings, requests, INF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "mtlskit/cert.h"
#include "mtlskit/csr.h"
#include "mtlskit/keygen.h"

static void test_keygen(void **state)
{
	EVP_PKEY *k = NULL;
	mtk_buf pem = MTK_BUF_SECRET_INIT;
	mtk_secret *pw = mtk_secret_new("pw", 2);
	mtk_err err = {0};
	char name[32];
	(void)state;

	assert_int_equal(mtk_key_generate("rsa:1024", &k, &err), MTK_E_INVALID_ARG);
	assert_null(k);
	assert_int_equal(mtk_key_generate(NULL, &k, NULL), MTK_E_INVALID_ARG);
	assert_true(mtk_key_type_valid("EC:P-256"));
	assert_true(mtk_key_type_valid("ec:secp384r1"));
	assert_false(mtk_key_type_valid("ec:P-521"));
	assert_int_equal(mtk_key_generate("ec:P-384", &k, &err), MTK_OK);
	mtk_key_type_name(k, name, sizeof(name));
	assert_string_equal(name, "ec:P-384");
	assert_ptr_equal(mtk_key_sign_md(k), EVP_sha384());
	assert_int_equal(mtk_key_pem_private(k, NULL, &pem, &err), MTK_OK);
	assert_memory_equal(pem.data, "-----BEGIN PRIVATE KEY-----", 27);
	pem.len = 0;
	assert_int_equal(mtk_key_pem_private(k, pw, &pem, &err), MTK_OK);
	assert_memory_equal(pem.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37);
	EVP_PKEY_free(k);
	k = NULL;
	assert_int_equal(mtk_key_generate("ed25519", &k, &err), MTK_OK);
	assert_null(mtk_key_sign_md(k));
	EVP_PKEY_free(k);
	mtk_buf_free(&pem);
	mtk_secret_free(pw);
}

static void test_country(void **state)
{
	(void)state;
	assert_true(mtk_country_code_valid("US"));
	assert_true(mtk_country_code_valid("GB"));
	assert_true(mtk_country_code_valid("AD")); /* first */
	assert_true(mtk_country_code_valid("ZW")); /* last */
	assert_true(mtk_country_code_valid("SS"));
	assert_false(mtk_country_code_valid("UK"));
	assert_false(mtk_country_code_valid("USA"));
	assert_false(mtk_country_code_valid("us"));
	assert_false(mtk_country_code_valid("EU"));
	assert_false(mtk_country_code_valid("AA"));
	assert_false(mtk_country_code_valid(""));
	assert_false(mtk_country_code_valid(NULL));
}

static void test_hostnames(void **state)
{
	(void)state;
	assert_true(mtk_fqdn_valid("mid01.example.com", false));
	assert_true(mtk_fqdn_valid("*.example.com", true));
	assert_false(mtk_fqdn_valid("*.example.com", false));
	assert_false(mtk_fqdn_valid("localhost", false));
	assert_false(mtk_fqdn_valid("-a.example.com", false));
	assert_false(mtk_fqdn_valid("a-.example.com", false));
	assert_false(mtk_fqdn_valid("a..example.com", false));
	assert_false(mtk_fqdn_valid("10.0.0.1", false));
	assert_false(mtk_fqdn_valid("Web Server", false));
	assert_true(mtk_servicenow_domain("acme.service-now.com"));
	assert_true(mtk_servicenow_domain("*.service-now.com"));
	assert_true(mtk_servicenow_domain("SERVICENOW.COM."));
	assert_true(mtk_servicenow_domain("a.b.servicenow.com"));
	assert_false(mtk_servicenow_domain("notservice-now.com"));
	assert_false(mtk_servicenow_domain("service-now.com.example.com"));
	assert_false(mtk_servicenow_domain(""));
}

static void test_subject_parse(void **state)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_err err = {0};
	const char *t = "/C=US/ST=California/O=Example\\/Corp/CN=mid01.example.com/emailAddress=a@example.com";
	X509_NAME *n = NULL;
	char buf[256];
	(void)state;

	assert_int_equal(mtk_subject_parse(&s, t, strlen(t), &err), MTK_OK);
	assert_int_equal(s.count, 5);
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_O), "Example/Corp");
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_CN), "mid01.example.com");
	assert_int_equal(mtk_subject_to_name(&s, &n, &err), MTK_OK);
	mtk_name_string(n, buf, sizeof(buf));
	assert_string_equal(buf, "emailAddress=a@example.com,CN=mid01.example.com,O=Example/Corp,ST=California,C=US");
	X509_NAME_free(n);
	mtk_subject_free(&s);

	/* the RFC 4514 / keytool form: most specific first, read backwards */
	assert_int_equal(mtk_subject_parse(&s, " CN = a.example.com , O=Ex\\, Inc,C=US", 37, &err), MTK_OK);
	assert_int_equal(mtk_subject_to_name(&s, &n, &err), MTK_OK);
	mtk_name_string(n, buf, sizeof(buf));
	assert_string_equal(buf, "CN=a.example.com,O=Ex\\, Inc,C=US");
	X509_NAME_free(n);
	mtk_subject_free(&s);

	/* errors leave s unchanged */
	assert_int_equal(mtk_subject_parse(&s, "", 0, &err), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_parse(&s, "CN=x, Q=1", 9, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_parse(&s, "/CN=x/Q=1", 9, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_parse(&s, "/CN", 3, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_parse(&s, "/CN=x\\", 6, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_parse(&s, "/CN=a\0b", 7, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_parse(&s, "", 0, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(s.count, 0);
	/* aliases */
	assert_int_equal(mtk_subject_parse(&s, "/S=Texas/E=x@y.z/cn=a.b.c", 25, NULL), MTK_OK);
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_ST), "Texas");
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_EMAIL), "x@y.z");
	mtk_subject_free(&s);
}

static void test_sans(void **state)
{
	mtk_sans s = MTK_SANS_INIT;
	mtk_err err = {0};
	(void)state;

	assert_int_equal(mtk_sans_parse(&s, "dns:a.example.com,IP:10.0.0.1,Email:x@example.com,uri:https://a/", &err), MTK_OK);
	assert_int_equal(s.count, 4);
	assert_string_equal(s.items[0], "DNS:a.example.com");
	assert_string_equal(s.items[1], "IP:10.0.0.1");
	assert_string_equal(s.items[2], "email:x@example.com");
	assert_string_equal(s.items[3], "URI:https://a/");
	assert_int_equal(mtk_sans_parse(&s, "DNS:b.example.com,bogus", NULL), MTK_E_INVALID_ARG);
	assert_int_equal(s.count, 4); /* rolled back */
	assert_int_equal(mtk_sans_parse(&s, "IP:1.2.3", NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_sans_parse(&s, "DNS:", NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_sans_parse(&s, "DNS:a.b,", NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_sans_parse(&s, "", NULL), MTK_E_INVALID_ARG);
	assert_int_equal(s.count, 4);
	mtk_sans_free(&s);
}

static mtk_findings validate(const char *subject, const char *sans, mtk_usage u)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_sans sa = MTK_SANS_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;

	assert_int_equal(mtk_subject_parse(&s, subject, strlen(subject), NULL), MTK_OK);
	if (sans)
		assert_int_equal(mtk_sans_parse(&sa, sans, NULL), MTK_OK);
	assert_int_equal(mtk_csr_validate(&s, &sa, u, "x.csr", &fs), MTK_OK);
	mtk_subject_free(&s);
	mtk_sans_free(&sa);
	return fs;
}

static void test_validate(void **state)
{
	mtk_findings fs;
	(void)state;

	fs = validate("/C=US/ST=California/L=San Diego/O=Example Corp/CN=mid01.example.com", NULL, MTK_USAGE_CLIENT);
	assert_int_equal(fs.count, 0);
	mtk_findings_free(&fs);

	fs = validate("/C=USA/CN=mid01.example.com", NULL, MTK_USAGE_CLIENT);
	assert_int_equal(fs.count, 1);
	assert_int_equal(fs.items[0].id, MTK_F_SUBJECT_INVALID);
	assert_int_equal(fs.items[0].severity, MTK_SEV_ERROR);
	mtk_findings_free(&fs);

	fs = validate("/ST=CA/CN=mid01.example.com", NULL, MTK_USAGE_CLIENT);
	assert_int_equal(fs.count, 1);
	assert_int_equal(fs.items[0].severity, MTK_SEV_WARNING);
	mtk_findings_free(&fs);

	fs = validate("/L=Mt. Shasta/ST=California/CN=mid01.example.com", NULL, MTK_USAGE_CLIENT);
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 0);
	assert_int_equal(fs.count, 1);
	mtk_findings_free(&fs);

	fs = validate("/CN=*.service-now.com", NULL, MTK_USAGE_CLIENT);
	assert_true(mtk_findings_has(&fs, MTK_F_SUBJECT_SERVICENOW_DOMAIN));
	mtk_findings_free(&fs);

	fs = validate("/CN=mid01.example.com", "email:ops@acme.servicenow.com", MTK_USAGE_CLIENT);
	assert_true(mtk_findings_has(&fs, MTK_F_SUBJECT_SERVICENOW_DOMAIN));
	mtk_findings_free(&fs);

	fs = validate("/CN=mid01.example.com", "URI:https://acme.service-now.com/x", MTK_USAGE_CLIENT);
	assert_true(mtk_findings_has(&fs, MTK_F_SUBJECT_SERVICENOW_DOMAIN));
	mtk_findings_free(&fs);

	fs = validate("/CN=Web", NULL, MTK_USAGE_SERVER);
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 1);
	mtk_findings_free(&fs);
	fs = validate("/CN=Web", "DNS:web.example.com", MTK_USAGE_SERVER);
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 0);
	mtk_findings_free(&fs);

	fs = validate("/O=/CN=mid01.example.com", NULL, MTK_USAGE_CLIENT);
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 1);
	mtk_findings_free(&fs);

	/* 64 characters of CN pass, 65 fail; bounds count characters, not bytes */
	fs = validate("/CN=\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
		      NULL, MTK_USAGE_NONE);
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 0);
	mtk_findings_free(&fs);
	fs = validate("/CN=\xff\xfe", NULL, MTK_USAGE_NONE);
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 1);
	mtk_findings_free(&fs);
}

static void test_csr_build_renew_inf(void **state)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_sans sa = MTK_SANS_INIT;
	EVP_PKEY *k = NULL;
	X509_NAME *n = NULL;
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts;
	mtk_buf inf = MTK_BUF_INIT;
	mtk_err err = {0};
	(void)state;

	assert_int_equal(mtk_key_generate("rsa:2048", &k, &err), MTK_OK);
	assert_int_equal(mtk_subject_parse(&s, "/C=US/O=Ex, \"Inc\"/CN=mid01.example.com", 37, &err), MTK_OK);
	assert_int_equal(mtk_sans_parse(&sa, "DNS:mid01.example.com", &err), MTK_OK);
	assert_int_equal(mtk_subject_to_name(&s, &n, &err), MTK_OK);
	assert_int_equal(mtk_csr_build(k, n, &sa, MTK_USAGE_CLIENT, &req, &err), MTK_OK);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	exts = X509_REQ_get_extensions(req);
	assert_true(X509v3_get_ext_by_NID(exts, NID_key_usage, -1) >= 0);
	assert_true(X509v3_get_ext_by_NID(exts, NID_ext_key_usage, -1) >= 0);
	assert_true(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) >= 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

	assert_int_equal(mtk_csr_inf(&s, &sa, MTK_USAGE_CLIENT, k, &inf, &err), MTK_OK);
	assert_int_equal(mtk_buf_append_u8(&inf, 0), MTK_OK);
	/* a comma and quotes in a value: quoted, quotes doubled */
	assert_non_null(strstr((char *)inf.data, "O=\"\"Ex, \"\"\"\"Inc\"\"\"\"\"\""));
	assert_non_null(strstr((char *)inf.data, "KeyUsage = 0xa0\r\n"));
	assert_non_null(strstr((char *)inf.data, "_continue_ = \"dns=mid01.example.com&\"\r\n"));
	mtk_buf_free(&inf);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	k = NULL;
	assert_int_equal(mtk_key_generate("ed25519", &k, &err), MTK_OK);
	assert_int_equal(mtk_csr_inf(&s, &sa, MTK_USAGE_CLIENT, k, &inf, NULL), MTK_E_UNSUPPORTED);
	mtk_buf_free(&inf);
	EVP_PKEY_free(k);
	X509_NAME_free(n);
	mtk_subject_free(&s);
	mtk_sans_free(&sa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_country),
		cmocka_unit_test(test_hostnames),
		cmocka_unit_test(test_subject_parse),
		cmocka_unit_test(test_sans),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_csr_build_renew_inf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
