/* state.c - the reloadable part of the gateway: the server SSL_CTX with its
 * certificates, the client trust (one or more CA chains, CRLs) and the user
 * map.  A new state is built completely before it replaces the old one, so
 * a broken file on SIGHUP leaves the running configuration untouched. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mtlskit/chain.h"
#include "mtlskit/file.h"
#include "mtlskit/load.h"
#include "mtlskit/timeval.h"
#include "mtlskit/tlspolicy.h"

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static gw_state *current;
static int state_idx = -1;  /* SSL_CTX ex_data slot holding the gw_state */
static int reject_idx = -1; /* SSL ex_data slot: the leaf of a refused chain */
static int leaf_idx = -1;   /* SSL ex_data slot: the connection's gw_leaf_md */

static void reject_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	X509_free(ptr);
}

/* Keeps the refused leaf on the SSL, so the connection's log line can name
 * it (OpenSSL keeps no peer certificate when verification fails). */
static void note_reject(SSL *ssl, X509 *leaf)
{
	if (ssl == NULL || leaf == NULL || reject_idx < 0 || SSL_get_ex_data(ssl, reject_idx) != NULL)
		return;
	if (X509_up_ref(leaf) && !SSL_set_ex_data(ssl, reject_idx, leaf))
		X509_free(leaf);
}

X509 *gw_state_rejected_leaf(SSL *ssl)
{
	return reject_idx < 0 ? NULL : SSL_get_ex_data(ssl, reject_idx);
}

bool gw_state_bind_leaf(SSL *ssl, gw_leaf_md *lm)
{
	return leaf_idx >= 0 && SSL_set_ex_data(ssl, leaf_idx, lm) == 1;
}

gw_state *gw_state_ref(gw_state *st)
{
	atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
	return st;
}

void gw_state_unref(gw_state *st)
{
	if (st == NULL || atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) != 1)
		return;
	SSL_CTX_free(st->ctx);
	mtk_usermap_free(st->map);
	free(st->map_not_after);
	free(st->require_role);
	for (size_t i = 0; i < st->n_own; i++)
		free(st->own_subject[i]);
	free(st->own_subject);
	free(st->own_not_after);
	for (size_t i = 0; i < st->n_crls; i++) {
		X509_CRL_free(st->crls[i].crl);
		EVP_PKEY_free(st->crls[i].issuer_key);
		free(st->crls[i].file);
		free(st->crls[i].issuer);
	}
	free(st->crls);
	gw_vcache_free(st->vcache);
	free(st);
}

gw_state *gw_state_current(void)
{
	gw_state *st;

	pthread_mutex_lock(&state_lock);
	st = current ? gw_state_ref(current) : NULL;
	pthread_mutex_unlock(&state_lock);
	return st;
}

void gw_state_install(gw_state *st)
{
	gw_state *old;

	pthread_mutex_lock(&state_lock);
	old = current;
	current = st;
	pthread_mutex_unlock(&state_lock);
	gw_state_unref(old);
}

int64_t gw_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

char *gw_name(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_get_mem_data(b, &data)) >= 0 && (out = malloc((size_t)len + 1)) != NULL) {
		if (len > 0)
			memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(b);
	return out;
}

/* Every certificate of a file (a chain or a bundle), read strictly: a
 * damaged block anywhere fails with FILE:LINE instead of being skipped. */
static mtk_rc read_certs(const char *path, STACK_OF(X509) **out, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	STACK_OF(X509) *sk;
	mtk_rc rc;

	if ((rc = mtk_load_file_strict(&set, path, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, NULL,
				       err)) != MTK_OK)
		return rc;
	if ((sk = sk_X509_new_reserve(NULL, (int)set.count)) == NULL) {
		mtk_set_free(&set);
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	}
	for (size_t i = 0; i < set.count; i++) {
		X509_up_ref(set.objs[i].cert);
		(void)sk_X509_push(sk, set.objs[i].cert); /* reserved: cannot fail */
	}
	mtk_set_free(&set);
	*out = sk;
	return MTK_OK;
}

