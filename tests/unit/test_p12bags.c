/* test_p12bags.c - the one PKCS#12 decoder (lib/formats/p12bags.c): PFX
 * files written by OpenSSL's own PKCS12_create (and the checked-in legacy
 * and Java ones) come back as the bags they hold, with the MAC's verdict,
 * both empty-password encodings, locked keys, the damaged-MAC probe and the
 * per-file budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "formats/p12bags.h"
#include "mtlskit/buf.h"
#include "mtlskit/keystore.h"

static EVP_PKEY *KEY;
static X509 *CERT;

static int setup(void **state)
{
	mtk_err err = {0};

	(void)state;
	if (mtk_ks_genkey("EC", 256, &KEY, &err) != MTK_OK ||
	    mtk_ks_selfsign(KEY, "CN=P12 Bags", 30, (time_t)1767225600, &CERT, &err) != MTK_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(KEY);
	X509_free(CERT);
	return 0;
}

/* A PFX from OpenSSL: pass NULL for the absent password; mac_iter -1: no
 * MAC; nid_cert -1: certificates not encrypted. */
static unsigned char *pfx(const char *pass, int nid_cert, int mac_iter, int *len)
{
	PKCS12 *p12 = PKCS12_create(pass, "Client", KEY, CERT, NULL, 0, nid_cert, 0, mac_iter, 0);
	unsigned char *der = NULL;

	assert_non_null(p12);
	*len = i2d_PKCS12(p12, &der);
	assert_true(*len > 0);
	PKCS12_free(p12);
	return der;
}

static mtk_rc rd(const unsigned char *der, int len, const char *pass, mtk_p12_read_opts *o,
		 mtk_p12_bags *bs)
{
	o->pass = pass;
	o->passlen = pass ? strlen(pass) : 0;
	return mtk_p12_bags_read(der, (size_t)len, o, bs);
}

/* Key and certificate come back with their attributes and where they were. */
static void test_modern(void **state)
{
	mtk_p12_read_opts o = {0};
	mtk_p12_bags bs;
	int len;
	unsigned char *der = pfx("s3cret", 0, 0, &len);

	(void)state;
	assert_int_equal(rd(der, len, "s3cret", &o, &bs), MTK_OK);
	assert_true(bs.has_mac && bs.mac_ok && !bs.absent_pw);
	assert_int_equal(bs.mac_nid, NID_sha256);
	assert_int_equal(bs.mac_iter, 2048);
	assert_int_equal(bs.n, 2);
	assert_int_equal(bs.b[0].kind, MTK_P12B_CERT);
	assert_true(bs.b[0].safe_encrypted);
	assert_int_equal(X509_cmp(bs.b[0].cert, CERT), 0);
	assert_string_equal(bs.b[0].name, "Client");
	assert_false(bs.b[0].trusted);
	assert_int_equal(bs.b[1].kind, MTK_P12B_KEY);
	assert_true(bs.b[1].shrouded);
	assert_int_equal(bs.b[1].safe, 1);
	assert_non_null(bs.b[1].key);
	assert_int_equal(EVP_PKEY_eq(bs.b[1].key, KEY), 1);
	assert_non_null(strstr(bs.b[1].enc, "PBES2"));
	assert_int_equal(bs.b[1].enc_iter, 2048);
	/* The certificate and key share their localKeyId. */
	assert_int_equal(bs.b[0].kid_len, 20);
	assert_int_equal(bs.b[1].kid_len, 20);
	assert_memory_equal(bs.b[0].kid, bs.b[1].kid, 20);
	assert_non_null(strstr(bs.cert_enc, "AES-256-CBC"));
	assert_false(bs.legacy);
	mtk_p12_bags_free(&bs);

	assert_int_equal(rd(der, len, "wrong", &o, &bs), MTK_E_BAD_PASSWORD);
	assert_int_equal(bs.fail, MTK_P12F_MAC);
	assert_int_equal(bs.n, 0);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(der);
}

