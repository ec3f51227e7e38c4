/* test_subject.c - lib/x509/subject.c (csr.h): the one subject parser in
 * both forms, escapes, errors and their messages, the validation of country,
 * lengths, UTF-8 and ServiceNow's domains, names to and from X509_NAME.
 * test_csr.c covers request building; this file the subject module. */
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

/* Parses t; err is cleared first (the first error set is kept). */
static mtk_rc parse(mtk_subject *s, const char *t, mtk_err *err)
{
	mtk_err_clear(err);
	return mtk_subject_parse(s, t, strlen(t), err);
}

static void test_slash_form(void **state)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_err err = {0};
	(void)state;

	/* order as given; spaces kept; '=' inside a value; escapes */
	assert_int_equal(parse(&s, "/C=GB/O= Ex Corp /OU=a=b/CN=x\\\\y\\/z.example.com", &err), MTK_OK);
	assert_int_equal(s.count, 4);
	assert_int_equal(s.items[0].field, MTK_SUBJ_C);
	assert_int_equal(s.items[1].field, MTK_SUBJ_O);
	assert_int_equal(s.items[2].field, MTK_SUBJ_OU);
	assert_int_equal(s.items[3].field, MTK_SUBJ_CN);
	assert_string_equal(s.items[1].value, " Ex Corp ");
	assert_string_equal(s.items[2].value, "a=b");
	assert_string_equal(s.items[3].value, "x\\y/z.example.com");
	/* a comma is plain text in this form */
	mtk_subject_free(&s);
	assert_int_equal(parse(&s, "/O=Ex, Inc/CN=a", &err), MTK_OK);
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_O), "Ex, Inc");
	assert_null(mtk_subject_get(&s, MTK_SUBJ_L));
	mtk_subject_free(&s);
}

static void test_comma_form(void **state)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_err err = {0};
	(void)state;

	/* keytool -dname: most specific first, stored root-first */
	assert_int_equal(parse(&s, "CN=mid01.example.com, OU=IT, O=Example\\, Inc., L=Leeds, ST=Yorkshire, C=GB", &err), MTK_OK);
	assert_int_equal(s.count, 6);
	assert_int_equal(s.items[0].field, MTK_SUBJ_C);
	assert_int_equal(s.items[5].field, MTK_SUBJ_CN);
	assert_string_equal(s.items[3].value, "Example, Inc.");
	assert_string_equal(s.items[2].value, "Leeds");
	assert_string_equal(s.items[5].value, "mid01.example.com");
	/* a slash is plain text in this form, case of names does not matter */
	mtk_subject_free(&s);
	assert_int_equal(parse(&s, "cn=a/b,EMAIL=ops@example.com", &err), MTK_OK);
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_CN), "a/b");
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_EMAIL), "ops@example.com");
	mtk_subject_free(&s);
}

