/*
 * chain.h - from a heap of certificates and keys to leaf → intermediates →
 * root.
 *
 * mtk_chain_build() picks the leaf (the certificate whose public key matches
 * a private key in the set; with no key, the certificate that issues no other
 * one), then follows issuers by name and signature through the set and the
 * optional extra CA certificates, up to a self-signed root.  It records
 * whether the input was already in that order, and what did not fit.
 * It reports structure only; diagnosis (findings) is check.h's job.
 */
#ifndef MTLSKIT_CHAIN_H
#define MTLSKIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "mtlskit/err.h"
#include "mtlskit/load.h"

typedef struct mtk_chain {
	EVP_PKEY *key;             /* the private key matching leaf; owned ref; NULL if none */
	const mtk_obj *key_obj;    /* borrowed from the set */
	X509 *leaf;                /* owned ref */
	const mtk_obj *leaf_obj;   /* borrowed from the set; NULL if leaf came from extra */
	STACK_OF(X509) *cas;       /* owned: leaf's issuer first, then up; root last if found */
	bool complete;             /* ends in a self-signed certificate */
	bool key_matches;          /* a private key in the set matches the leaf */
	size_t nkeys;              /* private keys seen in the set */
	size_t nkeys_matching;     /* of those, how many match some certificate (> 1: ambiguous) */
	bool broken;               /* an issuer was found by name but its signature fails */
	bool input_order_ok;       /* the set's certificates appeared leaf → root */
	bool loop;                 /* an issuer cycle was cut */
	STACK_OF(X509) *unused;    /* owned: certificates of the set not in the chain */
} mtk_chain;

enum {
	MTK_CHAIN_NO_KEY_OK = 1u << 0, /* choose the leaf without a key (no key is not an error) */
};

/* Builds the chain.  extra (may be NULL, borrowed) adds CA certificates, e.g.
 * from --ca.  Errors: MTK_E_NOT_FOUND when the set holds no certificate.  A
 * key that matches no certificate is not an error: key_matches is false. */
MTK_WUR mtk_rc mtk_chain_build(const mtk_set *set, STACK_OF(X509) *extra, unsigned flags,
			       mtk_chain *out, mtk_err *err);
void mtk_chain_free(mtk_chain *c);

/* Pushes x onto sk with a new reference; 0 on failure (x untouched). */
int mtk_sk_x509_push_ref(STACK_OF(X509) *sk, X509 *x);

/* True when issuer's name is cert's issuer name and issuer's key verifies
 * cert's signature. */
bool mtk_cert_issued_by(X509 *cert, X509 *issuer);

#endif
