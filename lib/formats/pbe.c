/*
 * pbe.c - PBKDF2, the PKCS#12 KDF, PBES2/PKCS#12 decryption and PKCS#12
 * MACs over OpenSSL's digest block functions (see pbe.h for why).
 *
 * The SHA-1/SHA-2/MD5 "low-level" functions are deprecated in OpenSSL 3.0
 * in favour of EVP, but they are the same assembly the EVP path ends in,
 * minus a provider dispatch and an allocation per call; they are used only
 * here, for the iteration loops.
 *
 * The CBC decryption after the derivation uses OpenSSL's AES and DES block
 * functions too.  Through EVP, the first cipher fetch of a process builds
 * OpenSSL's whole cipher table (every cipher of every loaded provider: about
 * 6 million instructions and 100 KiB of heap) to decrypt 2 KiB once.  The
 * low-level AES is OpenSSL's table implementation, not AES-NI; for a few
 * blocks of a file the user decrypts with their own password that costs
 * nothing measurable, and no oracle is exposed: a bad padding says only
 * "wrong password or altered file", as EVP's did.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "formats/pbe.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/des.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/sha.h>

#include "formats/der.h"

/* Beyond this many iterations the fast path steps aside (OpenSSL decides). */
#define FAST_MAX_ITER 10000000u

typedef union {
	SHA_CTX s1;
	SHA256_CTX s256;
	SHA512_CTX s512;
	MD5_CTX m5;
} hctx;

typedef struct {
	size_t mdlen, block;
	void (*init)(hctx *c);
	void (*update)(hctx *c, const void *p, size_t n);
	void (*final)(uint8_t *out, hctx *c);
} hdesc;

#define HASH_FNS(name, field, INIT, UPDATE, FINAL)                                                 \
	static void name##_init(hctx *c) { (void)INIT(&c->field); }                                \
	static void name##_update(hctx *c, const void *p, size_t n) { (void)UPDATE(&c->field, p, n); } \
	static void name##_final(uint8_t *out, hctx *c) { (void)FINAL(out, &c->field); }

HASH_FNS(sha1, s1, SHA1_Init, SHA1_Update, SHA1_Final)
HASH_FNS(sha224, s256, SHA224_Init, SHA224_Update, SHA224_Final)
HASH_FNS(sha256, s256, SHA256_Init, SHA256_Update, SHA256_Final)
HASH_FNS(sha384, s512, SHA384_Init, SHA384_Update, SHA384_Final)
HASH_FNS(sha512, s512, SHA512_Init, SHA512_Update, SHA512_Final)
HASH_FNS(md5, m5, MD5_Init, MD5_Update, MD5_Final)

static const hdesc H_SHA1 = {20, 64, sha1_init, sha1_update, sha1_final};
static const hdesc H_SHA224 = {28, 64, sha224_init, sha224_update, sha224_final};
static const hdesc H_SHA256 = {32, 64, sha256_init, sha256_update, sha256_final};
static const hdesc H_SHA384 = {48, 128, sha384_init, sha384_update, sha384_final};
static const hdesc H_SHA512 = {64, 128, sha512_init, sha512_update, sha512_final};

static const hdesc *hash_by_nid(int nid)
{
	switch (nid) {
	case NID_sha1:
		return &H_SHA1;
	case NID_sha224:
		return &H_SHA224;
	case NID_sha256:
		return &H_SHA256;
	case NID_sha384:
		return &H_SHA384;
	case NID_sha512:
		return &H_SHA512;
	default:
		return NULL;
	}
}

/* ---- HMAC with the pads hashed once ---- */

typedef struct {
	const hdesc *h;
	hctx in, out; /* states after the inner and outer pad blocks */
} hmac_key;

static void hmac_set_key(hmac_key *k, const hdesc *h, const void *key, size_t keylen)
{
	uint8_t kb[128], pad[128];
	hctx c;

	memset(kb, 0, sizeof(kb));
	if (keylen > h->block) {
		h->init(&c);
		h->update(&c, key, keylen);
		h->final(kb, &c);
	} else if (keylen > 0) {
		memcpy(kb, key, keylen);
	}
	k->h = h;
	for (size_t i = 0; i < h->block; i++)
		pad[i] = kb[i] ^ 0x36;
	h->init(&k->in);
	h->update(&k->in, pad, h->block);
	for (size_t i = 0; i < h->block; i++)
		pad[i] = kb[i] ^ 0x5c;
	h->init(&k->out);
	h->update(&k->out, pad, h->block);
	OPENSSL_cleanse(kb, sizeof(kb));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(&c, sizeof(c));
}

/* out = HMAC(a || b); out may alias a. */
static void hmac2(const hmac_key *k, const void *a, size_t alen, const void *b, size_t blen, uint8_t *out)
{
	hctx c = k->in;

	k->h->update(&c, a, alen);
	if (blen > 0)
		k->h->update(&c, b, blen);
	k->h->final(out, &c);
	c = k->out;
	k->h->update(&c, out, k->h->mdlen);
	k->h->final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}