/* No password given: the empty one in both encodings, as OpenSSL tries. */
static void test_empty_passwords(void **state)
{
	mtk_p12_read_opts o = {0};
	mtk_p12_bags bs;
	int len;
	unsigned char *der = pfx("", 0, 0, &len);

	(void)state;
	assert_int_equal(rd(der, len, NULL, &o, &bs), MTK_OK);
	assert_true(bs.mac_ok && !bs.absent_pw);
	assert_int_equal(bs.n, 2);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(der);

	der = pfx(NULL, 0, 0, &len);
	assert_int_equal(rd(der, len, NULL, &o, &bs), MTK_OK);
	assert_true(bs.mac_ok && bs.absent_pw);
	assert_int_equal(bs.n, 2);
	assert_non_null(bs.b[1].key);
	mtk_p12_bags_free(&bs);
	/* Given as "" it is the same file. */
	assert_int_equal(rd(der, len, "", &o, &bs), MTK_OK);
	assert_true(bs.absent_pw);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(der);
}

/* An altered MAC over contents that open with the empty password is
 * damage, not a password question; with a password it is a mismatch. */
static void test_damaged_mac(void **state)
{
	mtk_p12_read_opts o = {.check_damage = true};
	mtk_p12_bags bs;
	int len;
	unsigned char *der = pfx("", 0, 0, &len);
	PKCS12 *p12;
	const ASN1_OCTET_STRING *mac = NULL;
	const unsigned char *p = der;
	unsigned char *bad = NULL;
	int blen;

	(void)state;
	p12 = d2i_PKCS12(NULL, &p, len);
	assert_non_null(p12);
	PKCS12_get0_mac(&mac, NULL, NULL, NULL, p12);
	assert_non_null(mac);
	((unsigned char *)ASN1_STRING_get0_data(mac))[0] ^= 0x01;
	blen = i2d_PKCS12(p12, &bad);
	PKCS12_free(p12);
	assert_int_equal(blen, len);

	assert_int_equal(rd(bad, blen, NULL, &o, &bs), MTK_E_BAD_PASSWORD);
	assert_int_equal(bs.fail, MTK_P12F_MAC);
	assert_true(bs.mac_damaged);
	mtk_p12_bags_free(&bs);
	o.check_damage = false;
	assert_int_equal(rd(bad, blen, NULL, &o, &bs), MTK_E_BAD_PASSWORD);
	assert_false(bs.mac_damaged);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(bad);
	OPENSSL_free(der);
}

/* No MAC, certificates in the clear, the key encrypted: without a
 * password the key stays locked (keep_locked) or fails the read. */
static void test_locked_key(void **state)
{
	mtk_p12_read_opts o = {.keep_locked = true};
	mtk_p12_bags bs;
	int len;
	unsigned char *der = pfx("s3cret", -1, -1, &len);

	(void)state;
	assert_int_equal(rd(der, len, NULL, &o, &bs), MTK_OK);
	assert_false(bs.has_mac);
	assert_int_equal(bs.n, 2);
	assert_int_equal(bs.b[0].kind, MTK_P12B_CERT);
	assert_false(bs.b[0].safe_encrypted);
	assert_true(bs.b[1].locked);
	assert_null(bs.b[1].key);
	mtk_p12_bags_free(&bs);

	o.keep_locked = false;
	assert_int_equal(rd(der, len, NULL, &o, &bs), MTK_E_BAD_PASSWORD);
	assert_int_equal(bs.fail, MTK_P12F_BAG);
	assert_int_equal(bs.fail_kind, MTK_P12B_KEY);
	mtk_p12_bags_free(&bs);

	assert_int_equal(rd(der, len, "s3cret", &o, &bs), MTK_OK);
	assert_non_null(bs.b[1].key);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(der);
}

/* structure_only (describe): nothing decrypted, the encrypted safe
 * counted and described, the MAC's facts read without checking it. */
static void test_structure(void **state)
{
	mtk_p12_read_opts o = {.structure_only = true};
	mtk_p12_bags bs;
	int len;
	unsigned char *der = pfx("s3cret", 0, 0, &len);

	(void)state;
	assert_int_equal(rd(der, len, NULL, &o, &bs), MTK_OK);
	assert_true(bs.has_mac && !bs.mac_ok);
	assert_int_equal(bs.mac_salt_len, 8); /* PKCS12_create's MAC salt */
	assert_int_equal(bs.safes, 2);
	assert_int_equal(bs.enc_safes, 1);
	assert_non_null(strstr(bs.first_safe_enc, "AES-256-CBC"));
	assert_int_equal(bs.first_safe_iter, 2048);
	assert_int_equal(bs.n, 1); /* the key; the certificate is in the encrypted safe */
	assert_true(bs.b[0].locked && bs.b[0].shrouded);
	assert_null(bs.b[0].key);
	assert_int_equal(bs.budget.left, mtk_pbe_budget_for((size_t)len).left);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(der);
}

