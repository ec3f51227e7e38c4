/*
 * p12write.c - the one PKCS#12 encoder (p12bags.h): neutral bags and a
 * profile in, PFX bytes out.
 *
 * Built from safe bags rather than PKCS12_create_ex(): only that way can the
 * caller choose the salt lengths (Java uses 20 bytes, PKCS12_create 8), a
 * PBES2 certificate safe, secret bags and Java's trusted-certificate
 * attribute.
 *
 * The PFX's outer layers (the AuthenticatedSafe's ContentInfos, the
 * EncryptedData, the MacData and the PFX SEQUENCE) are written here with
 * the core DER writer, straight into the output buffer, byte for byte what
 * i2d_PKCS12 of PKCS12_add_safes_ex's and PKCS12_set_mac's objects writes
 * (tests/unit/test_p12write.c runs that pipeline with the same salts):
 * those objects copied a large store's safe four times.  The certificate
 * SafeContents is written into the output and encrypted there (pbe.c; by
 * OpenSSL from a copy for a cipher pbe.c does not run).  The bags and the
 * keys' shrouding are still OpenSSL's.
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

/* The certificate safe's encryption algorithm (cert_pbe a PBES2 cipher or
 * a PBES1 NID), with a fresh salt and IV, as PKCS12_pack_p7encdata_ex
 * makes it. */
static X509_ALGOR *cert_pbe_alg(const mtk_p12_write_opts *o)
{
	/* A cipher: PBES2 with OpenSSL's default PRF; else a PBES1 NID. */
	const EVP_CIPHER *ciph = EVP_get_cipherbynid(o->cert_pbe);

	return ciph != NULL
		   ? PKCS5_pbe2_set_iv_ex(ciph, o->cert_iter, NULL, o->cert_salt_len, NULL, -1,
					  NULL)
		   : PKCS5_pbe_set_ex(o->cert_pbe, o->cert_iter, NULL, o->cert_salt_len, NULL);
}

/* ---- the PFX's outer layers, written as i2d_PKCS12 of OpenSSL's objects
 * would write them (PKCS12_add_safes_ex, PKCS12_set_mac) ---- */

/* The OIDs pkcs7-data and pkcs7-encryptedData, tag and length included;
 * an EncryptedData's version 0. */
static const uint8_t OID_DATA_TLV[] = {0x06, 0x09, MTK_OID_P7_DATA};
static const uint8_t OID_ENC_TLV[] = {0x06, 0x09, MTK_OID_P7_ENCRYPTED};
static const uint8_t VERSION_0[] = {0x02, 0x01, 0x00};
static const uint8_t VERSION_3[] = {0x02, 0x01, 0x03};

/* The size of a DER element of n value bytes (mtk_der_put_header's header). */
static size_t tlv_len(size_t n)
{
	return n + (n < 0x80 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : n < 0x1000000 ? 5 : 6);
}

/* ContentInfo { id-data, [0] { OCTET STRING of n bytes } }: its size, and
 * (data_ci_put) it written, the octets from p, or only its headers when p
 * is NULL (the caller writes the n bytes next). */
static size_t data_ci_len(size_t n)
{
	return tlv_len(sizeof(OID_DATA_TLV) + tlv_len(tlv_len(n)));
}

static mtk_rc data_ci_put(mtk_buf *b, const uint8_t *p, size_t n)
{
	mtk_rc rc;

	if ((rc = mtk_der_put_header(b, 0x30, sizeof(OID_DATA_TLV) + tlv_len(tlv_len(n)))) !=
		MTK_OK ||
	    (rc = mtk_buf_append(b, OID_DATA_TLV, sizeof(OID_DATA_TLV))) != MTK_OK ||
	    (rc = mtk_der_put_header(b, 0xa0, tlv_len(n))) != MTK_OK)
		return rc;
	return p != NULL ? mtk_der_put(b, 0x04, p, n) : mtk_der_put_header(b, 0x04, n);
}

