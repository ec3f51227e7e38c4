/*
 * chain.c - leaf → intermediates → root from certificates in any order
 * (chain.h).
 */
#include "mtlskit/chain.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mtlskit/cert.h"

/*
 * Signature checks are remembered on the certificate (OpenSSL ex_data):
 * building a chain, checking it and summarising it ask the same questions
 * several times (eight RSA verifications for a chain of three in `mid
 * install`), and the answer depends only on the certificate and the
 * issuer's SubjectPublicKeyInfo, which is the memo's key.  Certificates are
 * never modified after parsing, so an answer never goes stale.
 */
#define VERIFY_MEMO 4

typedef struct {
	size_t n, next;
	struct {
		unsigned char *spki;
		int len;
		bool ok;
	} e[VERIFY_MEMO];
} verify_memo;

static int memo_index = -1;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

static void memo_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	verify_memo *m = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		OPENSSL_free(m->e[i].spki);
	OPENSSL_free(m);
}

/* A duplicated certificate starts with an empty memo (OpenSSL would copy
 * the pointer otherwise, and free it twice). */
static int memo_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl,
		    void *argp)
{
	(void)to, (void)from, (void)idx, (void)argl, (void)argp;
	*from_d = NULL;
	return 1;
}

static void memo_init(void)
{
	memo_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509, 0, NULL, NULL, memo_dup, memo_free);
}

/* 1 or 0 when remembered, -1 when not. */
static int memo_get(X509 *cert, const unsigned char *spki, int len)
{
	verify_memo *m;
	int r = -1;

	pthread_mutex_lock(&memo_lock);
	if ((m = X509_get_ex_data(cert, memo_index)) != NULL)
		for (size_t i = 0; i < m->n && r < 0; i++)
			if (m->e[i].len == len && memcmp(m->e[i].spki, spki, (size_t)len) == 0)
				r = m->e[i].ok;
	pthread_mutex_unlock(&memo_lock);
	return r;
}

/* Takes spki (OPENSSL_malloc'd) when it returns true. */
static bool memo_put(X509 *cert, unsigned char *spki, int len, bool ok)
{
	verify_memo *m;
	bool taken = false;

	pthread_mutex_lock(&memo_lock);
	m = X509_get_ex_data(cert, memo_index);
	if (m == NULL && (m = OPENSSL_zalloc(sizeof(*m))) != NULL &&
	    X509_set_ex_data(cert, memo_index, m) != 1) {
		OPENSSL_free(m);
		m = NULL;
	}
	if (m != NULL) {
		size_t i;

		if (m->n < VERIFY_MEMO) {
			i = m->n++;
		} else { /* full: replace the oldest */
			i = m->next;
			m->next = (m->next + 1) % VERIFY_MEMO;
			OPENSSL_free(m->e[i].spki);
		}
		m->e[i].spki = spki;
		m->e[i].len = len;
		m->e[i].ok = ok;
		taken = true;
	}
	pthread_mutex_unlock(&memo_lock);
	return taken;
}

bool mtk_cert_issued_by(X509 *cert, X509 *issuer)
{
	unsigned char *spki = NULL;
	EVP_PKEY *pk;
	int len, known;
	bool r;

	if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
		return false;
	if (pthread_once(&memo_once, memo_init) != 0 || memo_index < 0 ||
	    (len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki)) <= 0)
		len = 0;
	if (len > 0 && (known = memo_get(cert, spki, len)) >= 0) {
		OPENSSL_free(spki);
		return known == 1;
	}
	pk = X509_get0_pubkey(issuer);
	r = pk != NULL && X509_verify(cert, pk) == 1;
	ERR_clear_error();
	if (len > 0 && !memo_put(cert, spki, len, r))
		OPENSSL_free(spki);
	return r;
}

static bool name_issues(X509 *cert, X509 *issuer)
{
	return X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0;
}

static bool self_signed(X509 *c)
{
	return mtk_cert_issued_by(c, c);
}

void mtk_chain_free(mtk_chain *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(c->key);
	X509_free(c->leaf);
	sk_X509_pop_free(c->cas, X509_free);
	sk_X509_pop_free(c->unused, X509_free);
	memset(c, 0, sizeof(*c));
}

int mtk_sk_x509_push_ref(STACK_OF(X509) *sk, X509 *x)
{
	if (!X509_up_ref(x))
		return 0;
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return 0;
	}
	return 1;
}

