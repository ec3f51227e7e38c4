/*
 * p12write.c - the one PKCS#12 encoder (p12bags.h): neutral bags and a
 * profile in, PFX bytes out.
 *
 * Built from safe bags rather than PKCS12_create_ex(): only that way can the
 * caller choose the salt lengths (Java uses 20 bytes, PKCS12_create 8), a
 * PBES2 certificate safe, secret bags and Java's trusted-certificate
 * attribute.
 */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>

#include "formats/p12bags.h"

/* friendlyName and localKeyId, as the bag carries them. */
static bool add_attrs(PKCS12_SAFEBAG *sb, const mtk_p12_bag *b)
{
	if (b->name != NULL && !PKCS12_add_friendlyname_utf8(sb, b->name, -1))
		return false;
	if (b->kid_len >= 0 && !PKCS12_add_localkeyid(sb, (unsigned char *)b->kid, b->kid_len))
		return false;
	return true;
}

/* Oracle's trusted-key-usage attribute: SET { anyExtendedKeyUsage }.  With
 * len -1 the data is the ASN1_OBJECT itself (X509_ATTRIBUTE_set1_data). */
static bool add_trusted(PKCS12_SAFEBAG *sb)
{
	ASN1_OBJECT *any = OBJ_nid2obj(NID_anyExtendedKeyUsage);

	return any != NULL && PKCS12_add1_attr_by_txt(sb, MTK_P12_TRUSTED_OID, V_ASN1_OBJECT,
						      (const unsigned char *)any, -1);
}

/* A certificate bag from the certificate's DER as it is, not decoded: an
 * ASN1_ANY SEQUENCE is encoded as its bytes, verbatim. */
static PKCS12_SAFEBAG *cert_bag_der(const uint8_t *der, size_t len)
{
	ASN1_STRING *s;
	ASN1_TYPE t;
	PKCS12_SAFEBAG *sb = NULL;

	if (der == NULL || len > INT_MAX || (s = ASN1_STRING_type_new(V_ASN1_SEQUENCE)) == NULL)
		return NULL;
	t.type = V_ASN1_SEQUENCE;
	t.value.sequence = s;
	if (ASN1_STRING_set(s, der, (int)len))
		sb = PKCS12_item_pack_safebag(&t, ASN1_ITEM_rptr(ASN1_ANY), NID_x509Certificate,
					      NID_certBag);
	ASN1_STRING_free(s);
	return sb;
}

static X509_SIG *shroud(PKCS8_PRIV_KEY_INFO *p8, const mtk_p12_write_opts *o)
{
	return PKCS8_encrypt_ex(o->key_pbe, o->key_cipher, o->pass, (int)o->passlen, NULL,
				o->key_salt_len, o->key_iter, p8, NULL, NULL);
}

/* A shrouded key bag, or a secret bag whose value is the shrouded
 * {0, algorithm, key} (Java's form). */
static PKCS12_SAFEBAG *key_bag(const mtk_p12_bag *b, const mtk_p12_write_opts *o)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	PKCS12_SAFEBAG *sb = NULL;
	unsigned char *der = NULL;
	int n;

	if (b->kind == MTK_P12B_KEY) {
		if (b->key == NULL || (p8 = EVP_PKEY2PKCS8(b->key)) == NULL ||
		    (sig = shroud(p8, o)) == NULL)
			goto out;
		if ((sb = PKCS12_SAFEBAG_create0_pkcs8(sig)) != NULL)
			sig = NULL;
	} else {
		const unsigned char *p = b->secret;

		if (b->secret == NULL || b->secret_len > LONG_MAX ||
		    (p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)b->secret_len)) == NULL ||
		    (sig = shroud(p8, o)) == NULL || (n = i2d_X509_SIG(sig, &der)) <= 0)
			goto out;
		sb = PKCS12_SAFEBAG_create_secret(NID_pkcs8ShroudedKeyBag, V_ASN1_OCTET_STRING, der,
						  n);
	}
