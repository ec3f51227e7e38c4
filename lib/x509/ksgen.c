/*
 * ksgen.c - what keytool does besides storing: -genkeypair (key and a
 * self-signed certificate), -certreq (PKCS#10 from a key entry) and
 * -importcert of a CA reply onto a key entry.  Keystore edits that make or
 * chain certificates, so they sit in the x509 layer, above the keystore
 * model they edit (lib/keystore never includes x509).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/csr.h"
#include "keystore/ks_int.h"

mtk_rc mtk_ks_genkey(const char *keyalg, int keysize, EVP_PKEY **out, mtk_err *err)
{
	EVP_PKEY *k = NULL;

	if (strcasecmp(keyalg, "RSA") == 0) {
		if (keysize == 0)
			keysize = 2048;
		if (keysize < 1024 || keysize > 16384)
			return mtk_err_set(err, MTK_E_INVALID_ARG,
					   "RSA key size %d is out of range", keysize);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)keysize);
	} else if (strcasecmp(keyalg, "EC") == 0) {
		const char *curve = keysize == 0 || keysize == 256 ? "P-256"
				    : keysize == 384		   ? "P-384"
				    : keysize == 521		   ? "P-521"
								   : NULL;
		if (curve == NULL)
			return mtk_err_set(err, MTK_E_INVALID_ARG,
					   "EC key size %d: use 256, 384 or 521", keysize);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	} else {
		return mtk_err_set(err, MTK_E_INVALID_ARG, "key algorithm %s: use RSA or EC",
				   keyalg);
	}
	if (k == NULL)
		return mtk_err_set(err, MTK_E_CRYPTO, "key generation");
	*out = k;
	return MTK_OK;
}

/* keytool's -dname ("CN=a, OU=b, O=c", most specific first) or the
 * "/CN=a/O=c" form: csr.h's one subject parser, then an X509_NAME with
 * UTF8String values (PrintableString for C), as keytool writes it. */
mtk_rc mtk_ks_parse_dname(const char *dname, X509_NAME **out, mtk_err *err)
{
	mtk_subject subj = MTK_SUBJECT_INIT;
	X509_NAME *nm = NULL;
	mtk_rc rc;

	if ((rc = mtk_subject_parse(&subj, dname, strlen(dname), err)) != MTK_OK)
		goto out;
	if ((nm = X509_NAME_new()) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "dname");
		goto out;
	}
	for (size_t i = 0; i < subj.count; i++) {
		const char *k = mtk_subj_field_name(subj.items[i].field);
		const char *v = subj.items[i].value;

		if (*v == '\0' || !X509_NAME_add_entry_by_txt(nm, k, MBSTRING_UTF8,
							      (const unsigned char *)v, -1, -1, 0)) {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG, "dname: bad attribute %s=%s", k, v);
			goto out;
		}
	}
	*out = nm;
	nm = NULL;
out:
	X509_NAME_free(nm);
	mtk_subject_free(&subj);
	return rc;
}

static const EVP_MD *sig_md(EVP_PKEY *key)
{
	/* keytool 17: SHA256withRSA, SHA256withECDSA (SHA384 / SHA512 for the
	 * bigger curves). */
	if (EVP_PKEY_is_a(key, "EC")) {
		int bits = EVP_PKEY_get_bits(key);
		return bits > 384 ? EVP_sha512() : bits > 256 ? EVP_sha384() : EVP_sha256();
	}
	return EVP_sha256();
}

static bool add_skid(X509 *x)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	ok = ext != NULL && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

mtk_rc mtk_ks_selfsign(EVP_PKEY *key, const char *dname, long days, time_t now, X509 **out,
		       mtk_err *err)
{
	X509 *x = X509_new();
	X509_NAME *nm = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	mtk_rc rc;

	if (x == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "certificate");
	if ((rc = mtk_ks_parse_dname(dname, &nm, err)) != MTK_OK)
		goto out;
	rc = MTK_E_CRYPTO;
	/* keytool draws a random positive 64-bit serial. */
	bn = BN_new();
	if (bn == NULL || !BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto fail;
	if (!X509_set_version(x, 2) || !X509_set_serialNumber(x, serial) ||
	    !X509_set_subject_name(x, nm) || !X509_set_issuer_name(x, nm) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) == NULL ||
	    !X509_set_pubkey(x, key) || !add_skid(x) || X509_sign(x, key, sig_md(key)) <= 0)
		goto fail;
	*out = x;
	x = NULL;
	rc = MTK_OK;
	goto out;
fail:
	rc = mtk_err_set(err, MTK_E_CRYPTO, "self-signed certificate");
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(nm);
	X509_free(x);
	return rc;
}

mtk_rc mtk_ks_certreq(EVP_PKEY *key, X509 *leaf, X509_REQ **out, mtk_err *err)
{
	X509_REQ *req = X509_REQ_new();

	if (req == NULL || !X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_subject_name(req, X509_get_subject_name(leaf)) ||
	    !X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, sig_md(key)) <= 0) {
		X509_REQ_free(req);
		return mtk_err_set(err, MTK_E_CRYPTO, "certificate request");
	}
	*out = req;
	return MTK_OK;
}

static bool same_cert(X509 *a, X509 *b)
{
	return X509_cmp(a, b) == 0;
}

static bool self_signed(X509 *x)
{
	return mtk_cert_issued_by(x, x);
}

/* Candidates from the keystore: trusted entries and every key entry's
 * end-entity certificate (what keytool indexes by subject). */
