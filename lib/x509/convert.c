/*
 * convert.c - choosing the key and its chain among the inputs, and encoding
 * keys and certificates (convert.h).
 */
#include "mtlskit/convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/pem.h"
#include "formats/pkcs8.h"

static const struct {
	mtk_conv_target t;
	const char *name;
} target_names[] = {
    {MTK_CONV_PEM, "pem"},	 {MTK_CONV_DER, "der"},	    {MTK_CONV_PKCS8, "pkcs8"},
    {MTK_CONV_PKCS12, "pkcs12"}, {MTK_CONV_PKCS12, "p12"},  {MTK_CONV_PKCS12, "pfx"},
    {MTK_CONV_JKS, "jks"},	 {MTK_CONV_JCEKS, "jceks"},
};

const char *mtk_conv_target_name(mtk_conv_target t)
{
	for (size_t i = 0; i < sizeof(target_names) / sizeof(target_names[0]); i++)
		if (target_names[i].t == t)
			return target_names[i].name;
	return "unknown";
}

mtk_rc mtk_conv_target_from_name(const char *name, mtk_conv_target *out)
{
	for (size_t i = 0; name != NULL && i < sizeof(target_names) / sizeof(target_names[0]);
	     i++) {
		if (strcasecmp(name, target_names[i].name) == 0) {
			*out = target_names[i].t;
			return MTK_OK;
		}
	}
	return MTK_E_INVALID_ARG;
}

void mtk_conv_sel_free(mtk_conv_sel *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	X509_free(s->leaf);
	sk_X509_pop_free(s->chain, X509_free);
	sk_X509_pop_free(s->unrelated, X509_free);
	memset(s, 0, sizeof(*s));
}


STACK_OF(X509) * mtk_conv_sel_certs(const mtk_conv_sel *sel)
{
	STACK_OF(X509) *all = sk_X509_new_null();
	bool ok = all != NULL;

	if (ok && sel->leaf != NULL)
		ok = mtk_sk_x509_push_ref(all, sel->leaf);
	for (int i = 0; ok && sel->chain && i < sk_X509_num(sel->chain); i++)
		ok = mtk_sk_x509_push_ref(all, sk_X509_value(sel->chain, i));
	for (int i = 0; ok && sel->unrelated && i < sk_X509_num(sel->unrelated); i++)
		ok = mtk_sk_x509_push_ref(all, sk_X509_value(sel->unrelated, i));
	if (!ok) {
		sk_X509_pop_free(all, X509_free);
		return NULL;
	}
	return all;
}

static bool key_matches_any(EVP_PKEY *key, const mtk_obj *const *certs, size_t nc)
{
	for (size_t i = 0; i < nc; i++)
		if (mtk_key_matches_cert(key, certs[i]->cert))
			return true;
	return false;
}

/* "a, b, c" of the keys' aliases (or their source) into out. */
static void key_names(const mtk_obj *const *keys, size_t nk, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nk && used + 1 < cap; i++) {
		int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "",
				 keys[i]->alias ? keys[i]->alias : "(no alias)");
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

static mtk_rc finding_key_missing(mtk_findings *fs, const char *file, size_t ncerts)
{
	return mtk_findings_add_advice(fs, MTK_F_KEY_MISSING, MTK_SEV_ERROR, file, 0, NULL, NULL,
				"use the private key the certificate was made for; without it: mtlskit key generate --type rsa:2048 -o client.key && mtlskit csr "
				"create --key client.key ... "
				"(for a domain you own; have your CA sign the CSR)",
				"a PFX/keystore needs the private key, and the input holds %zu "
				"certificate%s but no private "
				"key. A certificate alone cannot become a PFX. If these "
				"certificates were saved from a server "
				"(a browser export or openssl s_client -showcerts, e.g. a "
				"ServiceNow instance), that server's "
				"private key is never exportable, so no PFX can be made from them: "
				"create your own key and "
				"have a certificate issued for a domain you own.",
				ncerts, ncerts == 1 ? "" : "s");
}

