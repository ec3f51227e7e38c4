/* test_ca.c - the CA: state files, times, serials, init/open/sign/revoke/crl
 * and the specific error of each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mtlskit/ca.h"
#include "mtlskit/csr.h"
#include "mtlskit/keygen.h"

static char tmpdir[64];
static const time_t NOW = 1767225600; /* 2026-01-01T00:00:00Z */

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mtk-unit-ca-XXXXXX");
	return mkdtemp(tmpdir) == NULL;
}

static int teardown_tmp(void **state)
{
	char cmd[512];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) != 0;
}

static void test_time_parse(void **state)
{
	time_t t = 0;
	(void)state;
	assert_int_equal(mtk_time_parse("2026-01-01T00:00:00Z", &t, NULL), MTK_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(mtk_time_parse("20260101000000Z", &t, NULL), MTK_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(mtk_time_parse("2026-01-01", &t, NULL), MTK_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(mtk_time_parse("2024-02-29", &t, NULL), MTK_OK);
	assert_int_equal(mtk_time_parse("2023-02-29", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("2100-02-29", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("2000-02-29", &t, NULL), MTK_OK);
	assert_int_equal(mtk_time_parse("2026-04-31", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("2026-01-01T24:00:00Z", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("2026-01-01T00:00:00", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("1949-12-31", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("20260101000000", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse("", &t, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_time_parse(NULL, &t, NULL), MTK_E_INVALID_ARG);
}

static void test_serial_normalize(void **state)
{
	char out[80];
	(void)state;
	assert_int_equal(mtk_serial_normalize("0a:1B:ff", out, sizeof(out), NULL), MTK_OK);
	assert_string_equal(out, "0A1BFF");
	assert_int_equal(mtk_serial_normalize("0x00ABC", out, sizeof(out), NULL), MTK_OK);
	assert_string_equal(out, "0ABC");
	assert_int_equal(mtk_serial_normalize("00", out, sizeof(out), NULL), MTK_OK);
	assert_string_equal(out, "00");
	assert_int_equal(mtk_serial_normalize("09E0D6", out, sizeof(out), NULL), MTK_OK);
	assert_string_equal(out, "09E0D6");
	assert_int_equal(mtk_serial_normalize("9e:0d:61", out, sizeof(out), NULL), MTK_OK);
	assert_string_equal(out, "9E0D61");
	assert_int_equal(mtk_serial_normalize("xyz", out, sizeof(out), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_serial_normalize("", out, sizeof(out), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_serial_normalize("ABCDEF", out, 4, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_serial_normalize("ABCDEF", out, 7, NULL), MTK_OK);
}

static void test_index_roundtrip(void **state)
{
	const char *txt = "# comment\n"
			  "V\tABCD\t20270101000000Z\t-\t-\tclient\tCN=a.example.com\n"
			  "\n"
			  "R\t1F\t20270101000000Z\t20260102000000Z\tkeyCompromise\tserver\tCN=b,O=X\n";
	mtk_ca_index idx = MTK_CA_INDEX_INIT, idx2 = MTK_CA_INDEX_INIT;
	mtk_buf b = MTK_BUF_INIT;
	mtk_err err = {0};
	(void)state;

	assert_int_equal(mtk_ca_index_parse((const uint8_t *)txt, strlen(txt), &idx, &err), MTK_OK);
	assert_int_equal(idx.count, 2);
	assert_int_equal(idx.items[1].status, 'R');
	assert_int_equal(idx.items[1].reason, MTK_REASON_KEY_COMPROMISE);
	assert_string_equal(idx.items[1].subject, "CN=b,O=X");
	assert_int_equal(mtk_ca_index_format(&idx, &b), MTK_OK);
	assert_int_equal(mtk_ca_index_parse(b.data, b.len, &idx2, &err), MTK_OK);
	assert_int_equal(idx2.count, 2);
	assert_string_equal(idx2.items[0].serial, "ABCD");
	assert_int_equal(idx2.items[1].revoked_at, idx.items[1].revoked_at);
	mtk_ca_index_free(&idx);
	mtk_ca_index_free(&idx2);
	mtk_buf_free(&b);

	static const char *bad[] = {
		"V\tABCD\t20270101000000Z\t-\t-\tclient\n",                       /* 6 fields */
		"X\tABCD\t20270101000000Z\t-\t-\tclient\tCN=a\n",                 /* status */
		"V\tabcd\t20270101000000Z\t-\t-\tclient\tCN=a\n",                 /* lower-case serial */
		"V\tABCD\t2027\t-\t-\tclient\tCN=a\n",                            /* time */
		"V\tABCD\t20270101000000Z\t20260101000000Z\t-\tclient\tCN=a\n",   /* V with revocation */
		"R\tABCD\t20270101000000Z\t-\tkeyCompromise\tclient\tCN=a\n",     /* R without time */
		"R\tABCD\t20270101000000Z\t20260101000000Z\tnope\tclient\tCN=a\n", /* reason */
		"V\tAB\t20270101000000Z\t-\t-\tclient\tCN=a\nV\tAB\t20270101000000Z\t-\t-\tclient\tCN=b\n", /* dup */
		"V\tABCD\t20270101000000Z\t-\t-\tclient\tCN=a\r\n",               /* CR */
		"V\tABCD\t20270101000000Z\t-\t-\tweird\tCN=a\n",                  /* profile */
		"V\tABCD\t20270101000000Z\t-\t-\tclient\tCN=a\tx\n",              /* 8 fields */
		"R\tAB\t20270101000000Z\t20260101000000Z\tsuperseded\tclient\tCN=a\n"
		"V\tAB\t20270101000000Z\t-\t-\tclient\tCN=a\n", /* valid after revoked */
		"V\tAB\t20270101000000Z\t-\t-\tclient\tCN=a\n"
		"R\tAB\t20270101000000Z\t20260101000000Z\tsuperseded\tclient\tCN=a\n"
		"R\tAB\t20270101000000Z\t20260101000000Z\tsuperseded\tclient\tCN=a\n", /* revoked twice */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mtk_err_clear(&err);
		assert_int_equal(mtk_ca_index_parse((const uint8_t *)bad[i], strlen(bad[i]), &idx, &err),
				 MTK_E_CA_STATE);
		assert_non_null(strstr(err.detail, "index.txt:"));
	}
	/* a revocation record: one entry, in the valid line's place, with the
	 * later line's state; a torn last line is not read */
	{
		const char *txt = "V\tAB\t20270101000000Z\t-\t-\tclient\tCN=a\n"
				  "V\tCD\t20270101000000Z\t-\t-\tclient\tCN=c\n"
				  "R\tAB\t20270101000000Z\t20260101000000Z\tsuperseded\tclient\tCN=a\n"
				  "V\tEF\t2027";
		assert_int_equal(mtk_ca_index_parse((const uint8_t *)txt, strlen(txt), &idx, &err), MTK_OK);
		assert_int_equal(idx.count, 2);
		assert_string_equal(idx.items[0].serial, "AB");
		assert_int_equal(idx.items[0].status, 'R');
		assert_int_equal(idx.items[0].reason, MTK_REASON_SUPERSEDED);
		assert_int_equal(idx.items[1].status, 'V');
		mtk_ca_index_free(&idx);
	}
	/* a duplicate names both lines */
	mtk_err_clear(&err);
	assert_int_equal(mtk_ca_index_parse((const uint8_t *)bad[7], strlen(bad[7]), &idx, &err), MTK_E_CA_STATE);
	assert_string_equal(err.detail, "index.txt:2: serial AB twice (first on line 1)");
}

/* A generated index of LARGE_N lines (a header comment, then one entry a
 * line: entry k is on line k + 2), serials from a fixed generator, every
 * tenth entry revoked.  dup_of >= 0: entry dup_at repeats entry dup_of's
 * serial. */
#define LARGE_N 20000
static void large_serial(size_t k, char *out, size_t cap)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL * (k + 1), y = x ^ (x >> 29) ^ 0x5DEECE66DULL * (k + 7);
	snprintf(out, cap, "%016llX%016llX", (unsigned long long)(x | (1ULL << 62)), (unsigned long long)y);
}

static void large_index(mtk_buf *b, long dup_at, long dup_of)
{
	char serial[40];

	assert_int_equal(mtk_buf_append_str(b, "# generated\n"), MTK_OK);
	for (long k = 0; k < LARGE_N; k++) {
		large_serial((size_t)(k == dup_at ? dup_of : k), serial, sizeof(serial));
		if (k % 10 == 3)
			assert_int_equal(mtk_buf_printf(b, "R\t%s\t20270101000000Z\t20260102000000Z\tsuperseded\tclient\tCN=h%ld\n",
							serial, k), MTK_OK);
		else
			assert_int_equal(mtk_buf_printf(b, "V\t%s\t20270101000000Z\t-\t-\tclient\tCN=h%ld\n", serial, k),
					 MTK_OK);
	}
}

static void test_index_large(void **state)
{
	mtk_ca_index idx = MTK_CA_INDEX_INIT;
	mtk_buf b = MTK_BUF_INIT;
	mtk_err err = {0};
	char serial[40], lower[80], want[160];
	size_t at = 0;
	(void)state;

	large_index(&b, -1, -1);
	assert_int_equal(mtk_ca_index_parse(b.data, b.len, &idx, &err), MTK_OK);
	assert_int_equal(idx.count, LARGE_N);
	for (size_t k = 0; k < LARGE_N; k += 97) {
		large_serial(k, serial, sizeof(serial));
		assert_true(mtk_ca_index_find(&idx, serial, &at));
		assert_int_equal(at, k);
		/* the forms revoke takes: lower case, colons, leading zeros */
		snprintf(lower, sizeof(lower), "00:%s", serial);
		for (char *p = lower; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		assert_true(mtk_ca_index_find(&idx, lower, &at));
		assert_int_equal(at, k);
	}
	large_serial(LARGE_N - 1, serial, sizeof(serial));
	assert_true(mtk_ca_index_find(&idx, serial, &at));
	assert_int_equal(at, LARGE_N - 1);
	assert_int_equal(idx.items[LARGE_N - 7].status, 'R');
	large_serial(LARGE_N, serial, sizeof(serial)); /* never written */
	assert_false(mtk_ca_index_find(&idx, serial, &at));
	assert_false(mtk_ca_index_find(&idx, "not hex", &at));
	mtk_ca_index_free(&idx);

	/* entry 19,990 (line 19,992) repeats entry 5 (line 7) */
	b.len = 0;
	large_index(&b, LARGE_N - 10, 5);
	mtk_err_clear(&err);
	assert_int_equal(mtk_ca_index_parse(b.data, b.len, &idx, &err), MTK_E_CA_STATE);
	large_serial(5, serial, sizeof(serial));
	snprintf(want, sizeof(want), "index.txt:%d: serial %s twice (first on line 7)", LARGE_N - 8, serial);
	assert_string_equal(err.detail, want);
	assert_null(idx.items);
	mtk_buf_free(&b);

	/* one value in two spellings is two entries, as before; lookups find
	 * the first */
	{
		const char *txt = "V\t0A\t20270101000000Z\t-\t-\tclient\tCN=a\n"
				  "V\t000A\t20270101000000Z\t-\t-\tclient\tCN=b\n";
		assert_int_equal(mtk_ca_index_parse((const uint8_t *)txt, strlen(txt), &idx, &err), MTK_OK);
		assert_true(mtk_ca_index_find(&idx, "a", &at));
		assert_int_equal(at, 0);
		mtk_ca_index_free(&idx);
	}
}

static void test_conf_parse(void **state)
{
	const char *ok = "# x\nversion = 1\nname = Lab Root\nissuing =\nkey_type = ec:P-256\ncrl_url = http://x/c.crl\n";
	mtk_ca_conf c;
	mtk_buf b = MTK_BUF_INIT;
	(void)state;

	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)ok, strlen(ok), &c, NULL), MTK_OK);
	assert_string_equal(c.name, "Lab Root");
	assert_string_equal(c.issuing, "");
	assert_string_equal(c.crl_url, "http://x/c.crl");
	assert_int_equal(mtk_ca_conf_format(&c, &b), MTK_OK);
	assert_int_equal(mtk_ca_conf_parse(b.data, b.len, &c, NULL), MTK_OK);
	assert_string_equal(c.key_type, "ec:P-256");
	mtk_buf_free(&b);
	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)"version = 2\nname = x\n", 21, &c, NULL), MTK_E_CA_STATE);
	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)"version = 1\n", 12, &c, NULL), MTK_E_CA_STATE);
	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)"version = 1\nname = x\nfoo = 1\n", 29, &c, NULL), MTK_E_CA_STATE);
	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)"version = 1\nname x\n", 19, &c, NULL), MTK_E_CA_STATE);
	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)"version = 1\nname = x\nkey_type = rsa:512\n", 39, &c, NULL), MTK_E_CA_STATE);
	assert_int_equal(mtk_ca_conf_parse((const uint8_t *)"", 0, &c, NULL), MTK_E_CA_STATE);
}

