/* test_fastcert.c - the minimal X.509 walker against OpenSSL's own parse:
 * every fixture in the tree, and a corpus of random certificates made here
 * with OpenSSL (RSA, EC, Ed25519 keys; v1 and v3; UTCTime and
 * GeneralizedTime; short, long, zero and negative serials; every common name
 * attribute, multi-valued RDNs, escaped characters, UTF-8, BMPString).
 * Also the specific error codes for damaged input, durations, endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mtlskit/cert.h"
#include "mtlskit/expiry.h"
#include "x509/fastcert.h"
#include "mtlskit/file.h"
#include "mtlskit/pem.h"

static EVP_PKEY *keys[3];
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static int64_t asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

static void openssl_name(const X509_NAME *n, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	assert_true(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0);
	len = BIO_get_mem_data(b, &p);
	snprintf(out, cap, "%.*s", (int)len, p);
	BIO_free(b);
}

static void openssl_serial(X509 *x, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = BN_bn2hex(bn);

	for (char *p = h; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	snprintf(out, cap, "%s", h);
	OPENSSL_free(h);
	BN_free(bn);
}

static size_t fast_names, slow_names, fast_times, slow_times;

/* The walker either agrees with OpenSSL on every field, or declines a
 * time form that is not strict DER (MTK_E_UNSUPPORTED). */
static void check_against_openssl(const uint8_t *der, size_t len, const char *what)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	mtk_fastcert fc;
	mtk_rc rc;
	char a[2048], b[2048];

	if (x == NULL) {
		ERR_clear_error();
		return;
	}
	rc = mtk_fastcert_parse(der, len, &fc);
	if (rc == MTK_E_UNSUPPORTED) {
		slow_times++;
		X509_free(x);
		return;
	}
	if (rc != MTK_OK)
		fail_msg("%s: OpenSSL parses it, the walker says %s", what, mtk_rc_name(rc));
	fast_times++;
	assert_int_equal(fc.der_len, (size_t)(p - der));
	assert_true(fc.not_before == asn1_epoch(X509_get0_notBefore(x)));
	assert_true(fc.not_after == asn1_epoch(X509_get0_notAfter(x)));
	assert_int_equal(mtk_fastcert_serial_hex(fc.serial, fc.serial_len, a, sizeof(a)), MTK_OK);
	openssl_serial(x, b, sizeof(b));
	if (strcmp(a, b) != 0)
		fail_msg("%s: serial %s, OpenSSL %s", what, a, b);
	for (int k = 0; k < 2; k++) {
		const uint8_t *nd = k ? fc.issuer : fc.subject;
		size_t nl = k ? fc.issuer_len : fc.subject_len;

		openssl_name(k ? X509_get_issuer_name(x) : X509_get_subject_name(x), b, sizeof(b));
		rc = mtk_fastcert_name(nd, nl, a, sizeof(a));
		if (rc == MTK_E_UNSUPPORTED) {
			slow_names++;
			continue;
		}
		assert_int_equal(rc, MTK_OK);
		fast_names++;
		if (strcmp(a, b) != 0)
			fail_msg("%s: %s '%s', OpenSSL '%s'", what, k ? "issuer" : "subject", a, b);
	}
	X509_free(x);
}

static int setup(void **state)
{
	(void)state;
	keys[0] = EVP_RSA_gen(1024);
	keys[1] = EVP_EC_gen("P-256");
	keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return keys[0] && keys[1] && keys[2] ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

static void rand_value(char *v, size_t cap, bool ascii_only)
{
	static const char special[] = ",+\"\\<>;#= '()*/:?@!&%$";
	size_t n = 1 + rnd(20);

	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t r = rnd(10);
		if (r < 6)
			v[i] = (char)('a' + rnd(26));
		else if (r < 8)
			v[i] = special[rnd(sizeof(special) - 1)];
		else
			v[i] = (char)('0' + rnd(10));
	}
	v[n] = '\0';
	if (!ascii_only && rnd(8) == 0 && n + 2 < cap) {
		v[0] = (char)0xc3; /* é in UTF-8 */
		v[1] = (char)0xa9;
	}
}

