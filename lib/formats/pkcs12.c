/*
 * pkcs12.c - PFX / PKCS#12 writer (pkcs12.h).
 *
 * Built from safe bags rather than PKCS12_create_ex(): only that way can we
 * choose the salt length (Java uses 20 bytes, PKCS12_create 8), use a PBES2
 * certificate safe, and attach Java's trusted-certificate attribute.
 */
#include "mtlskit/pkcs12.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>

#include "formats/p12bags.h"
#include "mtlskit/key.h"

#define ANY_EKU_OID	 "2.5.29.37.0"

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

/* The algorithms of one profile. */
struct profile {
	int key_pbe;  /* PBES1 NID, or -1 for PBES2 with cipher */
	int cert_pbe; /* PBES1 NID, or a cipher NID for PBES2 */
	int iter;
	int salt_len;
	const EVP_MD *(*mac_md)(void);
	int mac_iter;
	int mac_salt_len;
};

static void get_profile(mtk_p12_compat c, struct profile *p)
{
	switch (c) {
	case MTK_P12_LEGACY:
		*p = (struct profile){NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
				      NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
				      2048,
				      8,
				      EVP_sha1,
				      2048,
				      8};
		break;
	case MTK_P12_JAVA:
		*p = (struct profile){-1, NID_aes_256_cbc, 10000, 20, EVP_sha256, 10000, 20};
		break;
	default:
		*p = (struct profile){-1, NID_aes_256_cbc, 2048, 8, EVP_sha256, 2048, 8};
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

static mtk_rc add_name(PKCS12_SAFEBAG *bag, const char *name, bool java, mtk_err *err)
{
	char low[512];

	if (name == NULL)
		return MTK_OK;
	if (java) {
		lower_ascii(name, low, sizeof(low));
		name = low;
	}
	if (!PKCS12_add_friendlyname_utf8(bag, name, -1))
		return mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot set the friendly name");
	return MTK_OK;
}

static mtk_rc add_trusted_attr(PKCS12_SAFEBAG *bag, mtk_err *err)
{
	ASN1_OBJECT *any = OBJ_txt2obj(ANY_EKU_OID, 1);
	int ok;

	if (any == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "PFX");
	/* With len -1 the data is the ASN1_OBJECT itself (X509_ATTRIBUTE_set1_data). */
	ok = PKCS12_add1_attr_by_txt(bag, MTK_P12_TRUSTED_OID, V_ASN1_OBJECT,
				     (const unsigned char *)any, -1);
	ASN1_OBJECT_free(any);
	if (!ok)
		return mtk_err_set(err, MTK_E_CRYPTO,
				   "PFX: cannot add the trusted-certificate attribute");
	return MTK_OK;
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
	struct profile pr;
	STACK_OF(PKCS12_SAFEBAG) *certbags = NULL, *keybags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12_SAFEBAG *bag = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	PKCS7 *p7 = NULL;
	PKCS12 *p12 = NULL;
	unsigned char keyid[EVP_MAX_MD_SIZE];
	unsigned int keyid_len = 0;
	char timeid[64];
	const char *alias;
	const char *pw;
	int pwlen, der_len;
	unsigned char *der = NULL;
	bool java = spec->compat == MTK_P12_JAVA;
	mtk_rc rc = MTK_OK;

	get_profile(spec->compat, &pr);
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
	pw = spec->pass->s;
	pwlen = (int)spec->pass->len;
	alias = spec->alias ? spec->alias : (java ? "mykey" : NULL);

	certbags = sk_PKCS12_SAFEBAG_new_null();
	keybags = sk_PKCS12_SAFEBAG_new_null();
	safes = sk_PKCS7_new_null();
	if (certbags == NULL || keybags == NULL || safes == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "PFX");
		goto out;
	}
	/* localKeyID ties the key to its certificate: Java uses "Time <ms>",
	 * OpenSSL and Windows the SHA-1 of the certificate. */
	if (spec->key != NULL) {
		if (java) {
			snprintf(timeid, sizeof(timeid), "Time %lld", (long long)spec->now_ms);
			keyid_len = (unsigned int)strlen(timeid);
			memcpy(keyid, timeid, keyid_len);
		} else if (!X509_digest(spec->leaf, EVP_sha1(), keyid, &keyid_len)) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: certificate digest");
			goto out;
		}
	}

	/* Certificates: the key's own first, then its chain, then trusted. */
	if (spec->key != NULL) {
		bag = PKCS12_SAFEBAG_create_cert(spec->leaf);
		if (bag == NULL || (rc = add_name(bag, alias, java, err)) != MTK_OK ||
		    !PKCS12_add_localkeyid(bag, keyid, (int)keyid_len) ||
		    !sk_PKCS12_SAFEBAG_push(certbags, bag)) {
			rc = mtk_err_set(err, rc != MTK_OK ? rc : MTK_E_CRYPTO,
					 "PFX: certificate bag");
			goto out;
		}
		bag = NULL;
		for (int i = 0; spec->chain != NULL && i < sk_X509_num(spec->chain); i++) {
			bag = PKCS12_SAFEBAG_create_cert(sk_X509_value(spec->chain, i));
			if (bag == NULL || !sk_PKCS12_SAFEBAG_push(certbags, bag)) {
				rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: certificate bag");
				goto out;
			}
			bag = NULL;
		}
	}
	for (size_t i = 0; i < spec->ntrusted; i++) {
		bag = PKCS12_SAFEBAG_create_cert(spec->trusted[i].cert);
		if (bag == NULL) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: certificate bag");
			goto out;
		}
		if ((rc = add_name(bag, spec->trusted[i].alias, java, err)) != MTK_OK ||
		    (rc = add_trusted_attr(bag, err)) != MTK_OK)
			goto out;
		if (!sk_PKCS12_SAFEBAG_push(certbags, bag)) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "PFX");
			goto out;
		}
		bag = NULL;
	}
	/* The certificate safe, encrypted (random salt of the profile's length). */
	p7 = PKCS12_pack_p7encdata_ex(pr.cert_pbe, pw, pwlen, NULL, pr.salt_len, pr.iter, certbags,
				      NULL, NULL);
	if (p7 == NULL || !sk_PKCS7_push(safes, p7)) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot encrypt the certificates");
		goto out;
	}
	p7 = NULL;

	/* The key, shrouded, in a plain data safe (as OpenSSL and Java do). */
	if (spec->key != NULL) {
		p8 = EVP_PKEY2PKCS8(spec->key);
		if (p8 == NULL) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot encode the private key");
			goto out;
		}
		if (pr.key_pbe == -1)
			sig = PKCS8_encrypt_ex(NID_hmacWithSHA256, EVP_aes_256_cbc(), pw, pwlen,
					       NULL, pr.salt_len, pr.iter, p8, NULL, NULL);
		else
			sig = PKCS8_encrypt_ex(pr.key_pbe, NULL, pw, pwlen, NULL, pr.salt_len,
					       pr.iter, p8, NULL, NULL);
		if (sig == NULL) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot encrypt the private key");
			goto out;
		}
		bag = PKCS12_SAFEBAG_create0_pkcs8(sig);
		if (bag == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "PFX");
			goto out;
		}
		sig = NULL;
		if ((rc = add_name(bag, alias, java, err)) != MTK_OK)
			goto out;
		if (!PKCS12_add_localkeyid(bag, keyid, (int)keyid_len) ||
		    !sk_PKCS12_SAFEBAG_push(keybags, bag)) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: key bag");
			goto out;
		}
		bag = NULL;
		p7 = PKCS12_pack_p7data(keybags);
		if (p7 == NULL || !sk_PKCS7_push(safes, p7)) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: key safe");
			goto out;
		}
		p7 = NULL;
	}

	p12 = PKCS12_add_safes_ex(safes, 0, NULL, NULL);
	if (p12 == NULL) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot assemble the file");
		goto out;
	}
	if (!PKCS12_set_mac(p12, pw, pwlen, NULL, pr.mac_salt_len, pr.mac_iter, pr.mac_md())) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot compute the MAC");
		goto out;
	}
	der_len = i2d_PKCS12(p12, &der);
	if (der_len <= 0) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "PFX: cannot encode the file");
		goto out;
	}
	out->len = 0;
	if ((rc = mtk_buf_append(out, der, (size_t)der_len)) != MTK_OK)
		mtk_err_set(err, rc, "PFX");
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	PKCS7_free(p7);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	PKCS12_SAFEBAG_free(bag);
	sk_PKCS12_SAFEBAG_pop_free(certbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(keybags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	mtk_cleanse(keyid, sizeof(keyid));
	return rc;
}