static X509_REQ *make_req(const char *cn, bool ca, bool san)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_sans sa = MTK_SANS_INIT;
	X509_NAME *n = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *k = NULL;

	assert_int_equal(mtk_key_generate("ec:P-256", &k, NULL), MTK_OK);
	assert_int_equal(mtk_subject_add(&s, MTK_SUBJ_CN, cn, NULL), MTK_OK);
	assert_int_equal(mtk_subject_to_name(&s, &n, NULL), MTK_OK);
	if (san)
		assert_int_equal(mtk_sans_parse(&sa, "DNS:a.example.com", NULL), MTK_OK);
	if (!ca) {
		assert_int_equal(mtk_csr_build(k, n, &sa, MTK_USAGE_CLIENT, &req, NULL), MTK_OK);
	} else {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
		bc->ca = 1;
		sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_basic_constraints, 1, bc));
		req = X509_REQ_new();
		X509_REQ_set_subject_name(req, n);
		X509_REQ_set_pubkey(req, k);
		X509_REQ_add_extensions(req, exts);
		X509_REQ_sign(req, k, EVP_sha256());
		BASIC_CONSTRAINTS_free(bc);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	mtk_subject_free(&s);
	mtk_sans_free(&sa);
	return req;
}

static const mtk_ca_index *index_of(mtk_ca *ca)
{
	const mtk_ca_index *idx = NULL;

	assert_int_equal(mtk_ca_get_index(ca, &idx, NULL), MTK_OK);
	return idx;
}

