/*
 * pkcs12.c - PFX / PKCS#12 writer (pkcs12.h): the --compat profiles and
 * the checks Java needs, over the one encoder (p12write.c).
 */
#include "mtlskit/pkcs12.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>

#include "formats/p12bags.h"
#include "mtlskit/key.h"

const char *mtk_p12_compat_name(mtk_p12_compat c)
{
	switch (c) {
	case MTK_P12_LEGACY:
		return "legacy";
	case MTK_P12_JAVA:
		return "java";
	default:
		return "modern";
	}
}

mtk_rc mtk_p12_compat_from_name(const char *name, mtk_p12_compat *out)
{
	static const mtk_p12_compat all[] = {MTK_P12_MODERN, MTK_P12_LEGACY, MTK_P12_JAVA};

	for (size_t i = 0; name != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, mtk_p12_compat_name(all[i])) == 0) {
			*out = all[i];
			return MTK_OK;
		}
	}
	return MTK_E_INVALID_ARG;
}

/* The encoder's options of one profile (the password is the caller's). */
static void get_profile(mtk_p12_compat c, mtk_p12_write_opts *p)
{
	switch (c) {
	case MTK_P12_LEGACY:
		*p = (mtk_p12_write_opts){.key_pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
					  .cert_pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
					  .key_iter = 2048, .cert_iter = 2048,
					  .key_salt_len = 8, .cert_salt_len = 8,
					  .mac_md = EVP_sha1(), .mac_iter = 2048, .mac_salt_len = 8};
		break;
	case MTK_P12_JAVA:
		*p = (mtk_p12_write_opts){.key_pbe = NID_hmacWithSHA256,
					  .key_cipher = EVP_aes_256_cbc(),
					  .cert_pbe = NID_aes_256_cbc,
					  .key_iter = 10000, .cert_iter = 10000,
					  .key_salt_len = 20, .cert_salt_len = 20,
					  .mac_md = EVP_sha256(), .mac_iter = 10000, .mac_salt_len = 20};
		break;
	default:
		*p = (mtk_p12_write_opts){.key_pbe = NID_hmacWithSHA256,
					  .key_cipher = EVP_aes_256_cbc(),
					  .cert_pbe = NID_aes_256_cbc,
					  .key_iter = 2048, .cert_iter = 2048,
					  .key_salt_len = 8, .cert_salt_len = 8,
					  .mac_md = EVP_sha256(), .mac_iter = 2048, .mac_salt_len = 8};
		break;
	}
}

/* ASCII lower-case copy into out (Java lower-cases aliases). */
static void lower_ascii(const char *s, char *out, size_t cap)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < cap; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[i] = '\0';
}

/* The friendlyName of a bag: Java's lower-cased, in lower[cap]. */
static char *bag_name(const char *name, bool java, char *lower, size_t cap)
{
	if (name == NULL || !java)
		return (char *)name;
	lower_ascii(name, lower, cap);
	return lower;
}

static bool printable_ascii(const mtk_secret *s)
{
	for (size_t i = 0; i < s->len; i++)
		if ((unsigned char)s->s[i] < 0x20 || (unsigned char)s->s[i] > 0x7e)
			return false;
	return true;
}