mtk_rc mtk_pbkdf2(int md_nid, const void *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
		  uint64_t iter, uint8_t *out, size_t outlen)
{
	const hdesc *h = hash_by_nid(md_nid);
	hmac_key k;
	uint8_t u[64], t[64], be[4];

	if (h == NULL)
		return MTK_E_UNSUPPORTED;
	if (iter == 0 || outlen == 0)
		return MTK_E_INVALID_ARG;
	hmac_set_key(&k, h, pass, passlen);
	for (uint32_t blk = 1; outlen > 0; blk++) {
		size_t n = outlen < h->mdlen ? outlen : h->mdlen;

		be[0] = (uint8_t)(blk >> 24);
		be[1] = (uint8_t)(blk >> 16);
		be[2] = (uint8_t)(blk >> 8);
		be[3] = (uint8_t)blk;
		hmac2(&k, salt, saltlen, be, 4, u);
		memcpy(t, u, h->mdlen);
		for (uint64_t i = 1; i < iter; i++) {
			hmac2(&k, u, h->mdlen, NULL, 0, u);
			for (size_t j = 0; j < h->mdlen; j++)
				t[j] ^= u[j];
		}
		memcpy(out, t, n);
		out += n;
		outlen -= n;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(u, sizeof(u));
	OPENSSL_cleanse(t, sizeof(t));
	return MTK_OK;
}

mtk_rc mtk_pkcs12_kdf(int md_nid, int id, const uint8_t *bmp, size_t bmplen, const uint8_t *salt,
		      size_t saltlen, uint64_t iter, uint8_t *out, size_t outlen)
{
	const hdesc *h = hash_by_nid(md_nid);
	size_t v, u, slen, plen, ilen;
	uint8_t d[128], b[128], a[64], *in;
	hctx c;

	if (h == NULL)
		return MTK_E_UNSUPPORTED;
	if (iter == 0 || outlen == 0 || saltlen > 1024 || bmplen > 4096)
		return MTK_E_INVALID_ARG;
	v = h->block;
	u = h->mdlen;
	slen = v * ((saltlen + v - 1) / v);
	plen = v * ((bmplen + v - 1) / v);
	ilen = slen + plen;
	if ((in = OPENSSL_malloc(ilen > 0 ? ilen : 1)) == NULL)
		return MTK_E_NOMEM;
	for (size_t i = 0; i < slen; i++)
		in[i] = salt[i % saltlen];
	for (size_t i = 0; i < plen; i++)
		in[slen + i] = bmp[i % bmplen];
	memset(d, id, v);
	for (;;) {
		size_t n = outlen < u ? outlen : u;

		h->init(&c);
		h->update(&c, d, v);
		h->update(&c, in, ilen);
		h->final(a, &c);
		for (uint64_t i = 1; i < iter; i++) {
			h->init(&c);
			h->update(&c, a, u);
			h->final(a, &c);
		}
		memcpy(out, a, n);
		if (outlen <= u)
			break;
		out += n;
		outlen -= n;
		for (size_t j = 0; j < v; j++)
			b[j] = a[j % u];
		for (size_t j = 0; j < ilen; j += v) {
			unsigned c16 = 1;
			for (size_t q = v; q > 0;) {
				q--;
				c16 += (unsigned)in[j + q] + b[q];
				in[j + q] = (uint8_t)c16;
				c16 >>= 8;
			}
		}
	}
	OPENSSL_clear_free(in, ilen > 0 ? ilen : 1);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_cleanse(&c, sizeof(c));
	return MTK_OK;
}

void mtk_md5_chain(const uint8_t *seed, size_t seedlen, const void *pass, size_t passlen, uint32_t iter,
		   uint8_t out[16])
{
	hctx c;

	md5_init(&c);
	md5_update(&c, seed, seedlen);
	md5_update(&c, pass, passlen);
	md5_final(out, &c);
	for (uint32_t i = 1; i < iter; i++) {
		md5_init(&c);
		md5_update(&c, out, 16);
		md5_update(&c, pass, passlen);
		md5_final(out, &c);
	}
	OPENSSL_cleanse(&c, sizeof(c));
}

/* ---- the password in BMPString form, as OpenSSL makes it ---- */

typedef struct {
	uint8_t *p;
	int len;
} bmp_pass;

static bool bmp_make(bmp_pass *b, const char *pass, size_t passlen)
{
	b->p = NULL;
	b->len = 0;
	if (pass == NULL)
		return true;
	if (passlen > INT_MAX / 4)
		return false;
	return OPENSSL_utf82uni(pass, (int)passlen, &b->p, &b->len) != NULL;
}

static void bmp_free(bmp_pass *b)
{
	if (b->p != NULL)
		OPENSSL_clear_free(b->p, (size_t)b->len);
	b->p = NULL;
}

/* ---- decryption ---- */

static bool uint_of(const ASN1_INTEGER *ai, uint64_t *v)
{
	return ai != NULL && ASN1_INTEGER_get_uint64(v, ai) == 1;
}

/* The CBC ciphers of the fast path: key and IV lengths. */
static bool cbc_sizes(int nid, size_t *keylen, size_t *ivlen)
{
	switch (nid) {
	case NID_aes_128_cbc:
	case NID_aes_192_cbc:
	case NID_aes_256_cbc:
		*keylen = nid == NID_aes_128_cbc ? 16 : nid == NID_aes_192_cbc ? 24 : 32;
		*ivlen = 16;
		return true;
	case NID_des_ede3_cbc:
		*keylen = 24;
		*ivlen = 8;
		return true;
	case NID_des_ede_cbc:
		*keylen = 16;
		*ivlen = 8;
		return true;
	default:
		return false;
	}
}

static int prf_digest(const X509_ALGOR *prf)
{
	if (prf == NULL)
		return NID_sha1; /* the default: hmacWithSHA1 */
	switch (OBJ_obj2nid(prf->algorithm)) {
	case NID_hmacWithSHA1:
		return NID_sha1;
	case NID_hmacWithSHA224:
		return NID_sha224;
	case NID_hmacWithSHA256:
		return NID_sha256;
	case NID_hmacWithSHA384:
		return NID_sha384;
	case NID_hmacWithSHA512:
		return NID_sha512;
	default:
		return NID_undef;
	}
}

/* CBC over buf[0..total) in place, total a whole number of blocks (no
 * padding added or checked here); key and iv are nid's sizes. */
static mtk_rc cbc_inplace(int nid, bool decrypt, const uint8_t *key, const uint8_t *iv_in,
			  uint8_t *buf, size_t total)
{
	struct {
		DES_key_schedule des[3];
	} ks;
	uint8_t iv[16];
	size_t keylen, bs;
	mtk_rc rc = MTK_OK;

	if (!cbc_sizes(nid, &keylen, &bs))
		return MTK_E_UNSUPPORTED;
	memcpy(iv, iv_in, bs);
	if (bs == 16) {
		/* EVP, not AES_cbc_encrypt: only EVP uses the CPU's AES
		 * instructions (a 2 MB certificate safe: 1 ms instead of 10). */
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		const EVP_CIPHER *ciph = keylen == 16   ? EVP_aes_128_cbc()
					 : keylen == 24 ? EVP_aes_192_cbc()
							: EVP_aes_256_cbc();
		int n = 0;

		rc = c != NULL && total <= INT_MAX &&
			     EVP_CipherInit_ex(c, ciph, NULL, key, iv, decrypt ? 0 : 1) &&
			     EVP_CIPHER_CTX_set_padding(c, 0) &&
			     EVP_CipherUpdate(c, buf, &n, buf, (int)total) && (size_t)n == total
			 ? MTK_OK
			 : MTK_E_CRYPTO;
		EVP_CIPHER_CTX_free(c);
		if (rc != MTK_OK)
			ERR_clear_error();
	} else {
		/* Two-key 3DES is K1, K2, K1. */
		DES_set_key_unchecked((const_DES_cblock *)key, &ks.des[0]);
		DES_set_key_unchecked((const_DES_cblock *)(key + 8), &ks.des[1]);
		DES_set_key_unchecked((const_DES_cblock *)(key + (keylen == 24 ? 16 : 0)), &ks.des[2]);
		DES_ede3_cbc_encrypt(buf, buf, (long)total, &ks.des[0], &ks.des[1], &ks.des[2],
				     (DES_cblock *)iv, decrypt ? DES_DECRYPT : DES_ENCRYPT);
	}
	OPENSSL_cleanse(&ks, sizeof(ks));
	OPENSSL_cleanse(iv, sizeof(iv));
	return rc;
}

mtk_rc mtk_cbc_crypt(int nid, bool decrypt, const uint8_t *key, const uint8_t *iv,
		     const uint8_t *in, size_t inlen, mtk_buf *out)
{
	size_t keylen, bs, total, pad;
	mtk_rc rc;

	if (!cbc_sizes(nid, &keylen, &bs))
		return MTK_E_UNSUPPORTED;
	out->len = 0;
	if (decrypt && (inlen == 0 || inlen % bs != 0))
		return MTK_E_BAD_PASSWORD; /* not a whole number of blocks: altered */
	if (inlen > SIZE_MAX - 2 * bs)
		return MTK_E_TOO_LARGE;
	total = decrypt ? inlen : (inlen / bs + 1) * bs;
	if ((rc = mtk_buf_reserve(out, total)) != MTK_OK)
		return rc;
	memcpy(out->data, in, inlen);
	if (!decrypt) { /* PKCS#7 padding: 1 to bs bytes, each the count */
		pad = total - inlen;
		memset(out->data + inlen, (int)pad, pad);
	}
	if ((rc = cbc_inplace(nid, decrypt, key, iv, out->data, total)) != MTK_OK)
		return rc;
	if (decrypt) {
		/* The padding is in the last byte and must repeat that many times;
		 * anything else is a wrong key (password) or altered data. */
		unsigned bad;

		pad = out->data[total - 1];
		bad = (unsigned)(pad == 0) | (unsigned)(pad > bs);
		for (size_t i = 1; i <= bs; i++)
			bad |= (unsigned)(i <= pad && out->data[total - i] != pad);
		if (bad) {
			mtk_cleanse(out->data, total);
			return MTK_E_BAD_PASSWORD;
		}
		total -= pad;
	}
	out->len = total;
	out->data[total] = 0;
	return MTK_OK;
}

/* What a password-based algorithm of the fast path derives: the CBC
 * cipher, its key and IV. */
typedef struct {
	int cnid;
	size_t keylen, ivlen;
	uint8_t key[32], iv[16];
} pbe_keys;

/* PBES2 with PBKDF2 and a CBC cipher: the parameters checked, and the key
 * derived when derive. */
static mtk_rc pbes2_keys(const ASN1_TYPE *param, const char *pass, size_t passlen, bool derive,
			 pbe_keys *k)
{
	PBE2PARAM *p2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	const ASN1_OCTET_STRING *ivs;
	uint64_t iter = 0, klen = 0;
	int md;
	mtk_rc rc = MTK_E_UNSUPPORTED;

	if (param == NULL || param->type != V_ASN1_SEQUENCE ||
	    (p2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), param)) == NULL)
		goto out;
	if (p2->keyfunc == NULL || OBJ_obj2nid(p2->keyfunc->algorithm) != NID_id_pbkdf2 ||
	    p2->keyfunc->parameter == NULL || p2->keyfunc->parameter->type != V_ASN1_SEQUENCE ||
	    (kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), p2->keyfunc->parameter)) == NULL)
		goto out;
	if (p2->encryption == NULL ||
	    !cbc_sizes(k->cnid = OBJ_obj2nid(p2->encryption->algorithm), &k->keylen, &k->ivlen))
		goto out;
	if (p2->encryption->parameter == NULL || p2->encryption->parameter->type != V_ASN1_OCTET_STRING)
		goto out;
	ivs = p2->encryption->parameter->value.octet_string;
	if ((size_t)ivs->length != k->ivlen || k->keylen > sizeof(k->key))
		goto out;
	if (kdf->salt == NULL || kdf->salt->type != V_ASN1_OCTET_STRING || !uint_of(kdf->iter, &iter) ||
	    iter == 0 || iter > FAST_MAX_ITER)
		goto out;
	if (kdf->keylength != NULL && (!uint_of(kdf->keylength, &klen) || klen != k->keylen))
		goto out;
	if ((md = prf_digest(kdf->prf)) == NID_undef)
		goto out;
	memcpy(k->iv, ivs->data, k->ivlen);
	rc = !derive ? MTK_OK
		     : mtk_pbkdf2(md, pass ? pass : "", pass ? passlen : 0,
				  kdf->salt->value.octet_string->data,
				  (size_t)kdf->salt->value.octet_string->length, iter, k->key,
				  k->keylen);