static const char *env_get(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

/* A server chain or key file: certificates and keys only, every block
 * whole, at least one object of kind want. */
static mtk_rc load_part(mtk_set *set, const char *path, mtk_obj_kind want, const mtk_load_opts *o,
			mtk_err *e)
{
	mtk_rc rc = mtk_load_file_strict(
	    set, path, MTK_OBJ_BIT(MTK_OBJ_KEY) | MTK_OBJ_BIT(MTK_OBJ_CERT), want, o, e);

	if (rc == MTK_E_PASSWORD_NEEDED) { /* the loader's message names a CLI flag */
		mtk_err_clear(e);
		rc = mtk_err_set(e, rc, "%s: encrypted; set key_pass env:VAR or file:PATH", path);
	}
	return rc;
}

/* One server certificate: the chain file and the key file (each may be a
 * PEM bundle, DER, PKCS#8 -- encrypted too -- or a PFX; the same file may be
 * named for both), read through the library loader.  The leaf is the
 * certificate that matches the key; the others follow in file order.  The
 * password is wiped when done, the key freed once the SSL_CTX holds it. */
static mtk_rc load_server_pair(SSL_CTX *ctx, const char *cert_path, const char *key_path,
			       const char *pass_spec, char **subj,
			       int64_t *not_after, mtk_err *err)
{
	const mtk_pass_io io = {env_get, NULL, NULL};
	mtk_secret *pw = NULL;
	mtk_set certs = MTK_SET_INIT, keys = MTK_SET_INIT;
	mtk_load_opts o = {0};
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	X509 *leaf = NULL;
	mtk_err e = {0};
	mtk_rc rc;

	if (pass_spec != NULL &&
	    (rc = mtk_pass_resolve(pass_spec, NULL, &io, &pw, NULL, &e)) != MTK_OK)
		goto out;
	o.pass = pw;
	o.require_decrypt = true;
	if ((rc = load_part(&keys, key_path, MTK_OBJ_KEY, &o, &e)) != MTK_OK)
		goto out;
	for (size_t i = 0; i < keys.count; i++) {
		if (keys.objs[i].kind != MTK_OBJ_KEY)
			continue;
		if (key != NULL) {
			rc = mtk_err_set(&e, MTK_E_MALFORMED,
					 "%s:%ld: a second private key; give one per file",
					 key_path, keys.objs[i].line);
			goto out;
		}
		key = keys.objs[i].key;
	}
	if (strcmp(cert_path, key_path) == 0) {
		certs = keys; /* one file for both (a PFX, or a PEM with key and chain) */
		keys = (mtk_set)MTK_SET_INIT;
	} else if ((rc = load_part(&certs, cert_path, MTK_OBJ_CERT, &o, &e)) != MTK_OK) {
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL) {
		rc = mtk_err_set(&e, MTK_E_NOMEM, "%s", cert_path);
		goto out;
	}
	for (size_t i = 0; i < certs.count; i++) {
		X509 *x = certs.objs[i].cert;

		if (certs.objs[i].kind != MTK_OBJ_CERT)
			continue;
		if (leaf == NULL && X509_check_private_key(x, key) == 1)
			leaf = x;
		else if (!sk_X509_push(chain, x)) {
			rc = mtk_err_set(&e, MTK_E_NOMEM, "%s", cert_path);
			goto out;
		}
	}
	ERR_clear_error(); /* X509_check_private_key's "values mismatch" */
	if (leaf == NULL) {
		rc = mtk_err_set(&e, MTK_E_KEY_MISMATCH, "%s: key does not match %s", key_path,
				 cert_path);
		goto out;
	}
	/* the SSL_CTX takes its own references to leaf, key and chain */
	if (SSL_CTX_use_cert_and_key(ctx, leaf, key, chain, 1) != 1) {
		rc = mtk_err_set(&e, MTK_E_KEY_MISMATCH, "%s: key cannot be used with %s", key_path,
				 cert_path);
		goto out;
	}
	*subj = gw_name(X509_get_subject_name(leaf));
	*not_after = gw_asn1_time(X509_get0_notAfter(leaf));
	rc = MTK_OK;
out:
	sk_X509_free(chain); /* borrowed from the sets */
	mtk_set_free(&certs);
	mtk_set_free(&keys); /* frees (and so wipes) the private key */
	mtk_secret_free(pw);
	if (rc != MTK_OK && err != NULL && err->code == MTK_OK)
		*err = e;
	return rc;
}

/* Revocation of the certificate at the current depth, with the meaning
 * OpenSSL's CRL_CHECK_ALL had here: a CRL of its issuer (the next
 * certificate up the chain; the root's own) must be loaded and current, and
 * must not list its serial.  The CRL's signature was verified at load, so
 * what is left is two time comparisons and a binary search (OpenSSL sorts
 * the entries once, at load, under the CRL's lock). */
static int crl_check(const gw_state *st, X509_STORE_CTX *xs)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	int depth = X509_STORE_CTX_get_error_depth(xs);
	X509 *x = X509_STORE_CTX_get_current_cert(xs);
	X509 *issuer = depth + 1 < sk_X509_num(chain) ? sk_X509_value(chain, depth + 1) : x;
	const X509_NAME *iname = X509_get_subject_name(issuer);
	EVP_PKEY *ikey = X509_get0_pubkey(issuer);
	const gw_crl *best = NULL;
	int64_t now = (int64_t)time(NULL);
	int missing = X509_V_ERR_UNABLE_TO_GET_CRL;
	X509_REVOKED *rev = NULL;

	for (size_t i = 0; i < st->n_crls; i++) {
		const gw_crl *c = &st->crls[i];

		if (X509_NAME_cmp(X509_CRL_get_issuer(c->crl), iname) != 0 || ikey == NULL ||
		    EVP_PKEY_eq(c->issuer_key, ikey) != 1)
			continue;
		if (c->last_update > now) {
			missing = X509_V_ERR_CRL_NOT_YET_VALID;
		} else if (c->next_update != 0 && c->next_update < now) {
			missing = X509_V_ERR_CRL_HAS_EXPIRED;
		} else if (best == NULL || c->last_update > best->last_update) {
			best = c;
		}
	}
	if (best == NULL)
		return missing;
	/* 2 is an entry with reason removeFromCRL (delta CRLs): not revoked */
	if (X509_CRL_get0_by_serial(best->crl, &rev, X509_get0_serialNumber(x)) == 1)
		return X509_V_ERR_CERT_REVOKED;
	return X509_V_OK;
}