mtk_rc mtk_p12_write(const mtk_p12_spec *spec, mtk_buf *out, mtk_err *err)
{
	mtk_p12_write_opts o;
	mtk_p12_bag *bags = NULL;
	size_t n = 0, nchain;
	char *lows = NULL; /* one 512-byte lower-cased name per bag */
	char timeid[64];
	unsigned char keyid[EVP_MAX_MD_SIZE];
	unsigned int keyid_len = 0;
	const char *alias;
	bool java = spec->compat == MTK_P12_JAVA;
	mtk_rc rc;

	get_profile(spec->compat, &o);
	if (spec->pass == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: a password is required");
	if (spec->pass->len > INT32_MAX)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: password too long");
	if (java && !printable_ascii(spec->pass))
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "PFX: Java accepts only printable ASCII passwords");
	if (java) {
		/* Java lower-cases aliases with full Unicode rules; we lower-case
		 * exactly only ASCII, so that is all we accept. */
		mtk_secret a = {(char *)(spec->alias ? spec->alias : "mykey"), 0};
		a.len = strlen(a.s);
		for (size_t i = 0; i <= spec->ntrusted; i++) {
			if (a.len == 0 || a.len > 255 || !printable_ascii(&a))
				return mtk_err_set(err, MTK_E_INVALID_ARG,
						   "PFX: alias '%s': Java aliases here must be "
						   "1-255 printable ASCII characters",
						   a.s);
			if (i < spec->ntrusted) {
				a.s = (char *)spec->trusted[i].alias;
				a.len = strlen(a.s);
			}
		}
	}
	if (spec->key == NULL && spec->ntrusted == 0)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: nothing to write");
	if (spec->key != NULL && spec->leaf == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: the key's certificate is missing");
	if (spec->key != NULL && !mtk_key_matches_cert(spec->key, spec->leaf))
		return mtk_err_set(err, MTK_E_KEY_MISMATCH, "PFX");
	o.pass = spec->pass->s;
	o.passlen = spec->pass->len;
	alias = spec->alias ? spec->alias : (java ? "mykey" : NULL);
	nchain = spec->chain != NULL ? (size_t)sk_X509_num(spec->chain) : 0;
	/* localKeyID ties the key to its certificate: Java uses "Time <ms>",
	 * OpenSSL and Windows the SHA-1 of the certificate. */
	if (spec->key != NULL) {
		if (java) {
			snprintf(timeid, sizeof(timeid), "Time %lld", (long long)spec->now_ms);
			keyid_len = (unsigned int)strlen(timeid);
			memcpy(keyid, timeid, keyid_len);
		} else if (!X509_digest(spec->leaf, EVP_sha1(), keyid, &keyid_len)) {
			return mtk_err_set(err, MTK_E_CRYPTO, "PFX: certificate digest");
		}
	}
	if ((bags = calloc(nchain + spec->ntrusted + 2, sizeof(*bags))) == NULL ||
	    (lows = calloc(nchain + spec->ntrusted + 2, 512)) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "PFX");
		goto out;
	}
	/* Certificates: the key's own first, then its chain, then trusted;
	 * then the key (the encoder puts it in a plain safe after them). */
	if (spec->key != NULL) {
		bags[n] = (mtk_p12_bag){.kind = MTK_P12B_CERT, .cert = spec->leaf,
					.name = bag_name(alias, java, lows + 512 * n, 512),
					.kid_len = (int)keyid_len};
		memcpy(bags[n].kid, keyid, keyid_len);
		n++;
		for (size_t i = 0; i < nchain; i++)
			bags[n++] = (mtk_p12_bag){.kind = MTK_P12B_CERT, .kid_len = -1,
						  .cert = sk_X509_value(spec->chain, (int)i)};
	}
	for (size_t i = 0; i < spec->ntrusted; i++) {
		bags[n] = (mtk_p12_bag){.kind = MTK_P12B_CERT, .cert = spec->trusted[i].cert,
					.name = bag_name(spec->trusted[i].alias, java,
							 lows + 512 * n, 512),
					.kid_len = -1, .trusted = true};
		n++;
	}
	if (spec->key != NULL) {
		bags[n] = bags[0];
		bags[n].kind = MTK_P12B_KEY;
		bags[n].key = spec->key;
		bags[n].cert = NULL;
		n++;
	}
	rc = mtk_p12_bags_write(bags, n, &o, out, err);
out:
	if (bags != NULL)
		mtk_cleanse(bags, (nchain + spec->ntrusted + 2) * sizeof(*bags));
	free(bags);
	free(lows);
	mtk_cleanse(keyid, sizeof(keyid));
	return rc;
}