static X509 *find_issuer(const mtk_keystore *ks, X509 *cert)
{
	for (size_t i = 0; i < ks->count; i++) {
		const mtk_ks_entry *e = &ks->entries[i];
		X509 *c;
		if ((e->kind != MTK_KSE_TRUSTED && e->kind != MTK_KSE_KEY) ||
		    sk_X509_num(e->chain) < 1)
			continue;
		c = sk_X509_value(e->chain, 0);
		if (mtk_cert_issued_by(cert, c))
			return c;
	}
	return NULL;
}

/* Extends chain (whose last element is not self-signed) with issuers from
 * the keystore up to a self-signed root. */
static bool extend_from_keystore(const mtk_keystore *ks, STACK_OF(X509) * chain)
{
	for (int guard = 0; guard < 16; guard++) {
		X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1), *up;
		if (self_signed(top))
			return true;
		up = find_issuer(ks, top);
		if (up == NULL)
			return false;
		for (int i = 0; i < sk_X509_num(chain); i++)
			if (same_cert(sk_X509_value(chain, i), up))
				return false; /* a loop */
		if (!sk_X509_push(chain, up))
			return false;
		X509_up_ref(up);
	}
	return false;
}

mtk_rc mtk_keystore_install_reply(mtk_keystore *ks, size_t index, STACK_OF(X509) * reply,
				  bool *top_trusted, mtk_err *err)
{
	mtk_ks_entry *e;
	EVP_PKEY *pub;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL;
	int n = sk_X509_num(reply);
	mtk_rc rc;

	if (index >= ks->count || ks->entries[index].kind != MTK_KSE_KEY)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "not a key entry");
	/* Every chain is looked at (issuers, trusted tops): decode what a lazy
	 * read left as bytes. */
	for (size_t i = 0; i < ks->count; i++)
		if (ks->entries[i].chain == NULL && ks->entries[i].nder > 0 &&
		    mtk_keystore_chain(ks, i, err) == NULL)
			return err != NULL ? err->code : MTK_E_KEYSTORE;
	e = &ks->entries[index];
	if (n < 1)
		return mtk_err_set(err, MTK_E_NOT_FOUND, "the reply holds no certificate");
	if (sk_X509_num(e->chain) < 1)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "alias %s has no certificate", e->alias);
	pub = X509_get0_pubkey(sk_X509_value(e->chain, 0));
	*top_trusted = false;
	for (int i = 0; i < n && leaf == NULL; i++) {
		X509 *c = sk_X509_value(reply, i);
		if (EVP_PKEY_eq(X509_get0_pubkey(c), pub) == 1)
			leaf = c;
	}
	ERR_clear_error();
	if (leaf == NULL)
		return mtk_err_set(err, MTK_E_KEY_MISMATCH,
				   "Public keys in reply and keystore don't match");
	if (n == 1 && same_cert(leaf, sk_X509_value(e->chain, 0)))
		return mtk_err_set(err, MTK_E_KS_REPLY,
				   "Certificate reply and certificate in keystore are identical");
	if ((chain = sk_X509_new_null()) == NULL || !sk_X509_push(chain, leaf)) {
		sk_X509_free(chain);
		return mtk_err_set(err, MTK_E_NOMEM, "chain");
	}
	X509_up_ref(leaf);
	/* Reorder the reply: from the leaf, each next link by issuer. */
	for (int used = 1; used < n; used++) {
		X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1), *next = NULL;
		if (self_signed(top))
			break;
		for (int i = 0; i < n && next == NULL; i++) {
			X509 *c = sk_X509_value(reply, i);
			bool in = false;
			for (int j = 0; j < sk_X509_num(chain); j++)
				in = in || same_cert(sk_X509_value(chain, j), c);
			if (!in && mtk_cert_issued_by(top, c))
				next = c;
		}
		if (next == NULL) {
			rc = mtk_err_set(err, MTK_E_KS_REPLY,
					 "Incomplete certificate chain in reply");
			goto fail;
		}
		if (!sk_X509_push(chain, next)) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
			goto fail;
		}
		X509_up_ref(next);
	}
	if (sk_X509_num(chain) < n && n > 1) {
		rc = mtk_err_set(err, MTK_E_KS_REPLY, "Incomplete certificate chain in reply");
		goto fail;
	}
	{
		X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
		/* A top that is a trusted entry (or leads to one) is trusted. */
		for (size_t i = 0; i < ks->count; i++)
			if (ks->entries[i].kind == MTK_KSE_TRUSTED &&
			    same_cert(sk_X509_value(ks->entries[i].chain, 0), top))
				*top_trusted = true;
		if (!self_signed(top)) {
			size_t before = (size_t)sk_X509_num(chain);
			if (!extend_from_keystore(ks, chain)) {
				/* Say which issuer is missing, and from where it
				 * was wanted: keytool only says it failed. */
				X509 *last = sk_X509_value(chain, sk_X509_num(chain) - 1);
				char iss[512], sub[512];
				mtk_name_string(X509_get_issuer_name(last), iss, sizeof(iss));
				mtk_name_string(X509_get_subject_name(last), sub, sizeof(sub));
				rc = mtk_err_set(err, MTK_E_KS_REPLY,
						 "Failed to establish chain from reply: the issuer '%s' of '%s' "
						 "is neither in the reply nor a trusted entry of the keystore "
						 "(add it with keystore add-trusted, or install the reply with its "
						 "chain)",
						 iss, sub);
				goto fail;
			}
			if ((size_t)sk_X509_num(chain) > before)
				*top_trusted = true;
		}
	}
	sk_X509_pop_free(e->chain, X509_free);
	e->chain = chain;
	return MTK_OK;
fail:
	sk_X509_pop_free(chain, X509_free);
	return rc;
}