out:
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(p2);
	return rc;
}

/* pbeWithSHAAnd3-KeyTripleDES-CBC (or 2-key): the same, with the PKCS#12 KDF. */
static mtk_rc p12pbe_keys(int nid, const ASN1_TYPE *param, const char *pass, size_t passlen,
			  bool derive, pbe_keys *k)
{
	PBEPARAM *pp = NULL;
	bmp_pass bmp;
	uint64_t iter = 0;
	mtk_rc rc;

	k->cnid =
	    nid == NID_pbe_WithSHA1And3_Key_TripleDES_CBC ? NID_des_ede3_cbc : NID_des_ede_cbc;
	k->keylen = k->cnid == NID_des_ede3_cbc ? 24 : 16;
	k->ivlen = 8;
	if (param == NULL || param->type != V_ASN1_SEQUENCE ||
	    (pp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), param)) == NULL)
		return MTK_E_UNSUPPORTED;
	if (pp->salt == NULL || !uint_of(pp->iter, &iter) || iter == 0 || iter > FAST_MAX_ITER) {
		PBEPARAM_free(pp);
		return MTK_E_UNSUPPORTED;
	}
	if (!derive) {
		PBEPARAM_free(pp);
		return MTK_OK;
	}
	if (!bmp_make(&bmp, pass, passlen)) {
		PBEPARAM_free(pp);
		return MTK_E_UNSUPPORTED;
	}
	rc = mtk_pkcs12_kdf(NID_sha1, 1, bmp.p, (size_t)bmp.len, pp->salt->data,
			    (size_t)pp->salt->length, iter, k->key, k->keylen);
	if (rc == MTK_OK)
		rc = mtk_pkcs12_kdf(NID_sha1, 2, bmp.p, (size_t)bmp.len, pp->salt->data,
				    (size_t)pp->salt->length, iter, k->iv, k->ivlen);
	if (rc == MTK_E_INVALID_ARG)
		rc = MTK_E_UNSUPPORTED;
	bmp_free(&bmp);
	PBEPARAM_free(pp);
	return rc;
}

