/*
 * pkcs8.c - PKCS#8 PrivateKeyInfo to and from EVP_PKEY, with the source
 * encoding kept on the key (see pkcs8.h).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* d2i_RSAPrivateKey, EVP_PKEY_assign_RSA */

#include "formats/pkcs8.h"
#include "mtlskit/key.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

typedef struct {
	size_t len;
	uint8_t der[];
} p8_copy;

static int p8_index = -1;
static pthread_once_t p8_once = PTHREAD_ONCE_INIT;

static void p8_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	p8_copy *c = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (c != NULL)
		OPENSSL_clear_free(c, sizeof(*c) + c->len);
}

/* EVP_PKEY_dup copies ex_data pointers unless a dup callback replaces
 * them: the copy gets its own bytes (one free each). */
static int p8_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl,
		  void *argp)
{
	const p8_copy *c = *from_d;
	p8_copy *d = NULL;

	(void)to, (void)from, (void)idx, (void)argl, (void)argp;
	if (c != NULL && (d = OPENSSL_malloc(sizeof(*d) + c->len)) != NULL)
		memcpy(d, c, sizeof(*d) + c->len);
	*from_d = d; /* NULL on allocation failure: the copy is encoded afresh */
	return 1;
}

static void p8_index_init(void)
{
	p8_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EVP_PKEY, 0, NULL, NULL, p8_dup, p8_free);
}

/* Version 0 (INTEGER 0 right after the outer SEQUENCE header) and exactly
 * three elements: no [0] attributes, no [1] public key. */
static bool plain_v0(const uint8_t *der, size_t len)
{
	mtk_reader r, seq;
	size_t n = 0;

	mtk_reader_init(&r, der, len);
	if (!mtk_der_enter(&r, 0x30, &seq) || mtk_reader_left(&r) != 0)
		return false;
	if (mtk_reader_left(&seq) < 3 || seq.data[seq.off] != 0x02 || seq.data[seq.off + 1] != 0x01 ||
	    seq.data[seq.off + 2] != 0x00)
		return false;
	while (mtk_reader_left(&seq) > 0) {
		uint8_t tag;
		size_t vl;

		if (!mtk_der_header(&seq, &tag, &vl) || mtk_reader_skip(&seq, vl) != MTK_OK)
			return false;
		n++;
	}
	return n == 3;
}

/*
 * An rsaEncryption key read with the RSA decoder itself.  EVP_PKCS82PKEY
 * sets up an OpenSSL 3.0 decoder context, which enumerates every decoder
 * and key manager of every provider on each call (about 2.7 million
 * instructions, a third of a millisecond, per key); the RSAPrivateKey
 * parser is the same one that decoder ends in.  The key is a "legacy"
 * EVP_PKEY, which OpenSSL exports to its provider on first use, so every
 * EVP operation sees the same key.  Anything else, or anything this
 * parser does not take whole, goes to EVP_PKCS82PKEY.
 */
static EVP_PKEY *rsa_key(const PKCS8_PRIV_KEY_INFO *p8)
{
	const ASN1_OBJECT *obj = NULL;
	const unsigned char *pk = NULL, *p;
	const X509_ALGOR *alg = NULL;
	int pklen = 0, ptype = V_ASN1_UNDEF;
	RSA *rsa;
	EVP_PKEY *k;

	if (PKCS8_pkey_get0(&obj, &pk, &pklen, &alg, p8) != 1 || OBJ_obj2nid(obj) != NID_rsaEncryption)
		return NULL;
	X509_ALGOR_get0(NULL, &ptype, NULL, alg);
	if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return NULL;
	p = pk;
	if ((rsa = d2i_RSAPrivateKey(NULL, &p, pklen)) == NULL || p != pk + pklen) {
		RSA_free(rsa);
		ERR_clear_error();
		return NULL;
	}
	if ((k = EVP_PKEY_new()) == NULL || EVP_PKEY_assign_RSA(k, rsa) != 1) {
		EVP_PKEY_free(k);
		RSA_free(rsa);
		return NULL;
	}
	return k;
}

bool mtk_key_named_curve(EVP_PKEY *key)
{
	char enc[32] = "", group[64] = "";
	size_t n = 0;

	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), &n) ||
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_EXPLICIT) != 0) {
		ERR_clear_error();
		return false;
	}
	/* OpenSSL names the group when the parameters are a known curve's. */
	if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &n) || group[0] == '\0' ||
	    !EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING,
					    OSSL_PKEY_EC_ENCODING_GROUP)) {
		ERR_clear_error();
		return false;
	}
	/* The remembered PKCS#8 bytes carry the explicit parameters: forget them. */
	if (pthread_once(&p8_once, p8_index_init) == 0 && p8_index >= 0) {
		p8_copy *c = EVP_PKEY_get_ex_data(key, p8_index);
		if (c != NULL && EVP_PKEY_set_ex_data(key, p8_index, NULL) == 1)
			OPENSSL_clear_free(c, sizeof(*c) + c->len);
	}
	return true;
}

bool mtk_key_explicit_curve(EVP_PKEY *key)
{
	char enc[32] = "";
	size_t n = 0;
	bool r;

	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return false;
	r = EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), &n) &&
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 0;
	ERR_clear_error();
	return r;
}

EVP_PKEY *mtk_p8_to_key(const PKCS8_PRIV_KEY_INFO *p8)
{
	EVP_PKEY *k = rsa_key(p8);
	unsigned char *der = NULL;
	int n;
	p8_copy *c;

	if (k == NULL)
		k = EVP_PKCS82PKEY(p8);
	if (mtk_key_named_curve(k))
		return k; /* re-encoded with the curve's name from here on */
	if (k == NULL || pthread_once(&p8_once, p8_index_init) != 0 || p8_index < 0)
		return k;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	if (n > 0 && plain_v0(der, (size_t)n) && (c = OPENSSL_malloc(sizeof(*c) + (size_t)n)) != NULL) {
		c->len = (size_t)n;
		memcpy(c->der, der, (size_t)n);
		if (EVP_PKEY_set_ex_data(k, p8_index, c) != 1)
			OPENSSL_clear_free(c, sizeof(*c) + (size_t)n);
	}
	if (der != NULL)
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
	ERR_clear_error(); /* remembering is an optimisation: never an error */
	return k;
}

mtk_rc mtk_key_p8_der(EVP_PKEY *key, mtk_buf *out)
{
	const p8_copy *c = NULL;
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	int n;
	mtk_rc rc;

	if (key == NULL)
		return MTK_E_INVALID_ARG;
	if (pthread_once(&p8_once, p8_index_init) == 0 && p8_index >= 0)
		c = EVP_PKEY_get_ex_data(key, p8_index);
	if (c != NULL)
		return mtk_buf_append(out, c->der, c->len);
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL)
		return MTK_E_CRYPTO;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return MTK_E_CRYPTO;
	rc = mtk_buf_append(out, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return rc;
}

bool mtk_key_matches_cert(EVP_PKEY *key, X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	bool r;

	if (key == NULL || pub == NULL)
		return false;
	r = EVP_PKEY_eq(key, pub) == 1;
	ERR_clear_error();
	return r;
}
