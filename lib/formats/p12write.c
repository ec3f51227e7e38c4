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
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>

#include "formats/der.h"
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

/* The certificate safe: SafeContents DER from the bags' bytes, each as read
 * (bag_der) or encoded here, wrapped as PKCS#7 data or encrypted data (as
 * PKCS12_pack_p7data / PKCS12_pack_p7encdata_ex would, without decoding
 * and encoding again the bags that are kept as bytes). */
struct piece {
	const uint8_t *p; /* NULL: side + off */
	size_t off, len;
};

static PKCS7 *cert_safe(const uint8_t *der, size_t len, const mtk_p12_write_opts *o)
{
	PKCS7 *p7 = PKCS7_new();
	X509_ALGOR *pbe = NULL;
	unsigned char *ct = NULL;
	int ctlen = 0;
	const EVP_CIPHER *ciph;
	ASN1_OCTET_STRING *os;

	if (p7 == NULL || len > INT_MAX)
		goto fail;
	if (o->cert_pbe == -1) {
		if (!PKCS7_set_type(p7, NID_pkcs7_data) ||
		    !ASN1_OCTET_STRING_set(p7->d.data, der, (int)len))
			goto fail;
		return p7;
	}
	if (!PKCS7_set_type(p7, NID_pkcs7_encrypted))
		goto fail;
	/* A cipher: PBES2 with OpenSSL's default PRF; else a PBES1 NID. */
	ciph = EVP_get_cipherbynid(o->cert_pbe);
	pbe = ciph != NULL
		  ? PKCS5_pbe2_set_iv_ex(ciph, o->cert_iter, NULL, o->cert_salt_len, NULL, -1, NULL)
		  : PKCS5_pbe_set_ex(o->cert_pbe, o->cert_iter, NULL, o->cert_salt_len, NULL);
	if (pbe == NULL || PKCS12_pbe_crypt_ex(pbe, o->pass, (int)o->passlen, der, (int)len, &ct,
					       &ctlen, 1, NULL, NULL) == NULL)
		goto fail;
	if ((os = ASN1_OCTET_STRING_new()) == NULL)
		goto fail;
	ASN1_STRING_set0(os, ct, ctlen);
	ct = NULL;
	X509_ALGOR_free(p7->d.encrypted->enc_data->algorithm);
	p7->d.encrypted->enc_data->algorithm = pbe;
	ASN1_OCTET_STRING_free(p7->d.encrypted->enc_data->enc_data);
	p7->d.encrypted->enc_data->enc_data = os;
	return p7;
fail:
	OPENSSL_free(ct);
	X509_ALGOR_free(pbe);
	PKCS7_free(p7);
	return NULL;
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
	STACK_OF(PKCS12_SAFEBAG) *kbags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	/* The certificate bags in order (npc, total bytes), those encoded
	 * here in side; the SafeContents assembled in sc. */
	struct piece *pc = NULL;
	size_t npc = 0, total = 0;
	mtk_buf side = MTK_BUF_INIT, sc = MTK_BUF_INIT;
	unsigned char *bd = NULL;
	int bn;
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
	if ((pc = calloc(n + 1, sizeof(*pc))) == NULL ||
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
			if (bi->bag_der != NULL) {
				pc[npc++] = (struct piece){bi->bag_der, 0, bi->bag_der_len};
				total += bi->bag_der_len;
				break;
			}
			sb = bi->cert != NULL ? PKCS12_SAFEBAG_create_cert(bi->cert)
					      : cert_bag_der(bi->der, bi->der_len);
			if (sb == NULL || !add_attrs(sb, bi) || (bi->trusted && !add_trusted(sb)) ||
			    (bn = i2d_PKCS12_SAFEBAG(sb, &bd)) <= 0)
				goto fail;
			pc[npc++] = (struct piece){NULL, side.len, (size_t)bn};
			total += (size_t)bn;
			rc = mtk_buf_append(&side, bd, (size_t)bn);
			OPENSSL_free(bd);
			bd = NULL;
			if (rc != MTK_OK)
				goto fail;
			rc = MTK_E_CRYPTO;
			PKCS12_SAFEBAG_free(sb);
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
	if (npc > 0) {
		what = "PFX: cannot encrypt the certificates";
		if ((rc = mtk_buf_reserve(&sc, total + 6)) != MTK_OK ||
		    (rc = mtk_der_put_header(&sc, 0x30, total)) != MTK_OK)
			goto fail;
		for (size_t i = 0; i < npc; i++)
			if ((rc = mtk_buf_append(&sc,
						 pc[i].p != NULL ? pc[i].p : side.data + pc[i].off,
						 pc[i].len)) != MTK_OK)
				goto fail;
		rc = MTK_E_CRYPTO;
		if ((p7 = cert_safe(sc.data, sc.len, o)) == NULL || !sk_PKCS7_push(safes, p7))
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
	/* Encoded straight into out: no second copy of a large store. */
	out->len = 0;
	if ((der_len = i2d_PKCS12(p12, NULL)) <= 0)
		goto fail;
	if ((rc = mtk_buf_reserve(out, (size_t)der_len)) != MTK_OK) {
		mtk_err_set(err, rc, "PFX");
		goto done;
	}
	der = out->data;
	if (i2d_PKCS12(p12, &der) != der_len) {
		der = NULL;
		rc = MTK_E_CRYPTO;
		goto fail;
	}
	der = NULL;
	out->len = (size_t)der_len;
	out->data[out->len] = 0; /* as mtk_buf_append leaves it */
	rc = MTK_OK;
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
	OPENSSL_free(bd);
	free(pc);
	mtk_buf_free(&side);
	mtk_buf_free(&sc);
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return rc;
}