static mtk_rc pbe_keys_of(const X509_ALGOR *alg, const char *pass, size_t passlen, bool derive,
			  pbe_keys *k)
{
	int nid;

	memset(k, 0, sizeof(*k));
	if (alg == NULL)
		return MTK_E_UNSUPPORTED;
	nid = OBJ_obj2nid(alg->algorithm);
	switch (nid) {
	case NID_pbes2:
		return pbes2_keys(alg->parameter, pass, passlen, derive, k);
	case NID_pbe_WithSHA1And3_Key_TripleDES_CBC:
	case NID_pbe_WithSHA1And2_Key_TripleDES_CBC:
		return p12pbe_keys(nid, alg->parameter, pass, passlen, derive, k);
	default:
		return MTK_E_UNSUPPORTED;
	}
}

mtk_rc mtk_pbe_decrypt(const X509_ALGOR *alg, const char *pass, size_t passlen, const uint8_t *in,
		       size_t inlen, mtk_buf *out)
{
	pbe_keys k;
	mtk_rc rc;

	if (in == NULL)
		return MTK_E_UNSUPPORTED;
	rc = pbe_keys_of(alg, pass, passlen, true, &k);
	if (rc == MTK_OK)
		rc = mtk_cbc_crypt(k.cnid, true, k.key, k.iv, in, inlen, out);
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

size_t mtk_pbe_block_size(const X509_ALGOR *alg)
{
	pbe_keys k;

	return pbe_keys_of(alg, NULL, 0, false, &k) == MTK_OK ? k.ivlen : 0;
}

mtk_rc mtk_pbe_encrypt_tail(const X509_ALGOR *alg, const char *pass, size_t passlen, mtk_buf *b,
			    size_t off)
{
	pbe_keys k;
	size_t pad;
	mtk_rc rc;

	if (off > b->len)
		return MTK_E_INVALID_ARG;
	if ((rc = pbe_keys_of(alg, pass, passlen, true, &k)) != MTK_OK)
		goto out;
	/* PKCS#7 padding: 1 to a block of bytes, each the count. */
	pad = k.ivlen - (b->len - off) % k.ivlen;
	if ((rc = mtk_buf_reserve(b, pad)) != MTK_OK)
		goto out;
	memset(b->data + b->len, (int)pad, pad);
	b->len += pad;
	b->data[b->len] = 0;
	rc = cbc_inplace(k.cnid, false, k.key, k.iv, b->data + off, b->len - off);
out:
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/* ---- the PKCS#12 MAC ---- */

/* The content octets of the PFX's authSafe (the bytes the MAC covers):
 * PFX { version, ContentInfo { id-data, [0] { OCTET STRING } }, ... }.  A
 * constructed (BER) octet string is left to OpenSSL. */
static bool authsafe_bytes(const uint8_t *der, size_t len, const uint8_t **data, size_t *dlen)
{
	static const uint8_t oid_data[] = {MTK_OID_P7_DATA};
	mtk_reader r, pfx, ver, ci, oid, ctx, oct;
	const uint8_t *p;

	mtk_reader_init(&r, der, len);
	if (!mtk_der_enter(&r, 0x30, &pfx) || !mtk_der_enter(&pfx, 0x02, &ver) ||
	    !mtk_der_enter(&pfx, 0x30, &ci) || !mtk_der_enter(&ci, 0x06, &oid) ||
	    mtk_reader_left(&oid) != sizeof(oid_data) ||
	    mtk_reader_bytes(&oid, sizeof(oid_data), &p) != MTK_OK ||
	    memcmp(p, oid_data, sizeof(oid_data)) != 0 || !mtk_der_enter(&ci, 0xa0, &ctx) ||
	    !mtk_der_enter(&ctx, 0x04, &oct))
		return false;
	*dlen = mtk_reader_left(&oct);
	return mtk_reader_bytes(&oct, *dlen, data) == MTK_OK;
}

mtk_rc mtk_p12_mac(int md_nid, const char *pass, size_t passlen, const uint8_t *salt,
		   size_t saltlen, uint64_t iter, const uint8_t *data, size_t dlen,
		   uint8_t mac[MTK_P12_MAC_MAX], size_t *maclen)
{
	const hdesc *h = hash_by_nid(md_nid);
	uint8_t key[64];
	bmp_pass bmp;
	hmac_key k;
	mtk_rc rc;

	if (h == NULL || iter == 0 || iter > FAST_MAX_ITER || (salt == NULL && saltlen > 0) ||
	    (data == NULL && dlen > 0))
		return MTK_E_UNSUPPORTED;
	if (!bmp_make(&bmp, pass, passlen))
		return MTK_E_UNSUPPORTED;
	rc = mtk_pkcs12_kdf(md_nid, 3, bmp.p, (size_t)bmp.len, salt, saltlen, iter, key, h->mdlen);
	bmp_free(&bmp);
	if (rc != MTK_OK)
		return MTK_E_UNSUPPORTED;
	hmac_set_key(&k, h, key, h->mdlen);
	hmac2(&k, data, dlen, NULL, 0, mac);
	*maclen = h->mdlen;
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(key, sizeof(key));
	return MTK_OK;
}

mtk_rc mtk_p12_mac_check(PKCS12 *p12, const uint8_t *der, size_t len, const char *pass, size_t passlen)
{
	const ASN1_OCTET_STRING *mac = NULL, *salt = NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_INTEGER *iter_ai = NULL;
	const uint8_t *data;
	size_t dlen, clen = 0;
	uint64_t iter = 1;
	uint8_t calc[MTK_P12_MAC_MAX];
	mtk_rc rc;

	if (p12 == NULL || der == NULL || PKCS12_mac_present(p12) != 1)
		return MTK_E_UNSUPPORTED;
	PKCS12_get0_mac(&mac, &alg, &salt, &iter_ai, p12);
	if (mac == NULL || alg == NULL || salt == NULL)
		return MTK_E_UNSUPPORTED;
	if (iter_ai != NULL && !uint_of(iter_ai, &iter))
		return MTK_E_UNSUPPORTED;
	if (!authsafe_bytes(der, len, &data, &dlen))
		return MTK_E_UNSUPPORTED;
	rc = mtk_p12_mac(OBJ_obj2nid(alg->algorithm), pass, passlen, salt->data,
			 (size_t)salt->length, iter, data, dlen, calc, &clen);
	if (rc != MTK_OK)
		return rc;
	if ((size_t)mac->length != clen)
		return MTK_E_UNSUPPORTED;
	return CRYPTO_memcmp(calc, mac->data, clen) == 0 ? MTK_OK : MTK_E_BAD_PASSWORD;
}

/* ---- with OpenSSL behind ---- */

/* The fast path ran the very derivation, password form and cipher OpenSSL
 * would: its answer (plaintext or bad padding) is OpenSSL's answer too, and
 * a wrong password costs one derivation, not two.  Anything else (an
 * algorithm it does not claim, an allocation failure) goes to OpenSSL. */
static bool computed(mtk_rc rc)
{
	return rc == MTK_OK || rc == MTK_E_BAD_PASSWORD;
}

bool mtk_p12_verify_mac(PKCS12 *p12, const uint8_t *der, size_t len, const char *pass, size_t passlen)
{
	mtk_rc rc = mtk_p12_mac_check(p12, der, len, pass, passlen);
	bool ok;

	/* A computed mismatch is final: the same derivation, password form and
	 * HMAC that PKCS12_verify_mac would run. */
	if (rc != MTK_E_UNSUPPORTED)
		return rc == MTK_OK;
	if (passlen > INT_MAX)
		return false;
	ok = PKCS12_verify_mac(p12, pass, pass ? (int)passlen : 0) == 1;
	ERR_clear_error();
	return ok;
}

PKCS8_PRIV_KEY_INFO *mtk_p8_decrypt(const X509_SIG *sig, const char *pass, size_t passlen)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *enc = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	mtk_buf plain = MTK_BUF_SECRET_INIT;
	mtk_rc rc = MTK_E_UNSUPPORTED;

	X509_SIG_get0(sig, &alg, &enc);
	if (enc != NULL)
		rc = mtk_pbe_decrypt(alg, pass, passlen, enc->data, (size_t)enc->length, &plain);
	if (rc == MTK_OK) {
		const unsigned char *p = plain.data;
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain.len);
	}
	mtk_buf_cleanse_free(&plain);
	if (!computed(rc) && passlen <= INT_MAX)
		p8 = PKCS8_decrypt(sig, pass, pass ? (int)passlen : 0);
	ERR_clear_error();
	return p8;
}