/* What verify_cb cannot check per handshake is refused at load: CRL forms
 * whose meaning depends on OpenSSL's scope and delta machinery. */
static const char *crl_unsupported(X509_CRL *crl)
{
	const STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);

	for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

		if (nid == NID_issuing_distribution_point)
			return "an issuingDistributionPoint (a partitioned or indirect CRL)";
		if (nid == NID_delta_crl)
			return "a delta CRL indicator";
		if (X509_EXTENSION_get_critical(e) && nid != NID_crl_number &&
		    nid != NID_authority_key_identifier)
			return "an unknown critical extension";
	}
	for (int i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		const STACK_OF(X509_EXTENSION) *exts =
		    X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revs, i));
		for (int j = 0; j < sk_X509_EXTENSION_num(exts); j++)
			if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, j)))
				return "an entry with a critical extension (certificateIssuer)";
	}
	return NULL;
}

/* Reads one crl file strictly, verifies every CRL's signature with the
 * configured CA that issued it, and appends them to st->crls. */
static mtk_rc load_crls(gw_state *st, const char *path, STACK_OF(X509) *cas, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	char *iname = NULL; /* the issuer's name, whole: it becomes the entry's */
	mtk_rc rc;

	if ((rc = mtk_load_file_strict(&set, path, MTK_OBJ_BIT(MTK_OBJ_CRL), MTK_OBJ_CRL, NULL,
				       err)) != MTK_OK)
		return rc;
	for (size_t i = 0; i < set.count; i++) {
		X509_CRL *crl = set.objs[i].crl;
		const X509_NAME *in = X509_CRL_get_issuer(crl);
		char where[600];
		X509 *issuer = NULL;
		bool named = false;
		const char *why;
		gw_crl *c, *nv;
		X509_REVOKED *rev = NULL;
		ASN1_INTEGER *zero;

		if (set.objs[i].line > 0)
			snprintf(where, sizeof(where), "%s:%ld", path, set.objs[i].line);
		else
			snprintf(where, sizeof(where), "%s", path);
		if ((iname = gw_name(in)) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
			goto out;
		}
		for (int j = 0; j < sk_X509_num(cas) && issuer == NULL; j++) {
			X509 *ca = sk_X509_value(cas, j);
			if (X509_NAME_cmp(X509_get_subject_name(ca), in) != 0)
				continue;
			named = true;
			if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1)
				issuer = ca;
		}
		ERR_clear_error();
		if (issuer == NULL) {
			rc = mtk_err_set(
			    err, MTK_E_MALFORMED,
			    named ? "%s: the CRL's signature does not verify with the key of CA %s"
				  : "%s: the CRL's issuer %s is not one of the configured CAs",
			    where, iname);
			goto out;
		}
		if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(issuer) & KU_CRL_SIGN)) {
			rc = mtk_err_set(err, MTK_E_MALFORMED,
					 "%s: CA %s may not sign CRLs (its keyUsage lacks cRLSign)",
					 where, iname);
			goto out;
		}
		if ((why = crl_unsupported(crl)) != NULL) {
			rc = mtk_err_set(err, MTK_E_UNSUPPORTED,
					 "%s: the CRL has %s, which is not supported", where, why);
			goto out;
		}
		/* sort the entries now, not in the first handshake */
		if ((zero = ASN1_INTEGER_new()) != NULL) {
			(void)X509_CRL_get0_by_serial(crl, &rev, zero);
			ASN1_INTEGER_free(zero);
		}
		if ((nv = realloc(st->crls, (st->n_crls + 1) * sizeof(*nv))) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
			goto out;
		}
		st->crls = nv;
		c = &st->crls[st->n_crls];
		memset(c, 0, sizeof(*c));
		c->file = strdup(path);
		c->issuer = iname;
		iname = NULL;
		c->line = set.objs[i].line;
		c->last_update = gw_asn1_time(X509_CRL_get0_lastUpdate(crl));
		c->next_update = gw_asn1_time(X509_CRL_get0_nextUpdate(crl));
		c->issuer_key = X509_get_pubkey(issuer);
		c->crl = crl;
		X509_CRL_up_ref(crl);
		st->n_crls++;
		if (c->file == NULL || c->issuer == NULL || c->issuer_key == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
			goto out;
		}
	}