static X509_NAME *rand_name(void)
{
	static const char *attrs[] = {
	    "CN",    "O",  "OU", "L",	"ST",	  "emailAddress",     "DC",	     "serialNumber",
	    "title", "GN", "SN", "UID", "street", "businessCategory", "description", "C"};
	X509_NAME *n = X509_NAME_new();
	int k = (int)rnd(6);

	for (int i = 0; i < k; i++) {
		const char *a = attrs[rnd(sizeof(attrs) / sizeof(attrs[0]) - (rnd(4) ? 3 : 0))];
		char v[64];
		int type = MBSTRING_ASC;
		int set = (i > 0 && rnd(6) == 0) ? 0 : -1; /* sometimes multi-valued */

		if (strcmp(a, "C") == 0) {
			v[0] = (char)('A' + rnd(26));
			v[1] = (char)('A' + rnd(26));
			v[2] = '\0';
		} else {
			rand_value(v, sizeof(v), false);
		}
		if ((uint8_t)v[0] >= 0x80)
			type = MBSTRING_UTF8;
		else if (rnd(10) == 0)
			type = V_ASN1_IA5STRING;
		if (set == 0)
			set = (int)X509_NAME_entry_count(n) - 1 >= 0
				  ? X509_NAME_ENTRY_set(
					X509_NAME_get_entry(n, X509_NAME_entry_count(n) - 1))
				  : -1;
		if (!X509_NAME_add_entry_by_txt(n, a, type, (const unsigned char *)v, -1, -1,
						set >= 0 ? 1 : 0)) {
			/* e.g. a value too long for the attribute: skip it */
			ERR_clear_error();
		}
	}
	if (rnd(12) == 0) {
		/* A BMPString value: OpenSSL renders those; the walker declines. */
		ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_BMPSTRING);
		static const unsigned char bmp[] = {0, 'b', 0, 'm', 0, 'p'};
		X509_NAME_ENTRY *e;

		ASN1_STRING_set(s, bmp, sizeof(bmp));
		e = X509_NAME_ENTRY_create_by_txt(NULL, "CN", V_ASN1_BMPSTRING, bmp, sizeof(bmp));
		if (e != NULL) {
			X509_NAME_add_entry(n, e, -1, 0);
			X509_NAME_ENTRY_free(e);
		}
		ASN1_STRING_free(s);
	}
	return n;
}

static void rand_time(ASN1_TIME *t)
{
	/* 1950..2049 as UTCTime, up to 9999 as GeneralizedTime, and sometimes a
	 * GeneralizedTime before 2050 (legal for OpenSSL, not for RFC 5280). */
	int64_t lo = -631152000LL, span;
	time_t when;

	switch (rnd(4)) {
	case 0:
		span = 2524608000LL - lo; /* 1950..2050 */
		when = (time_t)(lo + (int64_t)(((uint64_t)rnd(0xffffffffu) << 8 | rnd(256)) %
					       (uint64_t)span));
		assert_non_null(ASN1_TIME_set(t, when));
		break;
	case 1:
		when = (time_t)(2524608000LL +
				(int64_t)(((uint64_t)rnd(0xffffffffu) << 8) % 250000000000ULL));
		assert_non_null(ASN1_TIME_set(t, when));
		break;
	case 2:
		when = (time_t)(946684800LL + rnd(0x7fffffff));
		assert_non_null(ASN1_GENERALIZEDTIME_set(t, when));
		break;
	default: {
		/* Edges: leap days, end of year, the 2049/2050 switch. */
		static const char *edges[] = {
		    "20000229235959Z", "19500101000000Z", "20491231235959Z", "20500101000000Z",
		    "99991231235959Z", "20240229120000Z", "21000228000000Z", "19991231235959Z"};
		assert_int_equal(ASN1_TIME_set_string_X509(t, edges[rnd(8)]), 1);
		break;
	}
	}
}