static void test_parse_errors(void **state)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_err err = {0};
	char longname[64];
	(void)state;

	assert_int_equal(parse(&s, "/CN=keep", &err), MTK_OK);
	assert_int_equal(parse(&s, "/", &err), MTK_E_INVALID_ARG);
	assert_non_null(strstr(err.detail, "--subject must look like /CN=host.example.com"));
	assert_int_equal(parse(&s, "/CN=a/O", &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "--subject: attribute 'O' has no '=value'");
	assert_int_equal(parse(&s, "CN=a, Title=b", &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail,
			    "--subject: unknown attribute 'Title' (use C, ST, L, O, OU, CN, emailAddress)");
	assert_int_equal(parse(&s, "/CN=a\\", &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "--subject: a backslash at the end escapes nothing");
	mtk_err_clear(&err);
	assert_int_equal(mtk_subject_parse(&s, "/CN=a\\\0b", 7, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "--subject: NUL byte in a value");
	mtk_err_clear(&err);
	assert_int_equal(mtk_subject_parse(&s, "CN\0=a", 5, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "--subject: attribute 'CN' has no '=value'");
	/* an attribute name is cut at 32 bytes */
	memset(longname, 'A', 40);
	strcpy(longname + 40, "=x");
	assert_int_equal(parse(&s, longname, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail,
			    "--subject: attribute 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' has no '=value'");
	/* every failure left the earlier entry alone */
	assert_int_equal(s.count, 1);
	assert_string_equal(mtk_subject_get(&s, MTK_SUBJ_CN), "keep");
	/* and a success appends */
	assert_int_equal(parse(&s, "O=b", &err), MTK_OK);
	assert_int_equal(s.count, 2);
	assert_int_equal(mtk_subject_add(&s, MTK_SUBJ__COUNT, "x", &err), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_subject_add(&s, MTK_SUBJ_O, NULL, &err), MTK_E_INVALID_ARG);
	assert_int_equal(s.count, 2);
	mtk_subject_free(&s);
	mtk_subject_free(NULL);
}

static void test_fields(void **state)
{
	mtk_usage u;
	mtk_err err = {0};
	(void)state;

	assert_string_equal(mtk_subj_field_name(MTK_SUBJ_EMAIL), "emailAddress");
	assert_string_equal(mtk_subj_field_name(MTK_SUBJ__COUNT), "?");
	assert_int_equal(mtk_subj_field_max(MTK_SUBJ_C), 2);
	assert_int_equal(mtk_subj_field_max(MTK_SUBJ_CN), 64);
	assert_int_equal(mtk_subj_field_max(MTK_SUBJ_ST), 128);
	assert_int_equal(mtk_subj_field_max(MTK_SUBJ_EMAIL), 255);
	assert_int_equal(mtk_subj_field_max(MTK_SUBJ__COUNT), 0);
	assert_int_equal(mtk_usage_parse("client", &u, &err), MTK_OK);
	assert_int_equal(u, MTK_USAGE_CLIENT);
	assert_int_equal(mtk_usage_parse("both", &u, &err), MTK_OK);
	assert_int_equal(u, MTK_USAGE_BOTH);
	assert_int_equal(mtk_usage_parse("Client", &u, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "--usage must be client, server or both");
	assert_int_equal(mtk_usage_parse(NULL, &u, &err), MTK_E_INVALID_ARG);
}

/* The findings for subject (and sans), their messages joined by '|'. */
static const char *findings(const char *subject, const char *sans, mtk_usage u, size_t *errors,
			    bool *snow)
{
	static char out[2048];
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_sans sa = MTK_SANS_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;
	size_t len = 0;

	assert_int_equal(parse(&s, subject, NULL), MTK_OK);
	if (sans)
		assert_int_equal(mtk_sans_parse(&sa, sans, NULL), MTK_OK);
	assert_int_equal(mtk_csr_validate(&s, &sa, u, "x.csr", &fs), MTK_OK);
	out[0] = '\0';
	for (size_t i = 0; i < fs.count; i++) {
		size_t n = strlen(fs.items[i].message);
		assert_true(len + n + 2 < sizeof(out));
		if (i)
			out[len++] = '|';
		memcpy(out + len, fs.items[i].message, n + 1);
		len += n;
	}
	*errors = mtk_findings_count_at_least(&fs, MTK_SEV_ERROR);
	*snow = mtk_findings_has(&fs, MTK_F_SUBJECT_SERVICENOW_DOMAIN);
	mtk_findings_free(&fs);
	mtk_subject_free(&s);
	mtk_sans_free(&sa);
	return out;
}

static void test_country(void **state)
{
	size_t e;
	bool sn;
	(void)state;

	assert_string_equal(findings("/C=GB/CN=a.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn), "");
	assert_string_equal(findings("/C=gb/CN=a.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "country 'gb' must be upper case: use --country GB");
	assert_int_equal(e, 1);
	assert_string_equal(findings("/C=UK/CN=a.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "country 'UK' is not an ISO 3166-1 code; the United Kingdom is GB: use --country GB");
	assert_string_equal(findings("/C=USA/CN=a.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "country 'USA' is not a two-letter ISO 3166-1 code: use --country US");
	assert_string_equal(findings("/C=XX/CN=a.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "country 'XX' is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. US, GB, DE)");
	assert_int_equal(e, 1);
	/* the table's edges */
	assert_true(mtk_country_code_valid("AD"));
	assert_true(mtk_country_code_valid("ZW"));
	assert_false(mtk_country_code_valid("UK"));
	assert_false(mtk_country_code_valid("GBR"));
}

static void test_lengths_and_utf8(void **state)
{
	char subj[600], msg[200];
	size_t e;
	bool sn;
	(void)state;

	/* CN: 64 characters pass, 65 do not */
	strcpy(subj, "/CN=");
	memset(subj + 4, 'a', 64);
	subj[68] = '\0';
	assert_string_equal(findings(subj, NULL, MTK_USAGE_NONE, &e, &sn), "");
	strcat(subj, "a");
	assert_string_equal(findings(subj, NULL, MTK_USAGE_NONE, &e, &sn),
			    "CN is 65 characters long; RFC 5280 allows at most 64");
	assert_int_equal(e, 1);
	/* characters, not bytes: 64 two-byte characters are 64 */
	strcpy(subj, "/CN=a.example.com/O=");
	for (int i = 0; i < 64; i++)
		strcat(subj, "\xc3\xa9");
	assert_string_equal(findings(subj, NULL, MTK_USAGE_CLIENT, &e, &sn), "");
	strcat(subj, "\xc3\xa9");
	snprintf(msg, sizeof(msg), "O is %d characters long; RFC 5280 allows at most %d", 65, 64);
	assert_string_equal(findings(subj, NULL, MTK_USAGE_CLIENT, &e, &sn), msg);
	/* ST may be 128 */
	strcpy(subj, "/CN=a.example.com/ST=");
	memset(subj + strlen(subj), 'x', 129);
	subj[22 + 129 - 1] = '\0';
	assert_int_equal(strlen(subj), 21 + 129);
	assert_string_equal(findings(subj, NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "ST is 129 characters long; RFC 5280 allows at most 128");
	assert_string_equal(findings("/CN=a.example.com/O=\xff", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "O is not valid UTF-8");
	assert_string_equal(findings("/CN=a.example.com/O=\xc0\xaf", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "O is not valid UTF-8"); /* overlong '/' */
	assert_string_equal(findings("/O=/CN=a.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "O is empty: leave it out or give a value");
	assert_string_equal(findings("/O=Example", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "the subject has no CN and there is no SAN: give --cn with the host name you own");
	assert_string_equal(findings("/CN=a.example.com/emailAddress=ops", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "emailAddress 'ops' is not an e-mail address");
	assert_string_equal(findings("/CN=web", NULL, MTK_USAGE_SERVER, &e, &sn),
			    "CN 'web' is not a fully qualified host name; the articles use the host's FQDN (e.g. mid01.example.com)"
			    "|a server certificate needs the host's FQDN: add --san DNS:host.example.com");
	assert_int_equal(e, 1);
	assert_string_equal(findings("/CN=web", "DNS:web.example.com", MTK_USAGE_SERVER, &e, &sn),
			    "CN 'web' is not a fully qualified host name; the articles use the host's FQDN (e.g. mid01.example.com)");
	assert_int_equal(e, 0);
}

static void test_servicenow(void **state)
{
	size_t e;
	bool sn;
	(void)state;

	assert_string_equal(findings("/CN=acme.service-now.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "CN 'acme.service-now.com' is on ServiceNow's domain; the certificate must be for a domain your organisation owns (e.g. mid01.example.com)");
	assert_true(sn);
	assert_int_equal(e, 1);
	findings("/CN=service-now.com", NULL, MTK_USAGE_CLIENT, &e, &sn);
	assert_true(sn);
	findings("/CN=SERVICENOW.COM.", NULL, MTK_USAGE_NONE, &e, &sn);
	assert_true(sn);
	/* look-alikes are someone else's domain */
	findings("/CN=service-now.com.example.com", NULL, MTK_USAGE_CLIENT, &e, &sn);
	assert_false(sn);
	findings("/CN=myservice-now.com", NULL, MTK_USAGE_CLIENT, &e, &sn);
	assert_false(sn);
	assert_int_equal(e, 0);
	assert_string_equal(findings("/CN=a.example.com", "DNS:x.service-now.com", MTK_USAGE_CLIENT, &e, &sn),
			    "SAN DNS:x.service-now.com is on ServiceNow's domain; the certificate must be for a domain your organisation owns");
	assert_string_equal(findings("/CN=a.example.com", "URI:https://x.servicenow.com:443/a", MTK_USAGE_CLIENT, &e, &sn),
			    "SAN URI:https://x.servicenow.com:443/a is on ServiceNow's domain");
	assert_string_equal(findings("/CN=a.example.com", "email:me@service-now.com", MTK_USAGE_CLIENT, &e, &sn),
			    "SAN email:me@service-now.com is on ServiceNow's domain");
	assert_string_equal(findings("/CN=a.example.com/emailAddress=me@servicenow.com", NULL, MTK_USAGE_CLIENT, &e, &sn),
			    "emailAddress 'me@servicenow.com' is on ServiceNow's domain; use an address of your organisation");
	assert_true(sn);
}

static void test_names(void **state)
{
	mtk_subject s = MTK_SUBJECT_INIT, back = MTK_SUBJECT_INIT;
	mtk_err err = {0};
	X509_NAME *n = NULL;
	X509_NAME_ENTRY *ne;
	char buf[256];
	(void)state;

	assert_int_equal(parse(&s, "CN=a.example.com,emailAddress=x@example.com,O=Ex,C=GB", &err), MTK_OK);
	assert_int_equal(mtk_subject_to_name(&s, &n, &err), MTK_OK);
	/* C is a PrintableString, emailAddress an IA5String, the rest UTF8 */
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 0))),
			 V_ASN1_PRINTABLESTRING);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 1))),
			 V_ASN1_UTF8STRING);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 2))),
			 V_ASN1_IA5STRING);
	assert_int_equal(mtk_subject_from_name(&back, n, &err), MTK_OK);
	assert_int_equal(back.count, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(back.items[i].field, s.items[i].field);
		assert_string_equal(back.items[i].value, s.items[i].value);
	}
	mtk_subject_free(&back);
	X509_NAME_free(n);
	n = NULL;
	mtk_subject_free(&s);

	/* encoding does not judge: C=USA is written as given (validation,
	 * above, is where it is refused) */
	assert_int_equal(parse(&s, "/C=USA", &err), MTK_OK);
	assert_int_equal(mtk_subject_to_name(&s, &n, &err), MTK_OK);
	mtk_name_string(n, buf, sizeof(buf));
	assert_string_equal(buf, "C=USA");
	X509_NAME_free(n);
	mtk_subject_free(&s);
	mtk_err_clear(&err);

	/* an embedded NUL in a certificate's name is refused, not cut */
	n = X509_NAME_new();
	ne = X509_NAME_ENTRY_create_by_NID(NULL, NID_commonName, V_ASN1_UTF8STRING,
					   (const unsigned char *)"good.com\0evil.com", 17);
	assert_non_null(ne);
	assert_int_equal(X509_NAME_add_entry(n, ne, -1, 0), 1);
	X509_NAME_ENTRY_free(ne);
	assert_int_equal(mtk_subject_from_name(&back, n, &err), MTK_E_MALFORMED);
	assert_string_equal(err.detail, "NUL byte in subject CN");
	/* attributes outside the seven are skipped */
	X509_NAME_free(n);
	n = X509_NAME_new();
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_UTF8,
						    (const unsigned char *)"42", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						    (const unsigned char *)"b.example.com", -1, -1, 0), 1);
	mtk_subject_free(&back);
	assert_int_equal(mtk_subject_from_name(&back, n, &err), MTK_OK);
	assert_int_equal(back.count, 1);
	assert_string_equal(mtk_subject_get(&back, MTK_SUBJ_CN), "b.example.com");
	mtk_name_string(n, buf, sizeof(buf));
	assert_non_null(strstr(buf, "CN=b.example.com"));
	mtk_subject_free(&back);
	X509_NAME_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slash_form),
		cmocka_unit_test(test_comma_form),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_country),
		cmocka_unit_test(test_lengths_and_utf8),
		cmocka_unit_test(test_servicenow),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
