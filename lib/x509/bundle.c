/*
 * bundle.c - leaf → intermediates → root → PKCS#8 key from any parts
 * (bundle.h).
 */
#include "mtlskit/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "mtlskit/cert.h"
#include "mtlskit/pem.h"
#include "formats/pkcs8.h"

void mtk_bundle_free(mtk_bundle *b)
{
	if (b == NULL)
		return;
	mtk_chain_free(&b->chain);
	EVP_PKEY_free(b->key);
	memset(b, 0, sizeof(*b));
}

static bool in_set(const mtk_set *set, X509 *x)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->objs[i].cert == x)
			return true;
	return false;
}

mtk_rc mtk_bundle_assemble(const mtk_set *set, const mtk_bundle_opts *opts, mtk_bundle *out,
			   mtk_err *err)
{
	static const mtk_bundle_opts defaults = {0};
	mtk_set view = MTK_SET_INIT; /* shallow: borrows set's objects */
	mtk_bundle b;
	bool alias_found = false;
	mtk_rc rc = MTK_OK;

	if (opts == NULL)
		opts = &defaults;
	memset(&b, 0, sizeof(b));
	/* With --alias, only that key takes part (the certificates all do:
	 * the chain builder picks the one matching the key). */
	view.objs = calloc(set->count + 1, sizeof(*view.objs));
	if (view.objs == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "bundle");
	for (size_t i = 0; i < set->count; i++) {
		const mtk_obj *o = &set->objs[i];
		if (opts->alias != NULL && o->kind == MTK_OBJ_KEY) {
			if (o->alias == NULL || strcmp(o->alias, opts->alias) != 0)
				continue;
			alias_found = true;
		}
		view.objs[view.count++] = *o;
	}
	view.cap = set->count + 1;
	if (opts->alias != NULL && !alias_found) {
		rc = mtk_err_set(err, MTK_E_NOT_FOUND, "no private key with the alias '%s' in the input",
				 opts->alias);
		goto out;
	}
	rc = mtk_chain_build(&view, opts->extra_cas, MTK_CHAIN_NO_KEY_OK, &b.chain, err);
	if (rc != MTK_OK)
		goto out;
	/* After a renewal with the same key, old and new certificate both
	 * match it: the leaf is the one that expires last; the others leave
	 * the view and the chain is built again. */
	if (b.chain.key != NULL) {
		X509 *best = b.chain.leaf;
		size_t nmatch = 0, k = 0;
		for (size_t i = 0; i < view.count; i++) {
			X509 *c = view.objs[i].cert;
			if (view.objs[i].kind != MTK_OBJ_CERT || c == NULL || !mtk_key_matches_cert(b.chain.key, c))
				continue;
			nmatch++;
			if (ASN1_TIME_compare(X509_get0_notAfter(c), X509_get0_notAfter(best)) > 0)
				best = c;
		}
		if (nmatch > 1) {
			for (size_t i = 0; i < view.count; i++) {
				X509 *c = view.objs[i].cert;
				if (view.objs[i].kind == MTK_OBJ_CERT && c != NULL && c != best &&
				    mtk_key_matches_cert(b.chain.key, c)) {
					b.dropped++;
					continue;
				}
				view.objs[k++] = view.objs[i];
			}
			view.count = k;
			mtk_chain_free(&b.chain);
			rc = mtk_chain_build(&view, opts->extra_cas, MTK_CHAIN_NO_KEY_OK, &b.chain, err);
			if (rc != MTK_OK)
				goto out;
		}
	}
	for (size_t i = 0; i < view.count; i++)
		if (view.objs[i].kind == MTK_OBJ_KEY && view.objs[i].key != b.chain.key && b.chain.key != NULL)
			b.dropped_keys++;
	if (b.chain.key != NULL) {
		b.key = b.chain.key;
	} else {
		/* A key that matches nothing still goes in: the check on the
		 * result names it (key-mismatch) instead of a silent drop. */
		for (size_t i = 0; i < view.count && b.key == NULL; i++) {
			if (view.objs[i].kind == MTK_OBJ_KEY && view.objs[i].key != NULL)
				b.key = view.objs[i].key;
		}
	}
	if (b.key != NULL && !EVP_PKEY_up_ref(b.key)) {
		b.key = NULL;
		rc = mtk_err_set(err, MTK_E_NOMEM, "bundle");
		goto out;
	}
	/* The chain's borrowed pointers went into the view, which is freed
	 * below: point them into set instead (same objects, by identity). */
	b.chain.key_obj = NULL;
	b.chain.leaf_obj = NULL;
	for (size_t i = 0; i < set->count; i++) {
		if (set->objs[i].kind == MTK_OBJ_KEY && b.chain.key != NULL && set->objs[i].key == b.chain.key)
			b.chain.key_obj = &set->objs[i];
		if (set->objs[i].kind == MTK_OBJ_CERT && b.chain.leaf_obj == NULL &&
		    set->objs[i].cert == b.chain.leaf)
			b.chain.leaf_obj = &set->objs[i];
	}
	/* key_obj points into set, not the view: find it by identity. */
	for (size_t i = 0; b.key != NULL && i < set->count && b.key_obj == NULL; i++)
		if (set->objs[i].kind == MTK_OBJ_KEY && set->objs[i].key == b.key)
			b.key_obj = &set->objs[i];
	for (int i = 0; i < sk_X509_num(b.chain.cas); i++)
		if (!in_set(set, sk_X509_value(b.chain.cas, i)))
			b.from_extra++;
	for (int i = 0; i < sk_X509_num(b.chain.unused); i++) {
		X509 *u = sk_X509_value(b.chain.unused, i);
		bool dup = X509_cmp(u, b.chain.leaf) == 0;
		for (int k = 0; k < sk_X509_num(b.chain.cas) && !dup; k++)
			dup = X509_cmp(u, sk_X509_value(b.chain.cas, k)) == 0;
		if (!dup)
			b.dropped++;
	}
	*out = b;
	memset(&b, 0, sizeof(b));
out:
	mtk_bundle_free(&b);
	free(view.objs);
	return rc;
}