out:
	free(iname);
	mtk_set_free(&set);
	return rc;
}

void gw_state_warn(const gw_state *st, FILE *out)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; st != NULL && i < st->n_crls; i++) {
		const gw_crl *c = &st->crls[i];
		char when[MTK_TIME_RFC3339_LEN];

		if (c->next_update == 0 || c->next_update >= now)
			continue;
		mtk_time_rfc3339((int64_t)c->next_update, when, sizeof(when));
		if (out != NULL) {
			fprintf(out,
				"mtlskit-gateway: warning: %s:%ld: the CRL of %s is past its "
				"nextUpdate "
				"(%s): every certificate it covers is refused (crl-unavailable)\n",
				c->file, c->line, c->issuer, when);
		} else {
			json_t *o = json_object();
			json_object_set_new(o, "file", json_string(c->file));
			json_object_set_new(o, "line", json_integer(c->line));
			json_object_set_new(o, "issuer", json_string(c->issuer));
			json_object_set_new(o, "next_update", json_string(when));
			json_object_set_new(
			    o, "message",
			    json_string("CRL past its nextUpdate: every certificate it "
					"covers is refused (crl-unavailable) until it is renewed"));
			gw_log("warning", o);
		}
	}
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	gw_state *st = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), state_idx) : NULL;

	if (!ok)
		note_reject(ssl, X509_STORE_CTX_get0_cert(xs));

	if (ok && st != NULL && st->n_crls > 0) {
		int e = crl_check(st, xs);
		if (e != X509_V_OK) {
			X509_STORE_CTX_set_error(xs, e);
			note_reject(ssl, X509_STORE_CTX_get0_cert(xs));
			return 0;
		}
	}

	if (X509_STORE_CTX_get_error_depth(xs) == 0 &&
	    (ok || X509_STORE_CTX_get_error(xs) == X509_V_ERR_INVALID_PURPOSE)) {
		X509 *leaf = X509_STORE_CTX_get_current_cert(xs);
		int err = ok ? X509_V_OK : X509_V_ERR_INVALID_PURPOSE;

		/* A CA certificate (basicConstraints CA:TRUE) is never a client
		 * identity, mapped or not: whoever holds a CA key can sign
		 * anything, and a trusted root verifies as its own chain.  It
		 * is also the better reason when OpenSSL's purpose check (a
		 * root's key usage) refused it first.  INVALID_NON_CA is
		 * OpenSSL's code for "a CA certificate used as end entity". */
		if (X509_get_extension_flags(leaf) & EXFLAG_CA)
			err = X509_V_ERR_INVALID_NON_CA;
		/* Optional stricter rule: the leaf must name clientAuth in its
		 * EKU (OpenSSL's default purpose check accepts a leaf with no
		 * EKU at all). */
		else if (ok && st != NULL && st->require_eku &&
			 (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
			  !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)))
			err = X509_V_ERR_INVALID_PURPOSE;
		if (err != X509_V_OK) {
			X509_STORE_CTX_set_error(xs, err);
			note_reject(ssl, leaf);
			return 0;
		}
	}
	return ok;
}