static X509 *rand_cert(void)
{
	X509 *x = X509_new();
	X509_NAME *sn = rand_name(), *in = rnd(3) ? rand_name() : NULL;
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *ser;
	int kt = (int)rnd(3);
	const EVP_MD *md = kt == 2 ? NULL : EVP_sha256();

	assert_true(X509_set_version(x, rnd(4) == 0 ? 0 : 2));
	switch (rnd(5)) {
	case 0:
		BN_zero(bn);
		break;
	case 1:
		BN_set_word(bn, rnd(255) + 1);
		break;
	default:
		BN_rand(bn, 8 * (int)(1 + rnd(40)), BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
		break;
	}
	if (rnd(6) == 0 && !BN_is_zero(bn))
		BN_set_negative(bn, 1);
	ser = BN_to_ASN1_INTEGER(bn, NULL);
	X509_set_serialNumber(x, ser);
	ASN1_INTEGER_free(ser);
	BN_free(bn);
	X509_set_subject_name(x, sn);
	X509_set_issuer_name(x, in ? in : sn);
	rand_time(X509_getm_notBefore(x));
	rand_time(X509_getm_notAfter(x));
	X509_set_pubkey(x, keys[kt]);
	assert_true(X509_sign(x, keys[kt], md) > 0);
	X509_NAME_free(sn);
	X509_NAME_free(in);
	return x;
}

static void test_random_corpus(void **state)
{
	/* FASTCERT_ROUNDS=100000 for a long soak; 400 in the normal run. */
	const char *env = getenv("FASTCERT_ROUNDS");
	int rounds = env ? (int)strtol(env, NULL, 10) : 400;

	(void)state;
	if (rounds < 400)
		rounds = 400;
	fast_names = slow_names = fast_times = slow_times = 0;
	for (int i = 0; i < rounds; i++) {
		X509 *x = rand_cert();
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		char what[32];

		assert_true(len > 0);
		snprintf(what, sizeof(what), "random cert %d", i);
		check_against_openssl(der, (size_t)len, what);
		OPENSSL_free(der);
		X509_free(x);
	}
	/* Most go the fast way; the odd ones prove the fallback is exercised. */
	assert_true(fast_times == (size_t)rounds);
	assert_true(fast_names > (size_t)rounds);
	assert_true(slow_names > 0);
}

/* Certificates whose times are valid for OpenSSL but not strict DER: the
 * walker must decline them (MTK_E_UNSUPPORTED), never misread them. */
static void test_nonstrict_times(void **state)
{
	static const struct {
		const char *s;
		int tag;
	} forms[] = {{"2612011200Z", V_ASN1_UTCTIME},
		     {"261201120000+0100", V_ASN1_UTCTIME},
		     {"20261201120000.5Z", V_ASN1_GENERALIZEDTIME},
		     {"202612011200Z", V_ASN1_GENERALIZEDTIME}};
	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		X509 *x = rand_cert();
		ASN1_TIME *t = X509_getm_notAfter(x);
		unsigned char *der = NULL;
		const unsigned char *p;
		X509 *back;
		mtk_fastcert fc;
		int len, tag = forms[i].tag;

		assert_int_equal(ASN1_STRING_set(t, forms[i].s, -1), 1);
		t->type = tag;
		assert_true(X509_sign(x, keys[1], EVP_sha256()) > 0);
		len = i2d_X509(x, &der);
		assert_true(len > 0);
		assert_int_equal(mtk_fastcert_parse(der, (size_t)len, &fc), MTK_E_UNSUPPORTED);
		/* ... and OpenSSL does read it, so the scan's fallback has work. */
		p = der;
		back = d2i_X509(NULL, &p, len);
		assert_non_null(back);
		asn1_epoch(X509_get0_notAfter(back));
		X509_free(back);
		OPENSSL_free(der);
		X509_free(x);
	}
}

/* Every PEM or DER certificate among the checked-in fixtures. */
static void walk_fixtures(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		mtk_buf b = MTK_BUF_INIT;
		mtk_pem_doc doc;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			walk_fixtures(path, count);
			continue;
		}
		if (mtk_file_read(path, 0, &b, NULL) != MTK_OK)
			continue;
		check_against_openssl(b.data, b.len, path);
		if (mtk_pem_scan(b.data, b.len, &doc, NULL) == MTK_OK) {
			for (size_t i = 0; i < doc.count; i++)
				if (doc.blocks[i].der)
					check_against_openssl(doc.blocks[i].der,
							      doc.blocks[i].der_len, path);
			mtk_pem_doc_free(&doc);
		}
		(*count)++;
		mtk_buf_free(&b);
	}
	closedir(d);
}

