/*
 * convert.h - what `mtlskit convert` does between loading (load.h) and
 * writing: choose the private key and its certificate among everything the
 * inputs held, put the certificates in chain order, and encode keys and
 * certificates in the requested form.
 *
 * Output targets are one enum so that every writer hangs off one switch in
 * the verb (PEM, DER, PKCS#8, PKCS#12 here; JKS / JCEKS from keystore.h).
 */
#ifndef MTLSKIT_CONVERT_H
#define MTLSKIT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/findings.h"
#include "mtlskit/load.h"
#include "mtlskit/pass.h"

typedef enum {
	MTK_CONV_PEM = 0,
	MTK_CONV_DER,
	MTK_CONV_PKCS8,
	MTK_CONV_PKCS12,
	MTK_CONV_JKS,
	MTK_CONV_JCEKS,
} mtk_conv_target;

/* "pem", "der", "pkcs8", "pkcs12", "jks", "jceks". */
const char *mtk_conv_target_name(mtk_conv_target t);
/* Parses a target name (also "p12" and "pfx" for pkcs12); MTK_E_INVALID_ARG
 * otherwise. */
MTK_WUR mtk_rc mtk_conv_target_from_name(const char *name, mtk_conv_target *out);

/* What the inputs hold, sorted out.  Every pointer is an owned reference
 * released by mtk_conv_sel_free(). */
typedef struct mtk_conv_sel {
	EVP_PKEY *key;		    /* the chosen private key; NULL if none */
	const mtk_obj *key_obj;	    /* borrowed from the set; NULL if none */
	X509 *leaf;		    /* the key's certificate (or the chain's leaf
				       when there is no key); NULL: no certificate */
	const mtk_obj *leaf_obj;    /* borrowed from the set */
	STACK_OF(X509) * chain;	    /* issuers of leaf, leaf-side first, up to the root */
	STACK_OF(X509) * unrelated; /* certificates outside the chain (duplicates removed) */
	bool complete;		    /* chain ends in a self-signed certificate */
	bool input_order_ok;	    /* the inputs were already leaf → root */
	size_t nkeys;		    /* distinct private keys in the inputs */
	size_t ncerts;		    /* distinct certificates in the inputs */
} mtk_conv_sel;

enum {
	/* A private key and its certificate are required (PFX, keystores,
	 * --split-out): their absence is a finding (key-missing, key-mismatch)
	 * and the call returns MTK_E_FINDINGS. */
	MTK_CONV_NEED_KEY_AND_CERT = 1u << 0,
	/* Only the key is wanted (PKCS#8): certificates are not required. */
	MTK_CONV_KEY_ONLY = 1u << 1,
};

/*
 * Sorts out set.  Several distinct keys: `alias` (case-insensitive match on
 * the PFX friendlyName / keystore alias; may be NULL) picks one; otherwise
 * the single key that matches a certificate is chosen; if more than one
 * matches, MTK_E_USAGE names the aliases to choose from.  The same key
 * read twice (say from key.pem and from a PFX) counts once.
 *
 * Findings (to fs, error severity; file = the key's or the first input's
 * source) with MTK_CONV_NEED_KEY_AND_CERT: key-missing when no private key
 * was given (with the explanation that a server's key is never exportable),
 * key-mismatch when the key matches none of the certificates.  Those return
 * MTK_E_FINDINGS.  Other errors: MTK_E_NOT_FOUND (alias absent), MTK_E_USAGE
 * (ambiguous keys), MTK_E_NOMEM.  *out is written only on success.
 */
MTK_WUR mtk_rc mtk_conv_select(const mtk_set *set, const char *alias, unsigned flags,
			       mtk_conv_sel *out, mtk_findings *fs, mtk_err *err);
void mtk_conv_sel_free(mtk_conv_sel *s);

/* All certificates of sel in output order: leaf, chain, then unrelated.
 * A new stack holding new references; NULL on allocation failure. */
STACK_OF(X509) * mtk_conv_sel_certs(const mtk_conv_sel *sel);

/*
 * The key as PKCS#8, appended to out (use a secret buffer).  pem: "BEGIN
 * PRIVATE KEY" (or "BEGIN ENCRYPTED PRIVATE KEY"), else DER.  pass NULL:
 * unencrypted; else PBES2 with PBKDF2-HMAC-SHA256 (MTK_PKCS8_ITER
 * iterations, 16-byte salt) and AES-256-CBC.
 */
#define MTK_PKCS8_ITER 10000
MTK_WUR mtk_rc mtk_key_to_pkcs8(EVP_PKEY *key, const mtk_secret *pass, bool pem, mtk_buf *out,
				mtk_err *err);

/* Each certificate as a PEM block, appended to out in stack order. */
MTK_WUR mtk_rc mtk_certs_to_pem(STACK_OF(X509) * certs, mtk_buf *out, mtk_err *err);
/* One certificate as DER, appended to out. */
MTK_WUR mtk_rc mtk_cert_to_der(X509 *cert, mtk_buf *out, mtk_err *err);

#endif