mtk_rc mtk_conv_select(const mtk_set *set, const char *alias, unsigned flags, mtk_conv_sel *out,
		       mtk_findings *fs, mtk_err *err)
{
	const mtk_obj **keys = NULL, **certs = NULL;
	size_t nk = 0, nc = 0;
	const mtk_obj *chosen = NULL;
	mtk_set tmp = MTK_SET_INIT;
	mtk_conv_sel sel;
	mtk_chain ch;
	const char *first = set->count > 0 ? set->objs[0].source : NULL;
	bool need = (flags & MTK_CONV_NEED_KEY_AND_CERT) != 0;
	char names[256];
	mtk_rc rc = MTK_OK;

	memset(&sel, 0, sizeof(sel));
	memset(&ch, 0, sizeof(ch));
	keys = calloc(set->count + 1, sizeof(*keys));
	certs = calloc(set->count + 1, sizeof(*certs));
	tmp.objs = calloc(set->count + 1, sizeof(*tmp.objs));
	if (keys == NULL || certs == NULL || tmp.objs == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "convert");
		goto out;
	}
	/* Distinct keys and certificates: the same object read from two
	 * inputs (key.pem and the PFX) counts once. */
	for (size_t i = 0; i < set->count; i++) {
		const mtk_obj *o = &set->objs[i];
		bool dup = false;

		if (o->kind == MTK_OBJ_KEY && o->key != NULL) {
			for (size_t j = 0; j < nk && !dup; j++)
				dup = EVP_PKEY_eq(keys[j]->key, o->key) == 1;
			if (!dup)
				keys[nk++] = o;
		} else if (o->kind == MTK_OBJ_CERT && o->cert != NULL) {
			for (size_t j = 0; j < nc && !dup; j++)
				dup = X509_cmp(certs[j]->cert, o->cert) == 0;
			if (!dup)
				certs[nc++] = o;
		}
	}
	ERR_clear_error();
	sel.nkeys = nk;
	sel.ncerts = nc;

	/* Which key. */
	if (nk > 1 && alias != NULL) {
		size_t m = 0;
		key_names(keys, nk, names, sizeof(names));
		for (size_t i = 0; i < nk; i++)
			if (keys[i]->alias != NULL && strcasecmp(keys[i]->alias, alias) == 0)
				keys[m++] = keys[i];
		if (m == 0) {
			rc = mtk_err_set(err, MTK_E_NOT_FOUND,
					 "no private key with alias '%s' (the inputs hold: %s)",
					 alias, names);
			goto out;
		}
		nk = m;
	}
	if (nk == 1) {
		chosen = keys[0];
	} else if (nk > 1) {
		size_t m = 0;
		for (size_t i = 0; i < nk; i++)
			if (key_matches_any(keys[i]->key, certs, nc))
				keys[m++] = keys[i];
		if (m == 1) {
			chosen = keys[0];
		} else {
			key_names(keys, m ? m : nk, names, sizeof(names));
			rc = mtk_err_set(
			    err, MTK_E_USAGE,
			    "the inputs hold %zu private keys%s (%s): pick one with --alias",
			    m ? m : nk,
			    m ? " that each match a certificate" : ", none matching a certificate",
			    names);
			goto out;
		}
	}

	if (need && chosen == NULL) {
		if (nc == 0) {
			rc = mtk_err_set(err, MTK_E_USAGE,
					 "the inputs hold no private key and no certificate");
			goto out;
		}
		if ((rc = finding_key_missing(fs, first, nc)) != MTK_OK) {
			mtk_err_set(err, rc, "convert");
			goto out;
		}
		rc =
		    mtk_err_set(err, MTK_E_FINDINGS, "%s: no private key", first ? first : "input");
		goto out;
	}
	if (need && nc == 0) {
		rc = mtk_err_set(
		    err, MTK_E_USAGE,
		    "%s: a private key but no certificate; give the certificate file too",
		    chosen->source);
		goto out;
	}
	if ((flags & MTK_CONV_KEY_ONLY) && chosen == NULL) {
		rc = mtk_err_set(err, MTK_E_USAGE,
				 "the inputs hold %zu certificate%s but no private key", nc,
				 nc == 1 ? "" : "s");
		goto out;
	}
	if (chosen != NULL && nc > 0 && !key_matches_any(chosen->key, certs, nc)) {
		char desc[64];
		mtk_key_describe(chosen->key, desc, sizeof(desc));
		if ((rc = mtk_findings_add_advice(
			 fs, MTK_F_KEY_MISMATCH, need ? MTK_SEV_ERROR : MTK_SEV_WARNING,
			 chosen->source, chosen->line, chosen->alias, NULL,
			 "find the certificate issued for this key (mtlskit inspect shows which key "
			 "a certificate has), or the key of this certificate",
			 "the private key (%s) matches none of the %zu certificate%s given", desc,
			 nc, nc == 1 ? "" : "s")) != MTK_OK) {
			mtk_err_set(err, rc, "convert");
			goto out;
		}
		if (need) {
			rc = mtk_err_set(err, MTK_E_FINDINGS,
					 "%s: the private key matches no certificate",
					 chosen->source);
			goto out;
		}
	}
	if (chosen != NULL) {
		sel.key = chosen->key;
		sel.key_obj = chosen;
		if (!EVP_PKEY_up_ref(sel.key)) {
			sel.key = NULL;
			rc = mtk_err_set(err, MTK_E_NOMEM, "convert");
			goto out;
		}
	}

	/* Which chain: the lead's builder over the distinct certificates and
	 * the chosen key only (a shallow view: the objects stay the set's). */
	if (nc > 0) {
		for (size_t i = 0; i < nc; i++)
			tmp.objs[tmp.count++] = *certs[i];
		if (chosen != NULL)
			tmp.objs[tmp.count++] = *chosen;
		if ((rc = mtk_chain_build(&tmp, NULL, MTK_CHAIN_NO_KEY_OK, &ch, err)) != MTK_OK)
			goto out;
		sel.leaf = ch.leaf;
		sel.chain = ch.cas;
		sel.unrelated = ch.unused;
		ch.leaf = NULL;
		ch.cas = ch.unused = NULL;
		sel.complete = ch.complete;
		sel.input_order_ok = ch.input_order_ok;
		for (size_t i = 0; i < nc; i++)
			if (X509_cmp(certs[i]->cert, sel.leaf) == 0)
				sel.leaf_obj = certs[i];
	}
	*out = sel;
	memset(&sel, 0, sizeof(sel));