/* ContentInfo { id-encryptedData, [0] { EncryptedData { 0,
 * EncryptedContentInfo { id-data, algorithm, [0] IMPLICIT ciphertext } } } }. */
static size_t enc_eci_len(size_t alg_len, size_t ct_len)
{
	return sizeof(OID_DATA_TLV) + alg_len + tlv_len(ct_len);
}

static size_t enc_ci_len(size_t alg_len, size_t ct_len)
{
	size_t ed = sizeof(VERSION_0) + tlv_len(enc_eci_len(alg_len, ct_len));

	return tlv_len(sizeof(OID_ENC_TLV) + tlv_len(tlv_len(ed)));
}

/* Its headers, up to the ciphertext's (ct_len bytes, written next). */
static mtk_rc enc_ci_put_header(mtk_buf *b, const uint8_t *alg, size_t alg_len, size_t ct_len)
{
	size_t eci = enc_eci_len(alg_len, ct_len), ed = sizeof(VERSION_0) + tlv_len(eci);
	mtk_rc rc;

	if ((rc = mtk_der_put_header(b, 0x30, sizeof(OID_ENC_TLV) + tlv_len(tlv_len(ed)))) !=
		MTK_OK ||
	    (rc = mtk_buf_append(b, OID_ENC_TLV, sizeof(OID_ENC_TLV))) != MTK_OK ||
	    (rc = mtk_der_put_header(b, 0xa0, tlv_len(ed))) != MTK_OK ||
	    (rc = mtk_der_put_header(b, 0x30, ed)) != MTK_OK ||
	    (rc = mtk_buf_append(b, VERSION_0, sizeof(VERSION_0))) != MTK_OK ||
	    (rc = mtk_der_put_header(b, 0x30, eci)) != MTK_OK ||
	    (rc = mtk_buf_append(b, OID_DATA_TLV, sizeof(OID_DATA_TLV))) != MTK_OK ||
	    (rc = mtk_buf_append(b, alg, alg_len)) != MTK_OK)
		return rc;
	return mtk_der_put_header(b, 0x80, ct_len);
}

/* The certificate safe: SafeContents DER from the bags' bytes, each as read
 * (bag_der) or encoded here (without decoding and encoding again the bags
 * that are kept as bytes): total bytes of bags. */
struct piece {
	const uint8_t *p; /* NULL: side + off */
	size_t off, len;
};

static mtk_rc sc_put(mtk_buf *b, const struct piece *pc, size_t npc, size_t total,
		     const mtk_buf *side)
{
	mtk_rc rc = mtk_der_put_header(b, 0x30, total);

	for (size_t i = 0; i < npc && rc == MTK_OK; i++)
		rc = mtk_buf_append(b, pc[i].p != NULL ? pc[i].p : side->data + pc[i].off,
				    pc[i].len);
	return rc;
}

/* A positive INTEGER's value bytes, minimal (a 0 first when the top bit
 * is set): n of them at the end of v[5]. */
