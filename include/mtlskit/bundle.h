/*
 * bundle.h - the MID Server PEM bundle (and its variants) assembled from
 * parts in any order and format: the leaf (the certificate matching the
 * key), its intermediates in signature order, the root, and the key as
 * unencrypted PKCS#8, written LF-only with no blank lines.
 *
 * Assembly never judges: a missing root or a key that matches nothing still
 * assembles (what is there, in the right order); mtk_check_set() on the
 * result says what is wrong.  Only "nothing to assemble" is an error.
 */
#ifndef MTLSKIT_BUNDLE_H
#define MTLSKIT_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/chain.h"
#include "mtlskit/err.h"
#include "mtlskit/load.h"

typedef struct mtk_bundle_opts {
	STACK_OF(X509) *extra_cas; /* --ca / --ca-dir: completes the chain; borrowed; may be NULL */
	const char *alias;         /* use only the key with this alias (PFX friendlyName,
	                              keystore alias); may be NULL */
} mtk_bundle_opts;

typedef struct mtk_bundle {
	mtk_chain chain;           /* leaf, cas (leaf's issuer first, root last), key */
	EVP_PKEY *key;             /* owned ref: chain.key, or the only key when it matches
	                              nothing (check then reports key-mismatch); may be NULL */
	const mtk_obj *key_obj;    /* borrowed from the set; NULL when key is NULL */
	size_t dropped;            /* certificates of the input left out (not in the chain, or an
	                              older certificate of the same key) */
	size_t dropped_keys;       /* private keys left out (they match no certificate) */
	size_t from_extra;         /* chain certificates taken from extra_cas */
} mtk_bundle;

/* Which blocks mtk_bundle_encode writes. */
enum {
	MTK_BUNDLE_LEAF = 1u << 0,
	MTK_BUNDLE_CAS = 1u << 1,
	MTK_BUNDLE_KEY = 1u << 2,
	MTK_BUNDLE_ALL = MTK_BUNDLE_LEAF | MTK_BUNDLE_CAS | MTK_BUNDLE_KEY,
	/* The variant order: leaf, key, intermediates, root. */
	MTK_BUNDLE_KEY_AFTER_LEAF = 1u << 3,
};

/* Assembles from set.  When several certificates match the key (a renewal
 * with the same key), the leaf is the one with the latest notAfter.  Errors: MTK_E_NOT_FOUND when the set holds no
 * certificate, or no key has opts->alias.  out is written only on success;
 * release it with mtk_bundle_free. */
MTK_WUR mtk_rc mtk_bundle_assemble(const mtk_set *set, const mtk_bundle_opts *opts, mtk_bundle *out,
				   mtk_err *err);
void mtk_bundle_free(mtk_bundle *b);

/* Appends the PEM text of the selected parts to out (LF line endings, 64
 * columns, no blank lines; the key as "PRIVATE KEY").  out should be a
 * secret buffer when MTK_BUNDLE_KEY is set. */
MTK_WUR mtk_rc mtk_bundle_encode(const mtk_bundle *b, unsigned parts, mtk_buf *out, mtk_err *err);

/* The key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), appended to out. */
MTK_WUR mtk_rc mtk_key_pkcs8_pem(EVP_PKEY *key, mtk_buf *out, mtk_err *err);

/* Every certificate of set, as new references (caller frees with
 * sk_X509_pop_free(..., X509_free)). */
MTK_WUR mtk_rc mtk_set_certs(const mtk_set *set, STACK_OF(X509) **out, mtk_err *err);

/* Loads every regular file of dir that reads as certificates (--ca-dir);
 * files that do not are skipped and counted in *skipped (may be NULL).
 * Errors: MTK_E_NOENT / MTK_E_PERM for the directory itself. */
MTK_WUR mtk_rc mtk_load_dir(mtk_set *set, const char *dir, const mtk_load_opts *opts, size_t *skipped,
			    mtk_err *err);

#endif