/* mtk_ca_crls, its CRLs decoded; each one's number and entry count as
 * the library reported them are checked against the decoded CRL. */
static mtk_rc crls_of(mtk_ca *ca, mtk_ca_crl_scope scope, time_t now, long days,
		      STACK_OF(X509_CRL) * *out, mtk_err *err)
{
	mtk_ca_crl_der c[2];
	size_t n = 0;
	mtk_rc rc = mtk_ca_crls(ca, scope, now, days, c, &n, err);

	if (rc != MTK_OK)
		return rc;
	*out = sk_X509_CRL_new_null();
	for (size_t i = 0; i < n; i++) {
		const unsigned char *q = c[i].der.data;
		X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)c[i].der.len);
		STACK_OF(X509_REVOKED) * rev;
		ASN1_INTEGER *num;

		assert_non_null(crl);
		assert_ptr_equal(q, c[i].der.data + c[i].der.len);
		rev = X509_CRL_get_REVOKED(crl);
		assert_int_equal(rev == NULL ? 0 : sk_X509_REVOKED_num(rev), c[i].revoked);
		num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
		assert_int_equal(ASN1_INTEGER_get(num), c[i].number);
		ASN1_INTEGER_free(num);
		sk_X509_CRL_push(*out, crl);
		mtk_buf_free(&c[i].der);
	}
	return MTK_OK;
}