static void test_fixtures(void **state)
{
	const char *src = getenv("MTLSKIT_SRC");
	char dir[4096];
	int count = 0;

	(void)state;
	if (src == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/tests", src);
	fast_times = 0;
	walk_fixtures(dir, &count);
	assert_true(count > 0);
	assert_true(fast_times > 0); /* the fastcert corpus holds real certificates */
}

static void test_errors(void **state)
{
	X509 *x;
	unsigned char *der = NULL;
	int len;
	mtk_fastcert fc;
	uint8_t buf[4096];
	char s[64];

	(void)state;
	x = rand_cert();
	len = i2d_X509(x, &der);
	X509_free(x);
	assert_true(len > 100 && len < (int)sizeof(buf));
	memcpy(buf, der, (size_t)len);
	OPENSSL_free(der);
	assert_int_equal(mtk_fastcert_parse(buf, (size_t)len, &fc), MTK_OK);
	/* Every truncation fails, none reads past the end. */
	for (int n = 0; n < len; n++) {
		mtk_rc rc = mtk_fastcert_parse(buf, (size_t)n, &fc);
		assert_true(rc == MTK_E_TRUNCATED || rc == MTK_E_DER);
	}
	assert_int_equal(mtk_fastcert_parse(buf, 1, &fc), MTK_E_TRUNCATED);
	/* Trailing bytes are allowed (TRUSTED CERTIFICATE), der_len says where
	 * the certificate ends. */
	buf[len] = 0x42;
	assert_int_equal(mtk_fastcert_parse(buf, (size_t)len + 1, &fc), MTK_OK);
	assert_int_equal(fc.der_len, (size_t)len);
	/* Not a SEQUENCE; indefinite length (BER); non-minimal length. */
	{
		static const uint8_t notseq[] = {0x02, 0x01, 0x00};
		static const uint8_t indef[] = {0x30, 0x80, 0x00, 0x00};
		static const uint8_t longform[] = {0x30, 0x81, 0x01, 0x00};
		assert_int_equal(mtk_fastcert_parse(notseq, sizeof(notseq), &fc), MTK_E_DER);
		assert_int_equal(mtk_fastcert_parse(indef, sizeof(indef), &fc), MTK_E_DER);
		assert_int_equal(mtk_fastcert_parse(longform, sizeof(longform), &fc), MTK_E_DER);
	}
	/* Times. */
	{
		int64_t t;
		assert_int_equal(mtk_fastcert_time(0x17, (const uint8_t *)"260230000000Z", 13, &t),
				 MTK_E_DER);
		assert_int_equal(mtk_fastcert_time(0x17, (const uint8_t *)"2602280000Z", 11, &t),
				 MTK_E_UNSUPPORTED);
		assert_int_equal(
		    mtk_fastcert_time(0x18, (const uint8_t *)"20240229235959Z", 15, &t), MTK_OK);
		assert_true(t == 1709251199);
		assert_int_equal(mtk_fastcert_time(0x17, (const uint8_t *)"491231235959Z", 13, &t),
				 MTK_OK);
		assert_true(t == 2524607999);
		assert_int_equal(mtk_fastcert_time(0x17, (const uint8_t *)"500101000000Z", 13, &t),
				 MTK_OK);
		assert_true(t == -631152000);
		assert_int_equal(mtk_fastcert_time(0x04, (const uint8_t *)"500101000000Z", 13, &t),
				 MTK_E_DER);
	}
	/* Serials. */
	{
		static const uint8_t neg1[] = {0xff}, zero[] = {0x00}, big[] = {0x00, 0x80, 0x01};
		static const uint8_t neg256[] = {0xff, 0x00};
		assert_int_equal(mtk_fastcert_serial_hex(neg1, 1, s, sizeof(s)), MTK_OK);
		assert_string_equal(s, "-01");
		assert_int_equal(mtk_fastcert_serial_hex(neg256, 2, s, sizeof(s)), MTK_OK);
		assert_string_equal(s, "-0100");
		assert_int_equal(mtk_fastcert_serial_hex(zero, 1, s, sizeof(s)), MTK_OK);
		assert_string_equal(s, "0");
		assert_int_equal(mtk_fastcert_serial_hex(big, 3, s, sizeof(s)), MTK_OK);
		assert_string_equal(s, "8001");
		assert_int_equal(mtk_fastcert_serial_hex(big, 3, s, 4), MTK_E_TOO_LARGE);
	}
	/* Names: a name that does not fit; not a name. */
	{
		static const uint8_t cn[] = {0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03,
					     0x55, 0x04, 0x03, 0x0c, 0x02, 'h',	 'i'};
		assert_int_equal(mtk_fastcert_name(cn, sizeof(cn), s, sizeof(s)), MTK_OK);
		assert_string_equal(s, "CN=hi");
		assert_int_equal(mtk_fastcert_name(cn, sizeof(cn), s, 4), MTK_E_TOO_LARGE);
		assert_int_equal(mtk_fastcert_name(cn, sizeof(cn) - 1, s, sizeof(s)),
				 MTK_E_TRUNCATED);
		assert_int_equal(mtk_fastcert_name(cn + 2, sizeof(cn) - 2, s, sizeof(s)),
				 MTK_E_DER);
	}
}

static void test_durations_endpoints(void **state)
{
	char h[64], p[8];

	(void)state;
	assert_true(mtk_days_left(86400 * 2, 0) == 2);
	assert_true(mtk_days_left(86399, 0) == 0);
	assert_true(mtk_days_left(-1, 0) == -1);
	assert_true(mtk_days_left(-86400, 0) == -1);
	assert_true(mtk_days_left(-86401, 0) == -2);
	assert_true(mtk_expiry_parse_endpoint("example.com:8443", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "example.com");
	assert_string_equal(p, "8443");
	assert_true(mtk_expiry_parse_endpoint("[::1]:443", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "::1");
	assert_true(mtk_expiry_parse_endpoint("tls://example.com", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(p, "443");
	assert_true(
	    mtk_expiry_parse_endpoint("https://example.com:444/", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(p, "444");
	assert_false(mtk_expiry_parse_endpoint("certs.pem", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("dir/x:443", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("host:0", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("host:65536", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("::1:443", h, sizeof(h), p, sizeof(p)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_corpus),
	    cmocka_unit_test(test_nonstrict_times),
	    cmocka_unit_test(test_fixtures),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_durations_endpoints),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