mtk_rc mtk_chain_build(const mtk_set *set, STACK_OF(X509) *extra, unsigned flags, mtk_chain *out,
		       mtk_err *err)
{
	mtk_chain c;
	const mtk_obj **certs = NULL;
	bool *used = NULL;
	size_t ncerts = 0, leaf_i = (size_t)-1;
	long *pos = NULL; /* set position of each chain element (-1 for extra) */
	size_t npos = 0;
	X509 *cur;
	mtk_rc rc = MTK_OK;

	(void)flags;
	memset(&c, 0, sizeof(c));
	certs = calloc(set->count + 1, sizeof(*certs));
	used = calloc(set->count + 1, sizeof(*used));
	pos = calloc(set->count + 2 + (extra ? (size_t)sk_X509_num(extra) : 0), sizeof(*pos));
	c.cas = sk_X509_new_null();
	c.unused = sk_X509_new_null();
	if (certs == NULL || used == NULL || pos == NULL || c.cas == NULL || c.unused == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
		goto out;
	}
	for (size_t i = 0; i < set->count; i++) {
		const mtk_obj *o = &set->objs[i];
		if (o->kind == MTK_OBJ_CERT && o->cert != NULL) {
			/* The same certificate given twice (a chain file and a
			 * bundle) is one certificate, not an unrelated one. */
			bool dup = false;
			for (size_t k = 0; k < ncerts && !dup; k++)
				dup = X509_cmp(certs[k]->cert, o->cert) == 0;
			if (!dup)
				certs[ncerts++] = o;
		}
		if (o->kind == MTK_OBJ_KEY)
			c.nkeys++;
	}
	if (ncerts == 0) {
		rc = mtk_err_set(err, MTK_E_NOT_FOUND, "no certificate in the input");
		goto out;
	}
	for (size_t i = 0; i < set->count; i++) {
		const mtk_obj *k = &set->objs[i];
		for (size_t j = 0; k->kind == MTK_OBJ_KEY && k->key != NULL && j < ncerts; j++) {
			if (mtk_key_matches_cert(k->key, certs[j]->cert)) {
				c.nkeys_matching++;
				break;
			}
		}
	}
	/* The leaf: a certificate the first matching private key belongs to;
	 * after a renewal with the same key, the one that expires last. */
	for (size_t i = 0; i < set->count && leaf_i == (size_t)-1; i++) {
		const mtk_obj *k = &set->objs[i];
		if (k->kind != MTK_OBJ_KEY || k->key == NULL)
			continue;
		for (size_t j = 0; j < ncerts; j++) {
			if (!mtk_key_matches_cert(k->key, certs[j]->cert))
				continue;
			if (leaf_i == (size_t)-1 ||
			    ASN1_TIME_compare(X509_get0_notAfter(certs[j]->cert),
					      X509_get0_notAfter(certs[leaf_i]->cert)) > 0)
				leaf_i = j;
			c.key_obj = k;
			c.key_matches = true;
		}
	}
	/* Otherwise the certificate that issues no other one, preferring a
	 * non-CA, and the earliest in the input. */
	if (leaf_i == (size_t)-1) {
		size_t best = (size_t)-1;
		int best_score = -1;
		for (size_t j = 0; j < ncerts; j++) {
			bool issues = false;
			int score;
			for (size_t k = 0; k < ncerts && !issues; k++)
				if (k != j && name_issues(certs[k]->cert, certs[j]->cert) &&
				    !self_signed(certs[k]->cert))
					issues = true;
			score = (issues ? 0 : 2) + ((X509_get_extension_flags(certs[j]->cert) & EXFLAG_CA) ? 0 : 1);
			if (score > best_score) {
				best_score = score;
				best = j;
			}
		}
		leaf_i = best;
	}
	c.leaf_obj = certs[leaf_i];
	c.leaf = certs[leaf_i]->cert;
	if (!X509_up_ref(c.leaf)) {
		c.leaf = NULL;
		rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
		goto out;
	}
	if (c.key_obj != NULL) {
		c.key = c.key_obj->key;
		if (!EVP_PKEY_up_ref(c.key)) {
			c.key = NULL;
			rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
			goto out;
		}
	}
	used[leaf_i] = true;
	pos[npos++] = (long)leaf_i;
	cur = c.leaf;
	for (;;) {
		X509 *next = NULL;
		long next_pos = -1;

		if (self_signed(cur)) {
			c.complete = true;
			break;
		}
		for (size_t j = 0; j < ncerts; j++) {
			if (mtk_cert_issued_by(cur, certs[j]->cert)) {
				if (used[j]) {
					c.loop = true;
					break;
				}
				next = certs[j]->cert;
				next_pos = (long)j;
				used[j] = true;
				break;
			}
		}
		if (next == NULL && !c.loop && extra != NULL) {
			for (int j = 0; j < sk_X509_num(extra); j++) {
				X509 *x = sk_X509_value(extra, j);
				bool dup = X509_cmp(x, cur) == 0;
				for (int k = 0; k < sk_X509_num(c.cas) && !dup; k++)
					dup = X509_cmp(x, sk_X509_value(c.cas, k)) == 0;
				if (!dup && mtk_cert_issued_by(cur, x)) {
					next = x;
					break;
				}
			}
		}
		if (next == NULL) {
			/* Named but not verified by any candidate: a broken link. */
			for (size_t j = 0; j < ncerts && !c.loop; j++)
				if (!used[j] && name_issues(cur, certs[j]->cert))
					c.broken = true;
			for (int j = 0; extra && j < sk_X509_num(extra); j++)
				if (name_issues(cur, sk_X509_value(extra, j)) &&
				    X509_cmp(cur, sk_X509_value(extra, j)) != 0 &&
				    !mtk_cert_issued_by(cur, sk_X509_value(extra, j)))
					c.broken = true;
			break;
		}
		if (!mtk_sk_x509_push_ref(c.cas, next)) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
			goto out;
		}
		pos[npos++] = next_pos;
		cur = next;
		if (sk_X509_num(c.cas) > 64) {
			c.loop = true;
			break;
		}
	}
	/* Was the input already leaf → root?  Only certificates from the set
	 * count; ones supplied from extra have no position. */
	c.input_order_ok = true;
	{
		long last = -1;
		for (size_t k = 0; k < npos; k++) {
			if (pos[k] < 0)
				continue;
			if (pos[k] < last)
				c.input_order_ok = false;
			last = pos[k];
		}
	}
	for (size_t j = 0; j < ncerts; j++) {
		if (!used[j] && !mtk_sk_x509_push_ref(c.unused, certs[j]->cert)) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
			goto out;
		}
	}
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	mtk_chain_free(&c);
	free(certs);
	free(used);
	free(pos);
	return rc;
}