mtk_rc mtk_p7_decrypt_plain(PKCS7 *p7, const char *pass, size_t passlen, mtk_buf *out)
{
	const PKCS7_ENC_CONTENT *ec;

	if (p7 == NULL || OBJ_obj2nid(p7->type) != NID_pkcs7_encrypted || p7->d.encrypted == NULL ||
	    p7->d.encrypted->enc_data == NULL || p7->d.encrypted->enc_data->enc_data == NULL)
		return MTK_E_UNSUPPORTED;
	ec = p7->d.encrypted->enc_data;
	return mtk_pbe_decrypt(ec->algorithm, pass, passlen, ec->enc_data->data,
			       (size_t)ec->enc_data->length, out);
}

STACK_OF(PKCS12_SAFEBAG) * mtk_p7_decrypt_bags(PKCS7 *p7, const char *pass, size_t passlen)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	mtk_buf plain = MTK_BUF_SECRET_INIT;
	mtk_rc rc = mtk_p7_decrypt_plain(p7, pass, passlen, &plain);

	if (rc == MTK_OK) {
		const unsigned char *p = plain.data;
		bags = (STACK_OF(PKCS12_SAFEBAG) *)ASN1_item_d2i(NULL, &p, (long)plain.len,
								 ASN1_ITEM_rptr(PKCS12_SAFEBAGS));
	}
	mtk_buf_cleanse_free(&plain);
	if (!computed(rc) && passlen <= INT_MAX)
		bags = PKCS12_unpack_p7encdata(p7, pass, pass ? (int)passlen : 0);
	ERR_clear_error();
	return bags;
}