/* Until when a chain verified now stays verified under st: its first
 * notAfter, or the first nextUpdate of a CRL (after which the CRL check
 * answers crl-unavailable). */
static int64_t verdict_until(const gw_state *st, X509_STORE_CTX *xs)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	int64_t until = INT64_MAX;

	for (int i = 0; i < sk_X509_num(chain); i++) {
		int64_t t = gw_asn1_time(X509_get0_notAfter(sk_X509_value(chain, i)));
		if (t < until)
			until = t;
	}
	for (size_t i = 0; i < st->n_crls; i++)
		if (st->crls[i].next_update != 0 && st->crls[i].next_update < until)
			until = st->crls[i].next_update;
	return until;
}

/* The chain verification libssl calls: a chain this state verified before
 * (same bytes, still inside its validity) is accepted without OpenSSL's
 * work again (vcache.c); anything else goes through X509_verify_cert and
 * verify_cb as always. */
static int app_verify(X509_STORE_CTX *xs, void *arg)
{
	gw_state *st = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	gw_leaf_md *lm = ssl != NULL ? SSL_get_ex_data(ssl, leaf_idx) : NULL;
	unsigned char leaf[32], key[32];
	int64_t now = (int64_t)time(NULL);
	bool keyed =
	    st->vcache != NULL && gw_vcache_key(X509_STORE_CTX_get0_untrusted(xs), leaf, key);
	int ok;

	/* the untrusted stack starts with the leaf: the peer certificate */
	if (keyed && lm != NULL) {
		memcpy(lm->md, leaf, sizeof(lm->md));
		lm->known = true;
	}
	if (keyed && gw_vcache_hit(st->vcache, key, now)) {
		atomic_fetch_add_explicit(&gw_m.verify_cache_hits, 1, memory_order_relaxed);
		return 1;
	}
	ok = X509_verify_cert(xs);
	if (ok == 1 && keyed && X509_STORE_CTX_get_error(xs) == X509_V_OK)
		gw_vcache_put(st->vcache, key, now, verdict_until(st, xs));
	return ok;
}