out:
	mtk_chain_free(&ch);
	mtk_conv_sel_free(&sel);
	free(tmp.objs); /* shallow: the objects belong to set */
	free(keys);
	free(certs);
	return rc;
}

mtk_rc mtk_key_to_pkcs8(EVP_PKEY *key, const mtk_secret *pass, bool pem, mtk_buf *out, mtk_err *err)
{
	mtk_buf plain = MTK_BUF_SECRET_INIT;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	unsigned char *der = NULL;
	const uint8_t *bytes;
	size_t len;
	int n = -1;
	mtk_rc rc;

	if (key == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "no private key");
	if (pass != NULL && pass->len > INT32_MAX)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "password too long");
	if ((rc = mtk_key_p8_der(key, &plain)) != MTK_OK) {
		mtk_buf_free(&plain);
		return mtk_err_set(err, rc == MTK_E_NOMEM ? rc : MTK_E_CRYPTO,
				   "cannot encode the private key as PKCS#8");
	}
	bytes = plain.data;
	len = plain.len;
	if (pass != NULL) {
		const unsigned char *p = plain.data;

		if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain.len)) != NULL)
			sig = PKCS8_encrypt_ex(NID_hmacWithSHA256, EVP_aes_256_cbc(), pass->s,
					       (int)pass->len, NULL, 16, MTK_PKCS8_ITER, p8, NULL, NULL);
		if (sig == NULL || (n = i2d_X509_SIG(sig, &der)) <= 0) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "cannot encrypt the private key");
			goto out;
		}
		bytes = der;
		len = (size_t)n;
	}
	if (pem)
		rc = mtk_pem_encode(out, pass ? "ENCRYPTED PRIVATE KEY" : "PRIVATE KEY", bytes, len);
	else
		rc = mtk_buf_append(out, bytes, len);
	if (rc != MTK_OK)
		mtk_err_set(err, rc, "PKCS#8");
out:
	if (der != NULL)
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	mtk_buf_free(&plain);
	return rc;
}

mtk_rc mtk_cert_to_der(X509 *cert, mtk_buf *out, mtk_err *err)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	mtk_rc rc;

	if (len <= 0)
		return mtk_err_set(err, MTK_E_CRYPTO, "cannot encode the certificate");
	rc = mtk_buf_append(out, der, (size_t)len);
	OPENSSL_free(der);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "certificate");
	return MTK_OK;
}

mtk_rc mtk_certs_to_pem(STACK_OF(X509) * certs, mtk_buf *out, mtk_err *err)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(certs, i), &der);
		mtk_rc rc;

		if (len <= 0)
			return mtk_err_set(err, MTK_E_CRYPTO, "cannot encode the certificate");
		rc = mtk_pem_encode(out, "CERTIFICATE", der, (size_t)len);
		OPENSSL_free(der);
		if (rc != MTK_OK)
			return mtk_err_set(err, rc, "certificate");
	}
	return MTK_OK;
}