/* ---- PBE policy: what a file may ask for, and OpenSSL's legacy provider ---- */

void mtk_oid_text(const ASN1_OBJECT *obj, char *out, size_t cap)
{
	int nid = OBJ_obj2nid(obj);

	if (nid != NID_undef) {
		snprintf(out, cap, "%s", OBJ_nid2sn(nid));
		return;
	}
	if (OBJ_obj2txt(out, (int)cap, obj, 1) <= 0)
		snprintf(out, cap, "unknown");
}

void mtk_pbe_describe(const X509_ALGOR *alg, char *out, size_t cap, long *iter)
{
	const ASN1_OBJECT *oid = NULL;
	const void *pval = NULL;
	int ptype = 0, nid;

	*iter = 0;
	if (alg == NULL) {
		snprintf(out, cap, "none");
		return;
	}
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	nid = OBJ_obj2nid(oid);
	if (nid == NID_pbes2 && ptype == V_ASN1_SEQUENCE) {
		PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		if (p2 != NULL) {
			const ASN1_OBJECT *kdf = NULL, *enc = NULL;
			char prf[48] = "hmacWithSHA1";

			X509_ALGOR_get0(&kdf, NULL, NULL, p2->keyfunc);
			X509_ALGOR_get0(&enc, NULL, NULL, p2->encryption);
			if (OBJ_obj2nid(kdf) == NID_id_pbkdf2 && p2->keyfunc->parameter != NULL) {
				PBKDF2PARAM *kp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
									    p2->keyfunc->parameter);
				if (kp != NULL) {
					if (kp->prf != NULL) {
						const ASN1_OBJECT *po = NULL;
						X509_ALGOR_get0(&po, NULL, NULL, kp->prf);
						mtk_oid_text(po, prf, sizeof(prf));
					}
					*iter = ASN1_INTEGER_get(kp->iter);
				}
				PBKDF2PARAM_free(kp);
			}
			{
				char k[48], e[48];
				mtk_oid_text(kdf, k, sizeof(k));
				mtk_oid_text(enc, e, sizeof(e));
				snprintf(out, cap, "PBES2/%s/%s/%s", k, prf, e);
			}
			PBE2PARAM_free(p2);
			ERR_clear_error();
			return;
		}
	} else if (ptype == V_ASN1_SEQUENCE) {
		/* PKCS#5 v1 and PKCS#12 PBE: SEQUENCE { salt, iterations } */
		PBEPARAM *pp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
		if (pp != NULL)
			*iter = ASN1_INTEGER_get(pp->iter);
		PBEPARAM_free(pp);
	}
	ERR_clear_error();
	mtk_oid_text(oid, out, cap);
}

