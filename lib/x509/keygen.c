/*
 * keygen.c - new private keys and their PEM forms (keygen.h).
 */
#include "mtlskit/keygen.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "mtlskit/load.h"

struct ktype {
	const char *name;
	const char *alg; /* "RSA", "EC", "ED25519" */
	int bits;
	const char *curve;
};

static const struct ktype ktypes[] = {
	{"rsa:2048", "RSA", 2048, NULL},
	{"rsa:3072", "RSA", 3072, NULL},
	{"rsa:4096", "RSA", 4096, NULL},
	{"ec:P-256", "EC", 0, "P-256"},
	{"ec:prime256v1", "EC", 0, "P-256"},
	{"ec:P-384", "EC", 0, "P-384"},
	{"ec:secp384r1", "EC", 0, "P-384"},
	{"ed25519", "ED25519", 0, NULL},
};

static const struct ktype *ktype_find(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(ktypes) / sizeof(ktypes[0]); i++)
		if (strcasecmp(type, ktypes[i].name) == 0)
			return &ktypes[i];
	return NULL;
}

bool mtk_key_type_valid(const char *type)
{
	return ktype_find(type) != NULL;
}

mtk_rc mtk_key_generate(const char *type, EVP_PKEY **out, mtk_err *err)
{
	const struct ktype *t = ktype_find(type);
	EVP_PKEY *k = NULL;

	if (t == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "unknown key type '%s' (use %s)",
				   type ? type : "", MTK_KEY_TYPES);
	if (t->bits > 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)t->bits);
	else if (t->curve != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", t->curve);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, t->alg);
	if (k == NULL)
		return mtk_err_set(err, MTK_E_CRYPTO, "generating a %s key", t->name);
	*out = k;
	return MTK_OK;
}

/* Moves what a BIO holds into out.  For secret output the BIO is a secmem
 * BIO, so its storage is wiped when it is freed. */
static mtk_rc bio_drain(BIO *b, mtk_buf *out)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);

	if (n <= 0 || p == NULL)
		return MTK_E_CRYPTO;
	return mtk_buf_append(out, p, (size_t)n);
}

mtk_rc mtk_key_pem_private(EVP_PKEY *key, const mtk_secret *pass, mtk_buf *out, mtk_err *err)
{
	BIO *b = BIO_new(BIO_s_secmem());
	mtk_rc rc = MTK_OK;
	int ok;

	if (b == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "key buffer");
	if (pass != NULL) {
		if (pass->len > (size_t)INT32_MAX) {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG, "password too long");
			goto out;
		}
		/* OpenSSL 3 encrypts PKCS#8 with PBES2: PBKDF2-HMAC-SHA256 and the
		 * cipher given here. */
		ok = PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_256_cbc(), pass->s, (int)pass->len,
						   NULL, NULL);
	} else {
		ok = PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	}
	if (ok != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "encoding the private key");
		goto out;
	}
	rc = bio_drain(b, out);
	if (rc != MTK_OK)
		mtk_err_set(err, rc, "encoding the private key");
out:
	BIO_free(b);
	return rc;
}

mtk_rc mtk_key_pem_public(EVP_PKEY *key, mtk_buf *out, mtk_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	mtk_rc rc;

	if (b == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "public key buffer");
	if (PEM_write_bio_PUBKEY(b, key) != 1)
		rc = mtk_err_set(err, MTK_E_CRYPTO, "encoding the public key");
	else if ((rc = bio_drain(b, out)) != MTK_OK)
		mtk_err_set(err, rc, "encoding the public key");
	BIO_free(b);
	return rc;
}

static void curve_name(EVP_PKEY *key, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, out, cap, &n) != 1)
		out[0] = '\0';
}

const EVP_MD *mtk_key_sign_md(EVP_PKEY *key)
{
	char curve[64];

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return NULL;
	case EVP_PKEY_EC:
		curve_name(key, curve, sizeof(curve));
		if (strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0)
			return EVP_sha384();
		if (strcmp(curve, "secp521r1") == 0 || strcmp(curve, "P-521") == 0)
			return EVP_sha512();
		return EVP_sha256();
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(key) >= 7680)
			return EVP_sha384();
		return EVP_sha256();
	default:
		return EVP_sha256();
	}
}

void mtk_key_type_name(EVP_PKEY *key, char *out, size_t cap)
{
	char curve[64];

	out[0] = '\0';
	if (key == NULL)
		return;
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		snprintf(out, cap, "rsa:%d", EVP_PKEY_get_bits(key));
		break;
	case EVP_PKEY_EC:
		curve_name(key, curve, sizeof(curve));
		if (strcmp(curve, "prime256v1") == 0)
			snprintf(out, cap, "ec:P-256");
		else if (strcmp(curve, "secp384r1") == 0)
			snprintf(out, cap, "ec:P-384");
		else
			snprintf(out, cap, "ec:%s", curve);
		break;
	case EVP_PKEY_ED25519:
		snprintf(out, cap, "ed25519");
		break;
	default:
		break;
	}
}

mtk_rc mtk_key_load(const char *path, const mtk_secret *pass, EVP_PKEY **out, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_rc rc;

	lo.pass = pass;
	lo.require_decrypt = true;
	if ((rc = mtk_load_file(&set, path, &lo, NULL, NULL, err)) != MTK_OK)
		return rc;
	rc = MTK_E_NOT_FOUND;
	for (size_t i = 0; i < set.count; i++) {
		if (set.objs[i].kind == MTK_OBJ_KEY && set.objs[i].key != NULL) {
			EVP_PKEY_up_ref(set.objs[i].key);
			*out = set.objs[i].key;
			rc = MTK_OK;
			break;
		}
	}
	mtk_set_free(&set);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "%s: no private key in this file", path);
	return MTK_OK;
}