out:
	OPENSSL_free(der);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the key bytes it owns */
	return sb;
}

mtk_rc mtk_p12_bags_write(const mtk_p12_bag *b, size_t n, const mtk_p12_write_opts *o, mtk_buf *out,
			  mtk_err *err)
{
	STACK_OF(PKCS12_SAFEBAG) *cbags = NULL, *kbags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12_SAFEBAG *sb = NULL;
	PKCS7 *p7 = NULL;
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int pwlen, der_len = 0;
	mtk_rc rc = MTK_E_CRYPTO;
	const char *what = "PFX: cannot assemble the file";

	if (o->pass == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: a password is required");
	if (o->passlen > INT32_MAX)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: password too long");
	pwlen = (int)o->passlen;
	if ((cbags = sk_PKCS12_SAFEBAG_new_null()) == NULL ||
	    (kbags = sk_PKCS12_SAFEBAG_new_null()) == NULL ||
	    (safes = sk_PKCS7_new_null()) == NULL) {
		rc = MTK_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const mtk_p12_bag *bi = &b[i];

		switch (bi->kind) {
		case MTK_P12B_CERT:
			what = "PFX: certificate bag";
			sb = bi->cert != NULL ? PKCS12_SAFEBAG_create_cert(bi->cert)
					      : cert_bag_der(bi->der, bi->der_len);
			if (sb == NULL ||
			    !add_attrs(sb, bi) || (bi->trusted && !add_trusted(sb)) ||
			    !sk_PKCS12_SAFEBAG_push(cbags, sb))
				goto fail;
			break;
		case MTK_P12B_KEY:
		case MTK_P12B_SECRET:
			what = bi->kind == MTK_P12B_KEY ? "PFX: cannot encrypt the private key"
							: "PFX: cannot encrypt the secret key";
			if ((sb = key_bag(bi, o)) == NULL || !add_attrs(sb, bi) ||
			    !sk_PKCS12_SAFEBAG_push(kbags, sb))
				goto fail;
			break;
		default:
			rc = mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: CRL bags are not written");
			goto done;
		}
		sb = NULL;
	}
	if (sk_PKCS12_SAFEBAG_num(cbags) > 0) {
		what = "PFX: cannot encrypt the certificates";
		p7 = o->cert_pbe == -1 ? PKCS12_pack_p7data(cbags)
				       : PKCS12_pack_p7encdata_ex(o->cert_pbe, o->pass, pwlen, NULL,
								  o->cert_salt_len, o->cert_iter,
								  cbags, NULL, NULL);
		if (p7 == NULL || !sk_PKCS7_push(safes, p7))
			goto fail;
		p7 = NULL;
	}
	if (sk_PKCS12_SAFEBAG_num(kbags) > 0) {
		what = "PFX: key safe";
		if ((p7 = PKCS12_pack_p7data(kbags)) == NULL || !sk_PKCS7_push(safes, p7))
			goto fail;
		p7 = NULL;
	}
	what = "PFX: cannot assemble the file";
	if ((p12 = PKCS12_add_safes_ex(safes, 0, NULL, NULL)) == NULL)
		goto fail;
	what = "PFX: cannot compute the MAC";
	if (!PKCS12_set_mac(p12, o->pass, pwlen, NULL, o->mac_salt_len, o->mac_iter, o->mac_md))
		goto fail;
	what = "PFX: cannot encode the file";
	if ((der_len = i2d_PKCS12(p12, &der)) <= 0)
		goto fail;
	out->len = 0;
	if ((rc = mtk_buf_append(out, der, (size_t)der_len)) != MTK_OK)
		mtk_err_set(err, rc, "PFX");
	goto done;
fail:
	rc = mtk_err_set(err, rc, "%s", what);
done:
	ERR_clear_error();
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)der_len);
	PKCS12_free(p12);
	PKCS7_free(p7);
	PKCS12_SAFEBAG_free(sb);
	sk_PKCS12_SAFEBAG_pop_free(cbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return rc;
}