bool mtk_pbe_iter_excessive(const X509_ALGOR *alg)
{
	char d[128];
	long iter;

	if (alg == NULL)
		return false;
	mtk_pbe_describe(alg, d, sizeof(d), &iter);
	return iter < 0 || iter > MTK_PBE_MAX_ITER;
}

bool mtk_mac_iter_excessive(const ASN1_INTEGER *iter)
{
	uint64_t v = 0;
	bool bad;

	if (iter == NULL)
		return false;
	ERR_set_mark();
	bad = ASN1_INTEGER_get_uint64(&v, iter) != 1 || v > (uint64_t)MTK_PBE_MAX_ITER;
	ERR_pop_to_mark();
	return bad;
}

mtk_rc mtk_pbe_iter_refused(mtk_err *err, const char *name, const char *what)
{
	return mtk_err_set(err, MTK_E_TOO_LARGE,
			   "%s: the %s asks for more than %ld key-derivation iterations; refused (a "
			   "crafted or damaged file: real ones use 2,048 to 10,000, and Java refuses "
			   "it too)",
			   name, what, MTK_PBE_MAX_ITER);
}

mtk_pbe_budget mtk_pbe_budget_for(size_t len)
{
	uint64_t t = (uint64_t)MTK_PBE_FILE_BUDGET + (uint64_t)MTK_PBE_ITER_PER_BYTE * (uint64_t)len;
	mtk_pbe_budget b = {t, false, t};

	return b;
}