static size_t int_bytes(uint32_t x, uint8_t v[5])
{
	size_t n = 0;

	do
		v[4 - n++] = (uint8_t)x;
	while ((x >>= 8) != 0);
	if (v[5 - n] & 0x80)
		v[4 - n++] = 0;
	return n;
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
	/* The certificate bags in order (npc, total bytes), those encoded
	 * here in side; the SafeContents assembled in sc when OpenSSL
	 * encrypts it (else written and encrypted in out, sc_off on). */
	struct piece *pc = NULL;
	size_t npc = 0, total = 0, sc_len = 0, sc_off, bs = 0;
	X509_ALGOR *pbe = NULL;
	mtk_buf side = MTK_BUF_INIT, sc = MTK_BUF_INIT;
	unsigned char *bd = NULL;
	int bn;
	PKCS12_SAFEBAG *sb = NULL;
	/* The encrypted certificate safe (alg, ct), the key safe (kd), the
	 * MAC's algorithm and salt. */
	unsigned char *alg = NULL, *ct = NULL, *kd = NULL, *malg_der = NULL;
	int alg_len = 0, ct_len = 0, kd_len = 0, malg_len = 0;
	X509_ALGOR *malg = NULL;
	const EVP_MD *md;
	uint8_t *salt = NULL, mac[MTK_P12_MAC_MAX], iter_v[5];
	size_t salt_len, mac_len, got = 0, iter_n, safes_len, as_len, as_off, di_body, md_body,
				  mac_data_len, pfx_len;
	mtk_rc rc = MTK_E_CRYPTO;
	const char *what = "PFX: cannot assemble the file";

	if (o->pass == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: a password is required");
	if (o->passlen > INT32_MAX)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "PFX: password too long");
	if ((pc = calloc(n + 1, sizeof(*pc))) == NULL ||
	    (kbags = sk_PKCS12_SAFEBAG_new_null()) == NULL) {
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
	if (npc > 0 && o->cert_pbe != -1) {
		what = "PFX: cannot encrypt the certificates";
		sc_len = tlv_len(total);
		if (sc_len > INT_MAX - 64 || (pbe = cert_pbe_alg(o)) == NULL ||
		    (alg_len = i2d_X509_ALGOR(pbe, &alg)) <= 0)
			goto fail;
		/* The fast path encrypts in place; OpenSSL's function (another
		 * algorithm) from a copy. */
		if ((bs = mtk_pbe_block_size(pbe)) > 0) {
			ct_len = (int)((sc_len / bs + 1) * bs);
		} else if ((rc = sc_put(&sc, pc, npc, total, &side)) != MTK_OK ||
			   PKCS12_pbe_crypt_ex(pbe, o->pass, (int)o->passlen, sc.data, (int)sc.len,
					       &ct, &ct_len, 1, NULL, NULL) == NULL) {
			rc = rc != MTK_OK ? rc : MTK_E_CRYPTO;
			goto fail;
		}
		rc = MTK_E_CRYPTO;
	} else if (npc > 0) {
		sc_len = tlv_len(total);
	}
	if (sk_PKCS12_SAFEBAG_num(kbags) > 0) {
		what = "PFX: key safe";
		/* What PKCS12_pack_p7data puts in its OCTET STRING. */
		if ((kd_len = ASN1_item_i2d((ASN1_VALUE *)kbags, &kd,
					    ASN1_ITEM_rptr(PKCS12_SAFEBAGS))) <= 0)
			goto fail;
	}
	/* The MAC's algorithm and salt, as PKCS12_set_mac makes them. */
	what = "PFX: cannot compute the MAC";
	md = o->mac_md != NULL ? o->mac_md : EVP_sha1();
	salt_len = o->mac_salt_len > 0 ? (size_t)o->mac_salt_len : 8;
	if ((malg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(malg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) ||
	    (malg_len = i2d_X509_ALGOR(malg, &malg_der)) <= 0 ||
	    (salt = malloc(salt_len)) == NULL || mtk_random(salt, salt_len) != MTK_OK ||
	    o->mac_iter > (int)INT32_MAX)
		goto fail;
	iter_n = o->mac_iter > 1 ? int_bytes((uint32_t)o->mac_iter, iter_v) : 0;
	mac_len = (size_t)EVP_MD_get_size(md);
	/* The sizes, then the PFX written once into out. */
	what = "PFX: cannot assemble the file";
	safes_len = (npc == 0		 ? 0
		     : o->cert_pbe == -1 ? data_ci_len(sc_len)
					 : enc_ci_len((size_t)alg_len, (size_t)ct_len)) +
		    (kd_len > 0 ? data_ci_len((size_t)kd_len) : 0);
	as_len = tlv_len(safes_len);
	di_body = (size_t)malg_len + tlv_len(mac_len);
	md_body = tlv_len(di_body) + tlv_len(salt_len) + (iter_n > 0 ? tlv_len(iter_n) : 0);
	mac_data_len = tlv_len(md_body);
	pfx_len = sizeof(VERSION_3) + data_ci_len(as_len) + mac_data_len;
	out->len = 0;
	if ((rc = mtk_buf_reserve(out, tlv_len(pfx_len))) != MTK_OK ||
	    (rc = mtk_der_put_header(out, 0x30, pfx_len)) != MTK_OK ||
	    (rc = mtk_buf_append(out, VERSION_3, sizeof(VERSION_3))) != MTK_OK ||
	    (rc = data_ci_put(out, NULL, as_len)) != MTK_OK)
		goto fail;
	as_off = out->len;
	if ((rc = mtk_der_put_header(out, 0x30, safes_len)) != MTK_OK)
		goto fail;
	if (npc > 0 && o->cert_pbe == -1) {
		if ((rc = data_ci_put(out, NULL, sc_len)) == MTK_OK)
			rc = sc_put(out, pc, npc, total, &side);
	} else if (npc > 0 && ct != NULL) {
		if ((rc = enc_ci_put_header(out, alg, (size_t)alg_len, (size_t)ct_len)) == MTK_OK)
			rc = mtk_buf_append(out, ct, (size_t)ct_len);
	} else if (npc > 0) {
		what = "PFX: cannot encrypt the certificates";
		if ((rc = enc_ci_put_header(out, alg, (size_t)alg_len, (size_t)ct_len)) == MTK_OK) {
			sc_off = out->len;
			if ((rc = sc_put(out, pc, npc, total, &side)) == MTK_OK)
				rc = mtk_pbe_encrypt_tail(pbe, o->pass, o->passlen, out, sc_off);
			if (rc == MTK_OK && out->len - sc_off != (size_t)ct_len)
				rc = MTK_E_CRYPTO;
		}
		what = "PFX: cannot assemble the file";
	}
	if (rc != MTK_OK || (kd_len > 0 && (rc = data_ci_put(out, kd, (size_t)kd_len)) != MTK_OK))
		goto fail;
	what = "PFX: cannot compute the MAC";
	rc = MTK_E_CRYPTO;
	if (out->len - as_off != as_len ||
	    mtk_p12_mac(EVP_MD_get_type(md), o->pass, o->passlen, salt, salt_len,
			o->mac_iter > 1 ? (uint64_t)o->mac_iter : 1, out->data + as_off, as_len,
			mac, &got) != MTK_OK ||
	    got != mac_len)
		goto fail;
	what = "PFX: cannot encode the file";
	if ((rc = mtk_der_put_header(out, 0x30, md_body)) != MTK_OK ||
	    (rc = mtk_der_put_header(out, 0x30, di_body)) != MTK_OK ||
	    (rc = mtk_buf_append(out, malg_der, (size_t)malg_len)) != MTK_OK ||
	    (rc = mtk_der_put(out, 0x04, mac, mac_len)) != MTK_OK ||
	    (rc = mtk_der_put(out, 0x04, salt, salt_len)) != MTK_OK ||
	    (iter_n > 0 && (rc = mtk_der_put(out, 0x02, iter_v + 5 - iter_n, iter_n)) != MTK_OK))
		goto fail;
	if (out->len != tlv_len(pfx_len)) {
		rc = MTK_E_CRYPTO;
		goto fail;
	}
	rc = MTK_OK;
	goto done;
fail:
	out->len = 0;
	rc = mtk_err_set(err, rc, "%s", what);
done:
	ERR_clear_error();
	OPENSSL_free(alg);
	OPENSSL_free(ct);
	OPENSSL_free(kd);
	OPENSSL_free(malg_der);
	X509_ALGOR_free(malg);
	X509_ALGOR_free(pbe);
	free(salt);
	OPENSSL_cleanse(mac, sizeof(mac));
	PKCS12_SAFEBAG_free(sb);
	OPENSSL_free(bd);
	free(pc);
	mtk_buf_free(&side);
	mtk_buf_free(&sc);
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	return rc;
}