static mtk_rc cert_pem(X509 *x, mtk_buf *out, mtk_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	mtk_rc rc;

	if (n <= 0)
		return mtk_err_set(err, MTK_E_CRYPTO, "certificate encoding");
	rc = mtk_pem_encode(out, "CERTIFICATE", der, (size_t)n);
	OPENSSL_free(der);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "bundle");
	return MTK_OK;
}

mtk_rc mtk_key_pkcs8_pem(EVP_PKEY *key, mtk_buf *out, mtk_err *err)
{
	mtk_buf der = MTK_BUF_SECRET_INIT;
	mtk_rc rc = mtk_key_p8_der(key, &der);

	if (rc == MTK_E_CRYPTO)
		return mtk_err_set(err, MTK_E_KEY, "the private key cannot be written as PKCS#8");
	if (rc == MTK_OK)
		rc = mtk_pem_encode(out, "PRIVATE KEY", der.data, der.len);
	mtk_buf_free(&der);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "bundle");
	return MTK_OK;
}

mtk_rc mtk_bundle_encode(const mtk_bundle *b, unsigned parts, mtk_buf *out, mtk_err *err)
{
	bool key = (parts & MTK_BUNDLE_KEY) && b->key != NULL;
	bool key_early = key && (parts & MTK_BUNDLE_KEY_AFTER_LEAF) && (parts & MTK_BUNDLE_LEAF);
	mtk_rc rc = MTK_OK;

	if ((parts & MTK_BUNDLE_LEAF) && (rc = cert_pem(b->chain.leaf, out, err)) != MTK_OK)
		return rc;
	if (key_early && (rc = mtk_key_pkcs8_pem(b->key, out, err)) != MTK_OK)
		return rc;
	for (int i = 0; (parts & MTK_BUNDLE_CAS) && i < sk_X509_num(b->chain.cas); i++)
		if ((rc = cert_pem(sk_X509_value(b->chain.cas, i), out, err)) != MTK_OK)
			return rc;
	if (key && !key_early && (rc = mtk_key_pkcs8_pem(b->key, out, err)) != MTK_OK)
		return rc;
	return MTK_OK;
}

mtk_rc mtk_set_certs(const mtk_set *set, STACK_OF(X509) **out, mtk_err *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (sk == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "certificates");
	for (size_t i = 0; i < set->count; i++) {
		X509 *x = set->objs[i].cert;
		if (set->objs[i].kind != MTK_OBJ_CERT || x == NULL)
			continue;
		if (!X509_up_ref(x)) {
			sk_X509_pop_free(sk, X509_free);
			return mtk_err_set(err, MTK_E_NOMEM, "certificates");
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			sk_X509_pop_free(sk, X509_free);
			return mtk_err_set(err, MTK_E_NOMEM, "certificates");
		}
	}
	*out = sk;
	return MTK_OK;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

mtk_rc mtk_load_dir(mtk_set *set, const char *dir, const mtk_load_opts *opts, size_t *skipped,
		    mtk_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, skip = 0;
	mtk_rc rc = MTK_OK;

	if (d == NULL)
		return mtk_err_set(err, errno == ENOENT ? MTK_E_NOENT : errno == ENOTDIR ? MTK_E_INVALID_ARG : MTK_E_PERM,
				   "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **p = realloc(names, nc * sizeof(*p));
			if (p == NULL) {
				rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
				goto out;
			}
			names = p;
			cap = nc;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
			goto out;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && rc == MTK_OK; i++) {
		char path[4096];
		struct stat st;
		mtk_err e = {0};
		mtk_rc r;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			skip++;
			continue;
		}
		r = mtk_load_file(set, path, opts, NULL, NULL, &e);
		if (r == MTK_E_NOMEM)
			rc = mtk_err_set(err, r, "%s", path);
		else if (r != MTK_OK)
			skip++;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	if (rc == MTK_OK && skipped != NULL)
		*skipped = skip;
	return rc;
}