static void test_ca_lifecycle(void **state)
{
	char dir[128], p[256];
	mtk_ca_init_opts io = {0};
	mtk_ca_sign_opts so = {0};
	mtk_ca *ca = NULL;
	X509_REQ *req = make_req("a.example.com", false, true);
	X509 *cert = NULL;
	X509_CRL *crl = NULL;
	mtk_secret *pw = mtk_secret_new("capw", 4), *bad = mtk_secret_new("nope", 4);
	mtk_err err = {0};
	(void)state;

	snprintf(dir, sizeof(dir), "%s/ca", tmpdir);
	/* missing */
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_E_CA_STATE);
	io.name = "Unit Root";
	io.intermediate = "Unit Issuing";
	io.key_type = "ec:P-256";
	io.now = NOW;
	io.out_pass = pw;
	io.crl_url = "http://pki.example.com/x.crl";
	assert_int_equal(mtk_ca_init(dir, &io, &err), MTK_OK);
	assert_int_equal(mtk_ca_init(dir, &io, NULL), MTK_E_INVALID_ARG); /* not empty: --force would not help */
	io.crl_url = "http://a b";
	assert_int_equal(mtk_ca_init("/nonexistent-dir/x", &io, NULL), MTK_E_INVALID_ARG);
	io.crl_url = NULL;
	io.key_type = "dsa";
	assert_int_equal(mtk_ca_init("/nonexistent-dir/x", &io, NULL), MTK_E_INVALID_ARG);

	/* passwords */
	mtk_err_clear(&err);
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_E_PASSWORD_NEEDED);
	assert_int_equal(mtk_ca_open(dir, bad, MTK_CA_KEY_SIGNER, &ca, NULL), MTK_E_BAD_PASSWORD);
	assert_int_equal(mtk_ca_open(dir, NULL, 0, &ca, NULL), MTK_OK); /* no key needed */
	assert_int_equal(mtk_ca_sign(ca, req, &so, &cert, NULL), MTK_E_INTERNAL);
	mtk_ca_close(ca);
	ca = NULL;
	assert_int_equal(mtk_ca_open(dir, pw, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(sk_X509_num(mtk_ca_chain(ca)), 2);

	so.profile = MTK_PROFILE_SERVER;
	so.not_before = NOW;
	so.not_after = NOW + 86400;
	assert_int_equal(mtk_ca_sign(ca, req, &so, &cert, &err), MTK_OK);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(mtk_ca_signer(ca))), 1);
	assert_true(X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) >= 0);
	assert_true(X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) >= 0);
	assert_int_equal(index_of(ca)->count, 1);
	{
		char hex[80];
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
		char *h = BN_bn2hex(bn);
		assert_int_equal(BN_num_bits(bn) >= 121 && BN_num_bits(bn) <= 127, 1);
		snprintf(hex, sizeof(hex), "%s", h);
		assert_string_equal(index_of(ca)->items[0].serial, hex);
		assert_int_equal(mtk_ca_revoke(ca, hex, MTK_REASON_SUPERSEDED, NOW + 10, NULL), MTK_OK);
		assert_int_equal(mtk_ca_revoke(ca, hex, MTK_REASON_SUPERSEDED, NOW + 10, NULL), MTK_E_INVALID_ARG);
		OPENSSL_free(h);
		BN_free(bn);
	}
	assert_int_equal(mtk_ca_revoke(ca, "1234", MTK_REASON_SUPERSEDED, NOW, NULL), MTK_E_NOT_FOUND);
	assert_int_equal(mtk_ca_crl(ca, NOW + 20, 7, &crl, &err), MTK_OK);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(mtk_ca_signer(ca))), 1);
	X509_CRL_free(crl);
	crl = NULL;
	assert_int_equal(mtk_ca_crl(ca, NOW, 0, &crl, NULL), MTK_E_INVALID_ARG);
	{
		/* chain scope needs the root's key too; refused before any counter moves */
		STACK_OF(X509_CRL) *crls = NULL;
		ASN1_INTEGER *num;
		assert_int_equal(crls_of(ca, MTK_CRL_SCOPE_CHAIN, NOW, 7, &crls, NULL),
				 MTK_E_INTERNAL);
		assert_int_equal(crls_of(ca, (mtk_ca_crl_scope)7, NOW, 7, &crls, NULL),
				 MTK_E_INVALID_ARG);
		assert_int_equal(crls_of(ca, MTK_CRL_SCOPE_LEAF, NOW, 7, &crls, &err), MTK_OK);
		assert_int_equal(sk_X509_CRL_num(crls), 1);
		num = X509_CRL_get_ext_d2i(sk_X509_CRL_value(crls, 0), NID_crl_number, NULL, NULL);
		assert_int_equal(ASN1_INTEGER_get(num), 2); /* the refusals took no number */
		ASN1_INTEGER_free(num);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
		crls = NULL;
		mtk_ca_close(ca);
		ca = NULL;
		assert_int_equal(mtk_ca_open(dir, pw, MTK_CA_KEY_SIGNER | MTK_CA_KEY_ROOT, &ca, &err), MTK_OK);
		assert_int_equal(crls_of(ca, MTK_CRL_SCOPE_CHAIN, NOW, 7, &crls, &err), MTK_OK);
		assert_int_equal(sk_X509_CRL_num(crls), 2);
		assert_int_equal(X509_CRL_verify(sk_X509_CRL_value(crls, 0), X509_get0_pubkey(mtk_ca_signer(ca))), 1);
		assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(sk_X509_CRL_value(crls, 0))), 1);
		/* the root's: signed by the root, no entries, its own number */
		assert_int_equal(X509_CRL_verify(sk_X509_CRL_value(crls, 1), X509_get0_pubkey(sk_X509_value(mtk_ca_chain(ca), 1))), 1);
		assert_null(X509_CRL_get_REVOKED(sk_X509_CRL_value(crls, 1)));
		num = X509_CRL_get_ext_d2i(sk_X509_CRL_value(crls, 0), NID_crl_number, NULL, NULL);
		assert_int_equal(ASN1_INTEGER_get(num), 3);
		ASN1_INTEGER_free(num);
		num = X509_CRL_get_ext_d2i(sk_X509_CRL_value(crls, 1), NID_crl_number, NULL, NULL);
		assert_int_equal(ASN1_INTEGER_get(num), 1);
		ASN1_INTEGER_free(num);
		assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(sk_X509_CRL_value(crls, 1)),
					       X509_get_subject_name(sk_X509_value(mtk_ca_chain(ca), 1))), 0);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
	X509_free(cert);
	cert = NULL;

	/* refusals */
	{
		X509_REQ *careq = make_req("Sub CA", true, false);
		X509_REQ *nosan = make_req("b.example.com", false, false);
		X509_REQ *broken = X509_REQ_dup(req);
		const ASN1_BIT_STRING *sig = NULL;
		X509_REQ_get0_signature(broken, &sig, NULL);
		/* flip a bit of the signature */
		((ASN1_BIT_STRING *)sig)->data[sig->length - 1] ^= 1;
		assert_int_equal(mtk_ca_sign(ca, careq, &so, &cert, NULL), MTK_E_CSR_POLICY);
		assert_int_equal(mtk_ca_sign(ca, nosan, &so, &cert, NULL), MTK_E_CSR_POLICY);
		so.profile = MTK_PROFILE_CLIENT;
		assert_int_equal(mtk_ca_sign(ca, nosan, &so, &cert, NULL), MTK_OK); /* client: SAN optional */
		X509_free(cert);
		cert = NULL;
		assert_int_equal(mtk_ca_sign(ca, broken, &so, &cert, NULL), MTK_E_CSR_SIGNATURE);
		so.not_after = so.not_before;
		assert_int_equal(mtk_ca_sign(ca, req, &so, &cert, NULL), MTK_E_INVALID_ARG);
		assert_null(cert);
		assert_int_equal(index_of(ca)->count, 2);
		X509_REQ_free(careq);
		X509_REQ_free(nosan);
		X509_REQ_free(broken);
	}
	mtk_ca_close(ca);
	ca = NULL;

	/* half-initialised */
	snprintf(p, sizeof(p), "%s/issuing.crt", dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mtk_ca_open(dir, pw, MTK_CA_KEY_SIGNER, &ca, NULL), MTK_E_CA_STATE);
	snprintf(p, sizeof(p), "%s/ca.conf", dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mtk_ca_open(dir, pw, MTK_CA_KEY_SIGNER, &ca, NULL), MTK_E_CA_STATE);
	assert_null(ca);
	X509_REQ_free(req);
	mtk_secret_free(pw);
	mtk_secret_free(bad);
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *get_file(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The CRL as OpenSSL's own objects make it (X509_CRL_sort, X509_CRL_sign):
 * the form mtk_ca_crls wrote before it wrote the DER itself, kept here as
 * the reference its bytes are compared with. */
static X509_CRL *reference_crl(X509 *issuer, EVP_PKEY *key, const char *const *lines, size_t n,
			       long long number, time_t now, long days)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, now);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki;
	X509V3_CTX ctx;

	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_non_null(ASN1_TIME_set(t, now + days * 86400L));
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
	for (size_t i = 0; i < n; i++) {
		/* "SERIAL REVOKED_AT REASON": the entries the index lists */
		char serial[80], reason[40];
		long long at;
		BIGNUM *bn = NULL;
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn;
		ASN1_TIME *rt;
		mtk_reason why;

		assert_int_equal(sscanf(lines[i], "%79s %lld %39s", serial, &at, reason), 3);
		assert_int_not_equal(BN_hex2bn(&bn, serial), 0);
		sn = BN_to_ASN1_INTEGER(bn, NULL);
		rt = ASN1_TIME_set(NULL, (time_t)at);
		assert_int_equal(X509_REVOKED_set_serialNumber(r, sn), 1);
		assert_int_equal(X509_REVOKED_set_revocationDate(r, rt), 1);
		assert_int_equal(mtk_reason_parse(reason, &why, NULL), MTK_OK);
		if (why != MTK_REASON_UNSPECIFIED) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
			assert_int_equal(ASN1_ENUMERATED_set(e, (long)why), 1);
			assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0), 1);
			ASN1_ENUMERATED_free(e);
		}
		assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
		ASN1_INTEGER_free(sn);
		ASN1_TIME_free(rt);
		BN_free(bn);
	}
	assert_int_equal(ASN1_INTEGER_set_int64(num, number), 1);
	assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0), 1);
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	assert_non_null(aki);
	assert_int_equal(X509_CRL_add_ext(crl, aki, -1), 1);
	assert_int_equal(X509_CRL_sort(crl), 1);
	assert_true(X509_CRL_sign(crl, key, mtk_key_sign_md(key)) > 0);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	return crl;
}