static bool budget_take(mtk_pbe_budget *b, uint64_t n)
{
	if (n > b->left) {
		b->exhausted = true;
		return false;
	}
	b->left -= n;
	b->exhausted = false;
	return true;
}

bool mtk_pbe_budget_take(mtk_pbe_budget *b, const X509_ALGOR *alg)
{
	char d[128];
	long iter = 0;

	b->exhausted = false;
	if (alg == NULL)
		return budget_take(b, 1);
	mtk_pbe_describe(alg, d, sizeof(d), &iter);
	if (iter < 0 || iter > MTK_PBE_MAX_ITER)
		return false;
	return budget_take(b, iter > 0 ? (uint64_t)iter : 1);
}

bool mtk_pbe_budget_take_mac(mtk_pbe_budget *b, const ASN1_INTEGER *iter)
{
	uint64_t v = 1;

	b->exhausted = false;
	if (mtk_mac_iter_excessive(iter))
		return false;
	if (iter != NULL) {
		ERR_set_mark();
		if (ASN1_INTEGER_get_uint64(&v, iter) != 1)
			v = 1;
		ERR_pop_to_mark();
	}
	return mtk_pbe_budget_take_count(b, v);
}

bool mtk_pbe_budget_take_count(mtk_pbe_budget *b, uint64_t iter)
{
	b->exhausted = false;
	if (iter > (uint64_t)MTK_PBE_MAX_ITER)
		return false;
	return budget_take(b, iter > 0 ? iter : 1);
}

mtk_rc mtk_pbe_budget_refused(const mtk_pbe_budget *b, mtk_err *err, const char *name,
			      const char *what)
{
	if (!b->exhausted)
		return mtk_pbe_iter_refused(err, name, what);
	return mtk_err_set(err, MTK_E_TOO_LARGE,
			   "%s: the file asks for more than %llu key-derivation iterations in all "
			   "(%d per byte of the file, plus one derivation at the cap; reached at the "
			   "%s); refused (a crafted or damaged file: real ones need far fewer)",
			   name, (unsigned long long)b->total, MTK_PBE_ITER_PER_BYTE, what);
}

bool mtk_pbe_needs_legacy(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *oid = NULL;
	int nid;

	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	nid = OBJ_obj2nid(oid);
	if (nid == NID_pbes2) {
		char d[128];
		long it;
		mtk_pbe_describe(alg, d, sizeof(d), &it);
		return strstr(d, "RC2") != NULL ||
		       (strlen(d) >= 8 && strcmp(d + strlen(d) - 8, "/DES-CBC") == 0);
	}
	/* every PKCS#12 / PKCS#5 v1 PBE except 3DES uses RC2, RC4 or single
	 * DES, which OpenSSL 3 keeps in its legacy provider */
	return nid == NID_pbe_WithSHA1And40BitRC2_CBC || nid == NID_pbe_WithSHA1And128BitRC2_CBC ||
	       nid == NID_pbe_WithSHA1And40BitRC4 || nid == NID_pbe_WithSHA1And128BitRC4 ||
	       nid == NID_pbeWithMD5AndDES_CBC || nid == NID_pbeWithSHA1AndDES_CBC ||
	       nid == NID_pbeWithMD5AndRC2_CBC || nid == NID_pbeWithSHA1AndRC2_CBC ||
	       nid == NID_pbeWithMD2AndDES_CBC || nid == NID_pbeWithMD2AndRC2_CBC;
}

static CRYPTO_ONCE legacy_once = CRYPTO_ONCE_STATIC_INIT;
static int legacy_ok;
static OSSL_PROVIDER *prov_default, *prov_legacy;

static void load_legacy(void)
{
	/* Loading any provider explicitly stops the default one from being
	 * loaded implicitly, so load both. */
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	legacy_ok = prov_default != NULL && prov_legacy != NULL;
	/* Released before OpenSSL's own exit cleanup (registered earlier,
	 * atexit runs in reverse order). */
	atexit(mtk_load_cleanup);
	ERR_clear_error();
}

void mtk_load_cleanup(void)
{
	/* OpenSSL 3.0's legacy provider keeps a child library context that is
	 * only released when the provider is unloaded. */
	if (prov_legacy != NULL)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default != NULL)
		OSSL_PROVIDER_unload(prov_default);
	prov_legacy = prov_default = NULL;
}

bool mtk_legacy_provider(void)
{
	return CRYPTO_THREAD_run_once(&legacy_once, load_legacy) && legacy_ok;
}