/* A MAC over the iteration cap is refused before any derivation. */
static void test_budget(void **state)
{
	mtk_p12_read_opts o = {0};
	mtk_p12_bags bs;
	int len;
	unsigned char *der;

	(void)state;
	/* PKCS12_create would run the MAC; set the count after it. */
	der = pfx("s3cret", 0, 2, &len); /* 1 would leave the count out */
	{
		const unsigned char *p = der;
		PKCS12 *p12 = d2i_PKCS12(NULL, &p, len);
		const ASN1_INTEGER *it = NULL;

		assert_non_null(p12);
		PKCS12_get0_mac(NULL, NULL, NULL, &it, p12);
		assert_non_null(it);
		assert_int_equal(ASN1_INTEGER_set((ASN1_INTEGER *)it, MTK_PBE_MAX_ITER + 1), 1);
		OPENSSL_free(der);
		der = NULL;
		len = i2d_PKCS12(p12, &der);
		PKCS12_free(p12);
	}
	assert_int_equal(rd(der, len, "s3cret", &o, &bs), MTK_E_TOO_LARGE);
	assert_int_equal(bs.fail, MTK_P12F_MAC_BUDGET);
	assert_int_equal(bs.mac_iter, MTK_PBE_MAX_ITER + 1);
	mtk_p12_bags_free(&bs);
	OPENSSL_free(der);
}

/* Java's trusted-certificate attribute, as the keystore writer sets it. */
static void test_trusted(void **state)
{
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_PKCS12);
	mtk_secret pw = {(char *)"changeit", 8};
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_p12_read_opts o = {0};
	mtk_p12_bags bs;
	mtk_err err = {0};

	(void)state;
	assert_int_equal(mtk_keystore_add_trusted(ks, "ca", CERT, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_PKCS12, &pw, NULL, &out, &err), MTK_OK);
	assert_int_equal(rd(out.data, (int)out.len, "changeit", &o, &bs), MTK_OK);
	assert_int_equal(bs.n, 1);
	assert_int_equal(bs.b[0].kind, MTK_P12B_CERT);
	assert_true(bs.b[0].trusted);
	assert_string_equal(bs.b[0].name, "ca");
	mtk_p12_bags_free(&bs);
	mtk_buf_free(&out);
	mtk_keystore_free(ks);
}

static unsigned char *slurp(const char *rel, long *len)
{
	char path[1024];
	const char *src = getenv("MTLSKIT_SRC");
	FILE *f;
	unsigned char *buf;

	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	*len = ftell(f);
	rewind(f);
	buf = malloc((size_t)*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)*len, f), (size_t)*len);
	fclose(f);
	return buf;
}

/* An RC2-40 PFX (OpenSSL's old default) needs the legacy provider. */
static void test_legacy(void **state)
{
	mtk_p12_read_opts o = {0};
	mtk_p12_bags bs;
	long len;
	unsigned char *der = slurp("tests/fuzz/corpus/pfx/legacy-rc2.p12", &len);

	(void)state;
	assert_int_equal(rd(der, (int)len, "changeit", &o, &bs), MTK_OK);
	assert_true(bs.legacy);
	assert_non_null(strstr(bs.cert_enc, "RC2"));
	assert_int_equal(bs.n, 3);
	assert_int_equal(bs.b[2].kind, MTK_P12B_KEY);
	assert_non_null(bs.b[2].key);
	mtk_p12_bags_free(&bs);
	free(der);
}

/* Garbage is refused as not a PFX. */
static void test_garbage(void **state)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x03};
	mtk_p12_read_opts o = {0};
	mtk_p12_bags bs;

	(void)state;
	assert_int_equal(mtk_p12_bags_read(junk, sizeof(junk), &o, &bs), MTK_E_PKCS12);
	assert_int_equal(bs.fail, MTK_P12F_DER);
	mtk_p12_bags_free(&bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modern),	cmocka_unit_test(test_empty_passwords),
	    cmocka_unit_test(test_damaged_mac), cmocka_unit_test(test_locked_key),
	    cmocka_unit_test(test_budget),	cmocka_unit_test(test_trusted),
	    cmocka_unit_test(test_legacy),	cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_structure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