/* The DER mtk_ca_crls writes is, byte for byte, the CRL OpenSSL's objects
 * make of the same entries: for RSA and Ed25519 CAs (deterministic
 * signatures) the whole CRL, for ECDSA the signed part and a signature that
 * verifies.  The entries cover what the encoding depends on: serials with
 * the top bit set, a zero serial, leading zeros, an odd digit count, dates
 * from 1950 (the earliest an index holds) and from 2050 on (GeneralizedTime),
 * every reason, the unspecified one (no extension), and index order unlike
 * serial order. */
static void test_crl_bytes(void **state)
{
	static const char *const kinds[] = {"rsa:2048", "ed25519", "ec:P-256"};
	static const char *const index_lines =
	    "V\t0A\t20270101000000Z\t-\t-\tclient\tCN=v\n"
	    "R\t8F\t20270101000000Z\t20260102000000Z\tkeyCompromise\tclient\tCN=a\n"
	    "R\t00\t20270101000000Z\t20510102030405Z\tunspecified\tclient\tCN=b\n"
	    "R\tABC\t20270101000000Z\t19500101000000Z\tcessationOfOperation\tclient\tCN=c\n"
	    "V\t0FF\t20270101000000Z\t-\t-\tclient\tCN=d\n"
	    "R\t0FF\t20270101000000Z\t20260102000000Z\taffiliationChanged\tclient\tCN=d\n"
	    "R\t80000000000000000000000000000001\t20270101000000Z\t20260102000000Z\tcertificateHold"
	    "\tclient\tCN=e\n"
	    "R\t00017F\t20270101000000Z\t20491231235959Z\tprivilegeWithdrawn\tclient\tCN=g\n"
	    "R\t7F\t20270101000000Z\t20260102000000Z\tCACompromise\tclient\tCN=h\n"
	    "R\t1234567890ABCDEF\t20270101000000Z\t20260102000000Z\tsuperseded\tclient\tCN=i\n";
	/* The same revoked entries: serial, time_t, reason. */
	static const char *const entries[] = {
	    "8F 1767312000 keyCompromise",
	    "00 2556241445 unspecified",
	    "ABC -631152000 cessationOfOperation",
	    "0FF 1767312000 affiliationChanged",
	    "80000000000000000000000000000001 1767312000 certificateHold",
	    "00017F 2524607999 privilegeWithdrawn",
	    "7F 1767312000 CACompromise",
	    "1234567890ABCDEF 1767312000 superseded",
	};
	(void)state;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char dir[128], p[256];
		mtk_ca_init_opts io = {0};
		mtk_ca *ca = NULL;
		mtk_err err = {0};
		mtk_ca_crl_der c[2];
		size_t n = 0;
		X509_CRL *ref;
		EVP_PKEY *key;
		FILE *kf;
		unsigned char *rd = NULL;
		int rl;
		bool ecdsa = strncmp(kinds[k], "ec:", 3) == 0;

		snprintf(dir, sizeof(dir), "%s/crlbytes%zu", tmpdir, k);
		io.name = "Bytes Root";
		io.key_type = kinds[k];
		io.now = NOW;
		assert_int_equal(mtk_ca_init(dir, &io, &err), MTK_OK);
		snprintf(p, sizeof(p), "%s/index.txt", dir);
		put_file(p, index_lines);
		assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
		assert_int_equal(mtk_ca_crls(ca, MTK_CRL_SCOPE_CHAIN, NOW, 30, c, &n, &err),
				 MTK_OK);
		assert_int_equal(n, 1);
		assert_int_equal(c[0].revoked, sizeof(entries) / sizeof(entries[0]));
		snprintf(p, sizeof(p), "%s/root.key", dir);
		kf = fopen(p, "r");
		assert_non_null(kf);
		key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
		fclose(kf);
		assert_non_null(key);
		ref = reference_crl(mtk_ca_signer(ca), key, entries,
				    sizeof(entries) / sizeof(entries[0]), c[0].number, NOW, 30);
		EVP_PKEY_free(key);
		if (!ecdsa) {
			rl = i2d_X509_CRL(ref, &rd);
		} else {
			/* the signed part: what precedes the signature algorithm */
			const unsigned char *q = c[0].der.data;
			X509_CRL *got = d2i_X509_CRL(NULL, &q, (long)c[0].der.len);
			unsigned char *gd = NULL;
			int gl;

			assert_non_null(got);
			assert_int_equal(X509_CRL_verify(got, X509_get0_pubkey(mtk_ca_signer(ca))),
					 1);
			rl = i2d_re_X509_CRL_tbs(ref, &rd);
			gl = i2d_re_X509_CRL_tbs(got, &gd);
			assert_int_equal(gl, rl);
			assert_memory_equal(gd, rd, (size_t)rl);
			OPENSSL_free(gd);
			X509_CRL_free(got);
			OPENSSL_free(rd);
			rd = NULL;
			rl = i2d_X509_CRL(ref, &rd);
			assert_true(c[0].der.len >= (size_t)rl - 2 &&
				    c[0].der.len <= (size_t)rl + 2);
		}
		if (!ecdsa) {
			assert_int_equal(c[0].der.len, rl);
			assert_memory_equal(c[0].der.data, rd, (size_t)rl);
		}
		OPENSSL_free(rd);
		X509_CRL_free(ref);
		mtk_buf_free(&c[0].der);
		mtk_ca_close(ca);
	}
}