mtk_rc gw_state_new(const mtk_gwconfig *cfg, long generation, gw_state **out, mtk_err *err)
{
	gw_state *st = NULL;
	SSL_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	STACK_OF(X509) *all_cas = NULL;
	mtk_buf mapbytes = MTK_BUF_INIT;
	mtk_rc rc = MTK_OK;
	static const unsigned char sid_ctx[] = "mtlskit-gateway";

	if (state_idx < 0)
		state_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (reject_idx < 0)
		reject_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, reject_free);
	if (leaf_idx < 0)
		leaf_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (gw_sha256() == NULL) /* fetched here, at startup, not in a handshake */
		return mtk_err_set(err, MTK_E_CRYPTO, "SHA2-256 unavailable");
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "state");
	atomic_init(&st->refs, 1);
	st->generation = generation;
	st->require_eku = cfg->require_client_auth_eku;
	if (cfg->require_role && (st->require_role = strdup(cfg->require_role)) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "state");
		goto out;
	}

	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "SSL_CTX_new");
		goto out;
	}
	st->ctx = ctx;
	SSL_CTX_set_ex_data(ctx, state_idx, st);
	{
		const mtk_tls_server_policy pol = {cfg->tls_min, cfg->tls_ciphers,
						   cfg->tls_ciphersuites};
		if ((rc = mtk_tls_policy_server(ctx, &pol, err)) != MTK_OK)
			goto out;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* A client's TCP FIN without close_notify ends its sending side like
	 * close_notify does, instead of failing the connection with a
	 * decode_error alert: HTTP mode frames every message itself, and TCP
	 * mode passes the half-close on to the backend, which may answer. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

	/* Server certificates: one chain per key type; OpenSSL picks the one
	 * the client can use (ECDSA or RSA). */
	st->own_subject = calloc(cfg->certs.n, sizeof(char *));
	st->own_not_after = calloc(cfg->certs.n, sizeof(int64_t));
	if (st->own_subject == NULL || st->own_not_after == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "state");
		goto out;
	}
	for (size_t i = 0; i < cfg->certs.n && i < cfg->keys.n; i++) {
		const char *pass = cfg->key_passes.n == 0   ? NULL
				   : cfg->key_passes.n == 1 ? cfg->key_passes.v[0]
							    : cfg->key_passes.v[i];
		char *subj = NULL;

		if ((rc = load_server_pair(ctx, cfg->certs.v[i], cfg->keys.v[i], pass, &subj,
					   &st->own_not_after[i], err)) != MTK_OK)
			goto out;
		st->own_subject[i] = subj;
		st->n_own = i + 1;
	}

	/* Client trust: every CA chain given, all at once (rotation overlap). */
	store = X509_STORE_new();
	names = sk_X509_NAME_new_null();
	all_cas = sk_X509_new_null();
	if (store == NULL || names == NULL || all_cas == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "state");
		goto out;
	}
	for (size_t i = 0; i < cfg->cas.n; i++) {
		STACK_OF(X509) *cas = NULL;

		if ((rc = read_certs(cfg->cas.v[i], &cas, err)) != MTK_OK)
			goto out;
		for (int j = 0; j < sk_X509_num(cas); j++) {
			X509 *ca = sk_X509_value(cas, j);
			X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(ca));
			/* a certificate listed twice (overlapping files) is harmless */
			(void)X509_STORE_add_cert(store, ca);
			if (nm == NULL || !sk_X509_NAME_push(names, nm))
				X509_NAME_free(nm);
			if (!mtk_sk_x509_push_ref(all_cas, ca)) {
				sk_X509_pop_free(cas, X509_free);
				rc = mtk_err_set(err, MTK_E_NOMEM, "state");
				goto out;
			}
		}
		ERR_clear_error();
		sk_X509_pop_free(cas, X509_free);
	}
	/* CRLs: verified here once, checked per handshake by verify_cb (not by
	 * OpenSSL's CRL_CHECK, which verifies the signature in every
	 * handshake: 5 ms for 100,000 entries). */
	for (size_t i = 0; i < cfg->crls.n; i++)
		if ((rc = load_crls(st, cfg->crls.v[i], all_cas, err)) != MTK_OK)
			goto out;
	SSL_CTX_set_cert_store(ctx, store);
	store = NULL;
	SSL_CTX_set_client_CA_list(ctx, names);
	names = NULL;
	SSL_CTX_set_verify(ctx,
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE,
			   verify_cb);
	SSL_CTX_set_verify_depth(ctx, 8);
	if (cfg->verify_cache > 0) {
		if ((st->vcache = gw_vcache_new(cfg->verify_cache)) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "state");
			goto out;
		}
		SSL_CTX_set_cert_verify_callback(ctx, app_verify, st);
	}

	/* Resumption.  Tickets keep no server state; the cache is per SSL_CTX,
	 * so a reload (new trust) never resumes a session made under the old. */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (!cfg->session_tickets)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (cfg->session_cache > 0) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx, cfg->session_cache);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		if (!cfg->session_tickets)
			SSL_CTX_set_num_tickets(ctx, 0);
	}
	/* One TLS 1.3 ticket per handshake, not OpenSSL's two: building a
	 * ticket (session encoding, cipher and HMAC fetched and keyed, the
	 * encryption) was about a tenth of a full handshake's CPU, and a client
	 * that resumes one connection at a time (curl, Java, the MID Server)
	 * uses one.  Go's TLS server sends one as well. */
	if (SSL_CTX_get_num_tickets(ctx) > 1)
		SSL_CTX_set_num_tickets(ctx, 1);

	/* The user map. */
	if ((rc = mtk_file_read(cfg->usermap, 0, &mapbytes, err)) != MTK_OK)
		goto out;
	if ((rc = mtk_usermap_parse(cfg->usermap, mapbytes.data, mapbytes.len, &st->map, err)) !=
	    MTK_OK)
		goto out;
	st->map_not_after = calloc(mtk_usermap_count(st->map) + 1, sizeof(*st->map_not_after));
	if (st->map_not_after == NULL)
		rc = mtk_err_set(err, MTK_E_NOMEM, "state");
out:
	mtk_buf_free(&mapbytes);
	X509_STORE_free(store);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	sk_X509_pop_free(all_cas, X509_free);
	if (rc != MTK_OK) {
		gw_state_unref(st);
		return rc;
	}
	*out = st;
	return MTK_OK;
}

gw_reason gw_reason_from_verify(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return R_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return R_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return R_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return R_UNKNOWN_CA;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
		return R_CRL;
	case X509_V_ERR_INVALID_PURPOSE:
		return R_EKU;
	case X509_V_ERR_INVALID_NON_CA: /* set by verify_cb only */
		return R_CA_CERT;
	default:
		return R_CERT_INVALID;
	}
}