/* The index as sign/revoke/crl use it: lines are only appended, each
 * command reads the file once; a revocation is a revoked line after the
 * valid one; an interrupted append (bytes after the last newline that are
 * not a whole entry) is left out and written over. */
static void test_ca_append_index(void **state)
{
	char dir[128], p[256], want[4096];
	mtk_ca_init_opts io = {0};
	mtk_ca *ca = NULL;
	X509_CRL *crl = NULL;
	mtk_err err = {0};
	const mtk_ca_index *idx = NULL;
	const char *l1 = "V\t0A\t20270101000000Z\t-\t-\tclient\tCN=one,O=Example\n";
	const char *l2 = "R\t0B\t20270101000000Z\t20260102000000Z\tsuperseded\tclient\tCN=two\n";
	const char *l3 = "V\t0C\t20270101000000Z\t-\t-\tserver\tCN=three\n";
	const char *l3r = "R\t0C\t20270101000000Z\t20260101000010Z\tkeyCompromise\tserver\tCN=three\n";
	(void)state;

	snprintf(dir, sizeof(dir), "%s/lazy", tmpdir);
	io.name = "Lazy Root";
	io.key_type = "ec:P-256";
	io.now = NOW;
	assert_int_equal(mtk_ca_init(dir, &io, &err), MTK_OK);
	snprintf(p, sizeof(p), "%s/index.txt", dir);
	snprintf(want, sizeof(want), "# kept comment\n%s%s\n%s", l1, l2, l3);
	put_file(p, want);

	/* Revoke 0C (written as "c"): every byte stays, its revoked line is
	 * appended. */
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(mtk_ca_revoke(ca, "c", MTK_REASON_KEY_COMPROMISE, NOW + 10, &err), MTK_OK);
	assert_int_equal(mtk_ca_revoke(ca, "0C", MTK_REASON_KEY_COMPROMISE, NOW + 10, &err), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_ca_revoke(ca, "b", MTK_REASON_KEY_COMPROMISE, NOW + 10, &err), MTK_E_INVALID_ARG);
	mtk_ca_close(ca);
	ca = NULL;
	snprintf(want, sizeof(want), "# kept comment\n%s%s\n%s%s", l1, l2, l3, l3r);
	assert_string_equal(get_file(p), want);

	/* ca list's view: one entry per serial, in its place, the later line
	 * its state. */
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(mtk_ca_get_index(ca, &idx, &err), MTK_OK);
	assert_int_equal(idx->count, 3);
	assert_string_equal(idx->items[0].subject, "CN=one,O=Example");
	assert_int_equal(idx->items[1].reason, MTK_REASON_SUPERSEDED);
	assert_int_equal(idx->items[2].status, 'R');
	assert_int_equal(idx->items[2].reason, MTK_REASON_KEY_COMPROMISE);
	assert_int_equal(mtk_ca_crl(ca, NOW + 20, 7, &crl, &err), MTK_OK);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	X509_CRL_free(crl);
	crl = NULL;
	mtk_ca_close(ca);
	ca = NULL;

	/* An interrupted append: not an entry for anyone, and the next
	 * append writes over it. */
	snprintf(want, sizeof(want), "%s%sV\t0D\t2027", l1, l3);
	put_file(p, want);
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(mtk_ca_get_index(ca, &idx, &err), MTK_OK);
	assert_int_equal(idx->count, 2);
	assert_int_equal(mtk_ca_revoke(ca, "d", MTK_REASON_SUPERSEDED, NOW + 10, &err), MTK_E_NOT_FOUND);
	assert_int_equal(mtk_ca_revoke(ca, "c", MTK_REASON_KEY_COMPROMISE, NOW + 10, &err), MTK_OK);
	/* the handle sees its own append */
	assert_int_equal(mtk_ca_get_index(ca, &idx, &err), MTK_OK);
	assert_int_equal(idx->count, 2);
	assert_int_equal(idx->items[1].status, 'R');
	mtk_ca_close(ca);
	ca = NULL;
	snprintf(want, sizeof(want), "%s%s%s", l1, l3, l3r);
	assert_string_equal(get_file(p), want);

	/* A whole last line without its newline (written by hand) is an
	 * entry; the append puts the newline first. */
	snprintf(want, sizeof(want), "%s%.*s", l1, (int)strlen(l3) - 1, l3);
	put_file(p, want);
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(mtk_ca_revoke(ca, "c", MTK_REASON_KEY_COMPROMISE, NOW + 10, &err), MTK_OK);
	mtk_ca_close(ca);
	ca = NULL;
	snprintf(want, sizeof(want), "%s%s%s", l1, l3, l3r);
	assert_string_equal(get_file(p), want);

	/* A bad revocation time on a revoked line: the CRL (which reads
	 * revoked lines whole) refuses it, naming the line. */
	put_file(p, "R\t0B\t20270101000000Z\tyesterday\tsuperseded\tclient\tCN=two\n");
	mtk_err_clear(&err);
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(mtk_ca_crl(ca, NOW, 7, &crl, &err), MTK_E_CA_STATE);
	assert_string_equal(err.detail, "index.txt:1: bad revocation time");
	assert_null(crl);
	mtk_ca_close(ca);
	ca = NULL;

	/* A serial that is not hex: refused by the command that reads the
	 * index, naming the line. */
	put_file(p, "# c\nV\tNOTHEX\t20270101000000Z\t-\t-\tclient\tCN=x\n");
	mtk_err_clear(&err);
	assert_int_equal(mtk_ca_open(dir, NULL, MTK_CA_KEY_SIGNER, &ca, &err), MTK_OK);
	assert_int_equal(mtk_ca_revoke(ca, "a", MTK_REASON_SUPERSEDED, NOW, &err), MTK_E_CA_STATE);
	assert_string_equal(err.detail, "index.txt:2: bad serial");
	mtk_err_clear(&err);
	assert_int_equal(mtk_ca_get_index(ca, &idx, &err), MTK_E_CA_STATE);
	assert_string_equal(err.detail, "index.txt:2: bad serial");
	mtk_ca_close(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_parse),	    cmocka_unit_test(test_serial_normalize),
	    cmocka_unit_test(test_index_roundtrip), cmocka_unit_test(test_index_large),
	    cmocka_unit_test(test_conf_parse),	    cmocka_unit_test(test_ca_lifecycle),
	    cmocka_unit_test(test_ca_append_index), cmocka_unit_test(test_crl_bytes),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
