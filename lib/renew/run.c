/* run.c - mtk_track_run: one renewal run for one managed certificate, in the
 * order docs/renewal.md gives (lock, journal, due, key, CSR, issue, check,
 * stage, verify, install with backups, hook, post-check, rollback). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mtlskit/bundle.h"
#include "mtlskit/cert.h"
#include "mtlskit/check.h"
#include "mtlskit/file.h"
#include "mtlskit/hostport.h"
#include "mtlskit/keygen.h"
#include "mtlskit/keystore.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"
#include "mtlskit/probe.h"

#include "internal.h"

#define PATHMAX 4096

static const char *const outcome_names[] = {"not-due", "would-renew", "renewed",
					    "pending", "staged",      "failed"};

const char *mtk_track_outcome_name(mtk_track_outcome o)
{
	return o <= MTK_TRK_FAILED ? outcome_names[o] : "unknown";
}

void mtk_track_result_free(mtk_track_result *r)
{
	if (r != NULL)
		mtk_findings_free(&r->findings);
}

/* A certificate, its CA chain (issuer first) and its key: what a target
 * holds. */
typedef struct mat {
	X509 *leaf;
	STACK_OF(X509) *cas;
	EVP_PKEY *key;
} mat;

static void mat_free(mat *m)
{
	X509_free(m->leaf);
	sk_X509_pop_free(m->cas, X509_free);
	EVP_PKEY_free(m->key);
	memset(m, 0, sizeof(*m));
}

static void serial_of(X509 *x, char *out, size_t cap)
{
	BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, cap, "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The keystore file of a mid/keystore target and its password. */
static mtk_rc ks_target(const mtk_track_conf *c, const mtk_track_env *env, char **path,
			mtk_secret **pass, mtk_err *err)
{
	unsigned fl = 0;
	mtk_rc rc;

	*path = NULL;
	*pass = NULL;
	if (c->target == MTK_TRK_MID) {
		if ((rc = mtk_mid_agent_dir(c->agent, path, err)) != MTK_OK)
			return rc;
	} else if ((*path = strdup(c->keystore)) == NULL) {
		return mtk_err_set(err, MTK_E_NOMEM, "keystore");
	}
	if (c->store_pass != NULL) {
		rc = mtk_pass_resolve(c->store_pass, NULL, env->pass_io, pass, &fl, err);
	} else {
		/* A tracked keystore is one the user named as a store, as a
		 * keystore verb's is: mid.h says when the MID default applies. */
		const mtk_secret *d = mtk_mid_default_for(MTK_MID_KEYSTORE_VERB, *path);
		rc = MTK_OK;
		if (d != NULL && (*pass = mtk_secret_new(d->s, d->len)) == NULL)
			rc = mtk_err_set(err, MTK_E_NOMEM, "password");
	}
	if (rc != MTK_OK) {
		free(*path);
		*path = NULL;
	}
	return rc;
}

static const char *ks_alias(const mtk_track_conf *c)
{
	return c->target == MTK_TRK_MID ? MTK_MID_ALIAS : c->alias;
}

/* Copies leaf, cas and key out of a set assembled as a bundle. */
static mtk_rc mat_from_set(const mtk_set *set, const char *alias, mat *m, mtk_err *err)
{
	mtk_bundle b;
	mtk_bundle_opts bo = {.alias = alias};
	mtk_rc rc;

	memset(&b, 0, sizeof(b));
	if ((rc = mtk_bundle_assemble(set, &bo, &b, err)) != MTK_OK)
		return rc;
	m->leaf = b.chain.leaf;
	X509_up_ref(m->leaf);
	if ((m->cas = sk_X509_new_null()) == NULL) {
		mtk_bundle_free(&b);
		mat_free(m);
		return mtk_err_set(err, MTK_E_NOMEM, "chain");
	}
	for (int i = 0; i < sk_X509_num(b.chain.cas); i++) {
		X509 *x = sk_X509_value(b.chain.cas, i);
		if (sk_X509_push(m->cas, x))
			X509_up_ref(x);
	}
	if (b.key != NULL && EVP_PKEY_up_ref(b.key))
		m->key = b.key;
	mtk_bundle_free(&b);
	return MTK_OK;
}

/* What the target holds now. */
static mtk_rc read_installed(const mtk_track_conf *c, const mtk_track_env *env, mat *m,
			     mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_buf b = MTK_BUF_SECRET_INIT;
	mtk_secret *pass = NULL;
	char *path = NULL;
	mtk_rc rc = MTK_OK;

	memset(m, 0, sizeof(*m));
	switch (c->target) {
	case MTK_TRK_PEM:
	case MTK_TRK_GATEWAY:
		if ((rc = mtk_load_file(&set, c->cert, &lo, NULL, NULL, err)) != MTK_OK ||
		    (rc = mtk_load_file(&set, c->key, &lo, NULL, NULL, err)) != MTK_OK)
			break;
		if (c->chain != NULL && access(c->chain, F_OK) == 0 &&
		    (rc = mtk_load_file(&set, c->chain, &lo, NULL, NULL, err)) != MTK_OK)
			break;
		rc = mat_from_set(&set, NULL, m, err);
		break;
	case MTK_TRK_BUNDLE:
		if ((rc = mtk_load_file(&set, c->bundle, &lo, NULL, NULL, err)) == MTK_OK)
			rc = mat_from_set(&set, NULL, m, err);
		break;
	case MTK_TRK_MID:
	case MTK_TRK_KEYSTORE:
		if ((rc = ks_target(c, env, &path, &pass, err)) != MTK_OK ||
		    (rc = mtk_file_read(path, 0, &b, err)) != MTK_OK ||
		    (rc = mtk_keystore_load_set(&set, path, b.data, b.len, pass, NULL, NULL, NULL, err)) !=
			MTK_OK)
			break;
		rc = mat_from_set(&set, ks_alias(c), m, err);
		break;
	}
	mtk_set_free(&set);
	mtk_buf_free(&b);
	mtk_secret_free(pass);
	free(path);
	return rc;
}

mtk_rc mtk_track_installed(const mtk_track_conf *c, const mtk_track_env *env, time_t *nb,
			   time_t *na, char *serial, size_t cap, mtk_err *err)
{
	mat m;
	mtk_cert_summary s;
	mtk_rc rc;

	if ((rc = read_installed(c, env, &m, err)) != MTK_OK)
		return rc;
	if ((rc = mtk_cert_summarize(m.leaf, &s, err)) == MTK_OK) {
		*nb = s.not_before;
		*na = s.not_after;
		serial_of(m.leaf, serial, cap);
	}
	mat_free(&m);
	return rc;
}

static mtk_rc pem_certs(X509 *leaf, STACK_OF(X509) *cas, mtk_buf *out, mtk_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	mtk_rc rc = MTK_OK;

	if (bio == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "PEM");
	if (leaf != NULL && !PEM_write_bio_X509(bio, leaf))
		rc = MTK_E_CRYPTO;
	for (int i = 0; rc == MTK_OK && i < sk_X509_num(cas); i++)
		if (!PEM_write_bio_X509(bio, sk_X509_value(cas, i)))
			rc = MTK_E_CRYPTO;
	n = BIO_get_mem_data(bio, &p);
	if (rc == MTK_OK && n > 0 && mtk_buf_append(out, p, (size_t)n) != MTK_OK)
		rc = MTK_E_NOMEM;
	BIO_free(bio);
	return rc == MTK_OK ? MTK_OK : mtk_err_set(err, rc, "PEM");
}

/* The files a target is made of, and their new contents. */
typedef struct outfile {
	char *path;
	mtk_buf data;
	unsigned flags;
} outfile;

typedef struct outlist {
	outfile f[3];
	size_t n;
} outlist;

static void outlist_free(outlist *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->f[i].path);
		mtk_buf_free(&o->f[i].data);
	}
	o->n = 0;
}

static outfile *outlist_add(outlist *o, const char *path, unsigned flags)
{
	outfile *f = &o->f[o->n];

	memset(f, 0, sizeof(*f));
	if ((f->path = strdup(path)) == NULL)
		return NULL;
	f->data.secret = true;
	f->flags = flags | MTK_WRITE_FORCE;
	o->n++;
	return f;
}

/* Builds the new contents of every managed file from m. */
static mtk_rc new_outputs(const mtk_track_conf *c, const mtk_track_env *env, const mat *m,
			  outlist *o, mtk_err *err)
{
	mtk_bundle b;
	outfile *f;
	mtk_buf cur = MTK_BUF_SECRET_INIT;
	mtk_keystore *ks = NULL;
	mtk_secret *pass = NULL;
	STACK_OF(X509) *chain = NULL;
	char *path = NULL;
	mtk_rc rc = MTK_OK;

	switch (c->target) {
	case MTK_TRK_PEM:
	case MTK_TRK_GATEWAY:
		/* Without a chain file, the certificate file carries the chain
		 * (what a server or a curl --cert needs). */
		if ((f = outlist_add(o, c->cert, 0)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "outputs");
		if ((rc = pem_certs(m->leaf, c->chain ? NULL : m->cas, &f->data, err)) != MTK_OK)
			return rc;
		if ((f = outlist_add(o, c->key, MTK_WRITE_SECRET)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "outputs");
		if ((rc = mtk_key_pkcs8_pem(m->key, &f->data, err)) != MTK_OK)
			return rc;
		if (c->chain != NULL) {
			if ((f = outlist_add(o, c->chain, 0)) == NULL)
				return mtk_err_set(err, MTK_E_NOMEM, "outputs");
			if ((rc = pem_certs(NULL, m->cas, &f->data, err)) != MTK_OK)
				return rc;
		}
		return MTK_OK;
	case MTK_TRK_BUNDLE:
		memset(&b, 0, sizeof(b));
		b.chain.leaf = m->leaf;
		b.chain.cas = m->cas;
		b.key = m->key;
		if ((f = outlist_add(o, c->bundle, MTK_WRITE_SECRET)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "outputs");
		return mtk_bundle_encode(&b, MTK_BUNDLE_ALL, &f->data, err);
	case MTK_TRK_MID:
	case MTK_TRK_KEYSTORE:
		break;
	}
	/* A keystore: this one entry changes, every other entry stays as it
	 * was (stored key forms included). */
	if ((rc = ks_target(c, env, &path, &pass, err)) != MTK_OK ||
	    (rc = mtk_file_read(path, 0, &cur, err)) != MTK_OK ||
	    (rc = mtk_keystore_decode(cur.data, cur.len, path, pass, NULL, MTK_KS_READ_NO_KEYS, &ks,
				      err)) != MTK_OK)
		goto out;
	if ((chain = sk_X509_new_null()) == NULL || !sk_X509_push(chain, m->leaf)) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
		goto out;
	}
	X509_up_ref(m->leaf);
	for (int i = 0; i < sk_X509_num(m->cas); i++)
		if (sk_X509_push(chain, sk_X509_value(m->cas, i)))
			X509_up_ref(sk_X509_value(m->cas, i));
	if ((rc = mtk_keystore_add_key(ks, ks_alias(c), m->key, chain, (int64_t)env->now * 1000,
				       err)) != MTK_OK)
		goto out;
	if ((f = outlist_add(o, path, MTK_WRITE_SECRET)) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "outputs");
		goto out;
	}
	rc = mtk_keystore_encode(ks, ks->type, pass, NULL, &f->data, err);
out:
	sk_X509_pop_free(chain, X509_free);
	mtk_keystore_free(ks);
	mtk_secret_free(pass);
	mtk_buf_free(&cur);
	free(path);
	return rc;
}

/* ---- journal: backups of an install in progress ---- */

static void jpath(const char *dir, const char *name, const char *ext, char *out)
{
	snprintf(out, PATHMAX, "%s/%s.%s", dir, name, ext);
}

/* The new key beside the managed files (0600, replacing an older one),
 * where a later run finds it. */
static mtk_rc write_staged_key(const char *dir, const char *name, EVP_PKEY *key, mtk_err *err)
{
	mtk_buf kb = MTK_BUF_SECRET_INIT;
	char p[PATHMAX];
	mtk_rc rc;

	jpath(dir, name, "staged-key.pem", p);
	rc = mtk_key_pkcs8_pem(key, &kb, err);
	if (rc == MTK_OK)
		rc = mtk_file_write(p, kb.data, kb.len, MTK_WRITE_SECRET | MTK_WRITE_FORCE, err);
	mtk_buf_free(&kb);
	return rc;
}

/* Restores every "PATH\tBACKUP" line of the journal (all files written
 * before the first rename), then removes the journal.  Idempotent: a run
 * killed while restoring restores again. */
static mtk_rc journal_rollback(const char *dir, const char *name, bool *did, mtk_err *err)
{
	char jp[PATHMAX];
	mtk_buf j = MTK_BUF_INIT;
	mtk_outset *os = NULL;
	mtk_rc rc;
	char *line, *next;

	*did = false;
	jpath(dir, name, "journal", jp);
	rc = mtk_file_read(jp, 1 << 20, &j, err);
	if (rc == MTK_E_NOENT) {
		mtk_err_clear(err);
		return MTK_OK;
	}
	if (rc != MTK_OK)
		return rc;
	if (mtk_buf_append_u8(&j, 0) != MTK_OK || (os = mtk_outset_new()) == NULL) {
		mtk_buf_free(&j);
		return mtk_err_set(err, MTK_E_NOMEM, "journal");
	}
	for (line = (char *)j.data; *line != '\0'; line = next) {
		char *tab, *nl = strchr(line, '\n');
		mtk_buf b = MTK_BUF_SECRET_INIT;
		next = nl ? nl + 1 : line + strlen(line);
		if (nl != NULL)
			*nl = '\0';
		char *kind;
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab = '\0';
		/* "PATH<TAB>BACKUP<TAB>s|p": s a secret (0600), p public */
		if ((kind = strchr(tab + 1, '\t')) != NULL)
			*kind++ = '\0';
		if ((rc = mtk_file_read(tab + 1, 0, &b, err)) == MTK_OK)
			rc = mtk_outset_add(os, line, b.data, b.len,
					    MTK_WRITE_FORCE |
						(kind != NULL && kind[0] == 'p' ? 0 : MTK_WRITE_SECRET),
					    err);
		mtk_buf_free(&b);
		if (rc != MTK_OK)
			goto out;
	}
	if ((rc = mtk_outset_commit(os, err)) != MTK_OK)
		goto out;
	if (unlink(jp) != 0 && errno != ENOENT) {
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", jp, strerror(errno));
		goto out;
	}
	*did = true;
out:
	mtk_outset_free(os);
	mtk_buf_free(&j);
	return rc;
}

/* Copies each file to FILE.bak-STAMP and writes the journal naming them. */
static mtk_rc backup_and_journal(const char *dir, const char *name, const outlist *o, time_t now,
				 mtk_err *err)
{
	char jp[PATHMAX], stamp[32], bak[PATHMAX];
	struct tm tm;
	mtk_buf j = MTK_BUF_INIT;
	mtk_rc rc = MTK_OK;

	if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return mtk_err_set(err, MTK_E_INTERNAL, "time");
	for (size_t i = 0; rc == MTK_OK && i < o->n; i++) {
		mtk_buf b = MTK_BUF_SECRET_INIT;
		if ((rc = mtk_file_read(o->f[i].path, 0, &b, err)) != MTK_OK)
			break;
		rc = MTK_E_EXISTS;
		for (int k = 1; k <= 50 && rc == MTK_E_EXISTS; k++) {
			if (k == 1)
				snprintf(bak, sizeof(bak), "%s.bak-%s", o->f[i].path, stamp);
			else
				snprintf(bak, sizeof(bak), "%s.bak-%s-%d", o->f[i].path, stamp, k);
			mtk_err_clear(err);
			rc = mtk_file_write(bak, b.data, b.len, MTK_WRITE_SECRET, err);
		}
		mtk_buf_free(&b);
		if (rc == MTK_OK &&
		    mtk_buf_printf(&j, "%s\t%s\t%c\n", o->f[i].path, bak,
				   (o->f[i].flags & MTK_WRITE_SECRET) ? 's' : 'p') != MTK_OK)
			rc = mtk_err_set(err, MTK_E_NOMEM, "journal");
	}
	jpath(dir, name, "journal", jp);
	if (rc == MTK_OK)
		rc = mtk_file_write(jp, j.data, j.len, MTK_WRITE_SECRET | MTK_WRITE_FORCE, err);
	mtk_buf_free(&j);
	return rc;
}

static mtk_rc commit_outputs(const outlist *o, mtk_err *err)
{
	mtk_outset *os = mtk_outset_new();
	mtk_rc rc = MTK_OK;

	if (os == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "outputs");
	for (size_t i = 0; rc == MTK_OK && i < o->n; i++)
		rc = mtk_outset_add(os, o->f[i].path, o->f[i].data.data, o->f[i].data.len,
				    o->f[i].flags, err);
	if (rc == MTK_OK)
		rc = mtk_outset_commit(os, err);
	mtk_outset_free(os);
	return rc;
}

/* ---- the relying party ---- */

/* An mTLS handshake (and GET verify_path) to c->verify with the new
 * certificate.  *accepted tells the verdict; an error is a network
 * failure (the verdict unknown). */
static mtk_rc verify_new(const mtk_track_conf *c, const mtk_track_env *env, const mat *m,
			 bool *accepted, char *why, size_t cap, mtk_err *err)
{
	mtk_probe_opts po;
	mtk_probe_result pr;
	char host[256], port[16];
	mtk_rc rc;

	*accepted = false;
	if ((rc = mtk_hostport_parse(c->verify, "443", host, sizeof(host), port, sizeof(port), err)) !=
	    MTK_OK)
		return rc;
	memset(&po, 0, sizeof(po));
	memset(&pr, 0, sizeof(pr));
	po.host = host;
	po.port = port;
	po.clock_ms = env->clock_ms;
	po.clock_ctx = env->clock_ctx;
	po.now = env->now;
	po.ca_file = c->verify_ca;
	po.cert = m->leaf;
	po.key = m->key;
	po.chain = m->cas;
	po.timeout_ms = 20000;
	if (c->verify_path != NULL) {
		po.http_method = "GET";
		po.http_path = c->verify_path;
	}
	rc = mtk_probe_run(&po, &pr, err);
	if (rc == MTK_OK) {
		if (!pr.verified && c->verify_ca != NULL) {
			snprintf(why, cap, "%s: the server's chain does not verify (%s)", c->verify,
				 pr.verify_error);
		} else if (pr.client_auth == MTK_CLIENT_AUTH_REJECTED ||
			   pr.client_auth == MTK_CLIENT_AUTH_REQUIRED) {
			snprintf(why, cap, "%s refused the new certificate in the handshake (%s)",
				 c->verify, pr.alert_text[0] ? pr.alert_text : "no alert");
		} else if (c->verify_path != NULL &&
			   (!pr.http_done || pr.http.status < 200 || pr.http.status > 299)) {
			snprintf(why, cap, "%s%s answered %d with the new certificate", c->verify,
				 c->verify_path, pr.http.status);
		} else {
			*accepted = true;
			snprintf(why, cap, "accepted by %s", c->verify);
		}
	}
	mtk_probe_result_free(&pr);
	return rc;
}

/* The keystore's own lock (DESIGN.md: edits of a keystore take an
 * exclusive lock, the one `mid install` and `keystore` take), for mid and
 * keystore targets; *out stays NULL for the others. */
static mtk_rc lock_target(const mtk_track_conf *c, const mtk_track_env *env, mtk_lock **out,
			  mtk_err *err)
{
	char *path = NULL;
	mtk_secret *pass = NULL;
	mtk_rc rc;

	*out = NULL;
	if (c->target != MTK_TRK_MID && c->target != MTK_TRK_KEYSTORE)
		return MTK_OK;
	if ((rc = ks_target(c, env, &path, &pass, err)) == MTK_OK)
		rc = mtk_lock_edit(path, out, err);
	mtk_secret_free(pass);
	free(path);
	return rc;
}

/* ---- the run ---- */

static mtk_rc make_csr(const mtk_track_conf *c, X509 *old, EVP_PKEY *key, X509_REQ **out,
		       mtk_err *err)
{
	mtk_cert_summary s;
	mtk_sans sans;
	GENERAL_NAMES *gens = NULL;
	mtk_rc rc;

	if ((rc = mtk_cert_summarize(old, &s, err)) != MTK_OK)
		return rc;
	/* A client target must come back with clientAuth even when the old
	 * certificate lacked it (the MID Server's first failure): then the
	 * request is built afresh with the old subject and SANs. */
	if (!((c->usage & MTK_USAGE_CLIENT) && s.has_eku && !s.client_auth))
		return mtk_csr_renew(old, key, out, err);
	memset(&sans, 0, sizeof(sans));
	gens = X509_get_ext_d2i(old, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL && (rc = mtk_sans_from_names(&sans, gens, err)) != MTK_OK)
		goto out;
	rc = mtk_csr_build(key, X509_get_subject_name(old), &sans, c->usage, out, err);
out:
	GENERAL_NAMES_free(gens);
	mtk_sans_free(&sans);
	return rc;
}

/* An issuer may send the leaf alone (certmonger helpers) or stop below the
 * root (ACME): the chain is completed from the installed chain and chain_ca,
 * each step an issuer whose signature verifies (X509_check_issued). */
static mtk_rc complete_chain(const mtk_track_conf *c, const mat *old, mat *neu, mtk_err *err)
{
	STACK_OF(X509) *pool = NULL;
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_rc rc = MTK_OK;

	if (c->chain_ca != NULL &&
	    ((rc = mtk_load_file(&set, c->chain_ca, &lo, NULL, NULL, err)) != MTK_OK ||
	     (rc = mtk_set_certs(&set, &pool, err)) != MTK_OK))
		goto out;
	if (pool == NULL && (pool = sk_X509_new_null()) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(old->cas); i++)
		if (sk_X509_push(pool, sk_X509_value(old->cas, i)))
			X509_up_ref(sk_X509_value(old->cas, i));
	for (int depth = 0; depth < 8; depth++) {
		int n = sk_X509_num(neu->cas);
		X509 *last = n > 0 ? sk_X509_value(neu->cas, n - 1) : neu->leaf, *up = NULL;
		if (n > 0 && X509_check_issued(last, last) == X509_V_OK)
			break; /* ends in a self-signed CA */
		for (int i = 0; i < sk_X509_num(pool) && up == NULL; i++)
			if (X509_check_issued(sk_X509_value(pool, i), last) == X509_V_OK)
				up = sk_X509_value(pool, i);
		if (up == NULL || !sk_X509_push(neu->cas, up))
			break;
		X509_up_ref(up);
	}
out:
	sk_X509_pop_free(pool, X509_free);
	mtk_set_free(&set);
	return rc;
}

/* The issued certificate against check's rules for the target's profile. */
static mtk_rc check_new(const mtk_track_conf *c, const mtk_track_env *env, const mat *m,
			mtk_findings *fs, mtk_err *err)
{
	mtk_buf pem = MTK_BUF_SECRET_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_check_opts co;
	mtk_rc rc;

	memset(&co, 0, sizeof(co));
	co.profile = (mtk_profile)c->profile;
	co.now = env->now;
	/* A CA dates the certificate when it signs it, after the time this run
	 * started: up to five minutes ahead is that (or clock skew), not a
	 * certificate for the future. */
	{
		mtk_cert_summary s;
		if (mtk_cert_summarize(m->leaf, &s, NULL) == MTK_OK && s.not_before > env->now &&
		    s.not_before - env->now <= 300)
			co.now = s.not_before;
	}
	if ((rc = pem_certs(m->leaf, m->cas, &pem, err)) != MTK_OK ||
	    (rc = mtk_key_pkcs8_pem(m->key, &pem, err)) != MTK_OK ||
	    (rc = mtk_load_mem(&set, "issued", pem.data, pem.len, &lo, NULL, NULL, err)) != MTK_OK ||
	    (rc = mtk_check_set(&set, &co, fs, err)) != MTK_OK)
		goto out;
	if (mtk_findings_count_at_least(fs, MTK_SEV_ERROR) > 0) {
		const char *id = "";
		for (size_t i = 0; i < fs->count; i++)
			if (fs->items[i].severity == MTK_SEV_ERROR) {
				id = mtk_finding_name(fs->items[i].id);
				break;
			}
		rc = mtk_err_set(err, MTK_E_FINDINGS,
				 "the issued certificate fails the %s checks (%s); nothing installed",
				 mtk_profile_name((mtk_profile)c->profile), id);
	}
out:
	mtk_set_free(&set);
	mtk_buf_free(&pem);
	return rc;
}

static mtk_rc load_staged(const char *dir, const char *name, bool want_cert, mat *m,
			  mtk_err *err)
{
	char p[PATHMAX];
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_rc rc;

	jpath(dir, name, "staged-key.pem", p);
	if ((rc = mtk_key_load(p, NULL, &m->key, err)) != MTK_OK || !want_cert)
		return rc;
	jpath(dir, name, "staged-cert.pem", p);
	if ((rc = mtk_load_file(&set, p, &lo, NULL, NULL, err)) == MTK_OK) {
		mat t;
		memset(&t, 0, sizeof(t));
		if ((rc = mat_from_set(&set, NULL, &t, err)) == MTK_OK) {
			m->leaf = t.leaf;
			m->cas = t.cas;
			t.leaf = NULL;
			t.cas = NULL;
			mat_free(&t);
		}
	}
	mtk_set_free(&set);
	return rc;
}

static void remove_staged(const char *dir, const char *name)
{
	char p[PATHMAX];

	jpath(dir, name, "staged-key.pem", p);
	(void)unlink(p);
	jpath(dir, name, "staged-cert.pem", p);
	(void)unlink(p);
}

static mtk_rc run_cmd(const mtk_track_conf *c, const mtk_track_env *env, const char *cmd,
		      bool shell, const char *what, mtk_err *err)
{
	int status = -1;
	mtk_rc rc = trk_spawn(cmd, shell, env->envp, NULL, 600, env, &status, NULL, err);

	if (rc != MTK_OK)
		return rc;
	(void)c;
	if (status != 0)
		return mtk_err_set(err, MTK_E_HOOK, "%s failed (exit %d)", what, status);
	return MTK_OK;
}

mtk_rc mtk_track_run(const char *dir, const char *name, const mtk_track_env *env,
		     mtk_track_result *r, mtk_err *err)
{
	mtk_track_conf c;
	mtk_track_state st;
	mtk_lock *lock = NULL, *ks_lock = NULL;
	mat old, neu;
	outlist o;
	X509_REQ *csr = NULL;
	mtk_cert_summary s;
	char p[PATHMAX], why[384] = "";
	bool did_rollback = false, save_state = false, conf_ok = false;
	trk_answer ans = TRK_ISSUED;
	mtk_rc rc;

	memset(r, 0, sizeof(*r));
	memset(&old, 0, sizeof(old));
	memset(&neu, 0, sizeof(neu));
	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	r->outcome = MTK_TRK_FAILED;
	if ((rc = mtk_track_conf_load(dir, name, &c, err)) != MTK_OK)
		goto done;
	conf_ok = true;
	jpath(dir, name, "", p);
	p[strlen(p) - 1] = '\0'; /* DIR/NAME: mtk_lock_edit locks DIR/NAME.lock */
	if (!env->dry_run && (rc = mtk_lock_edit(p, &lock, err)) != MTK_OK)
		goto done;
	if ((rc = mtk_track_state_load(dir, name, &st, err)) != MTK_OK)
		goto done;
	/* A run killed during an install left a journal: the old set comes
	 * back first, so the managed files are never a mix. */
	jpath(dir, name, "journal", p);
	if (!env->dry_run && access(p, F_OK) == 0) {
		if ((rc = lock_target(&c, env, &ks_lock, err)) != MTK_OK ||
		    (rc = journal_rollback(dir, name, &did_rollback, err)) != MTK_OK)
			goto done;
		mtk_lock_release(ks_lock);
		ks_lock = NULL;
	}
	r->rolled_back = did_rollback;
	if ((rc = read_installed(&c, env, &old, err)) != MTK_OK ||
	    (rc = mtk_cert_summarize(old.leaf, &s, err)) != MTK_OK)
		goto done;
	serial_of(old.leaf, r->serial, sizeof(r->serial));
	r->not_after = s.not_after;
	r->due = mtk_track_due(&c, s.not_before, s.not_after);
	r->expired = env->now >= s.not_after;
	if (!env->force && st.pending && st.poll_after > env->now) {
		/* the CA asked for time (helper exit 5) */
		r->outcome = MTK_TRK_PENDING;
		snprintf(r->message, sizeof(r->message), "pending at the CA; next poll after ");
		trk_time_str(st.poll_after, r->message + strlen(r->message),
			     sizeof(r->message) - strlen(r->message));
		rc = MTK_OK;
		goto done;
	}
	if (!env->force && env->now < r->due && !st.staged && !st.pending) {
		/* Nothing due: nothing is written, not even the state. */
		r->outcome = MTK_TRK_NOT_DUE;
		snprintf(r->message, sizeof(r->message), "not due before %s", "");
		trk_time_str(r->due, r->message + strlen("not due before "),
			     sizeof(r->message) - strlen("not due before "));
		rc = MTK_OK;
		goto done;
	}
	if (env->dry_run) {
		r->outcome = MTK_TRK_WOULD_RENEW;
		snprintf(r->message, sizeof(r->message), "would %s through %s",
			 st.staged ? "verify the staged certificate and install it"
			 : st.pending ? "poll the pending request"
				      : "renew",
			 mtk_trk_issuer_name(c.issuer));
		rc = MTK_OK;
		goto done;
	}
	save_state = true;
	st.last_attempt = env->now;
	if (st.staged && load_staged(dir, name, true, &neu, err) == MTK_OK) {
		/* issued on an earlier run; only the relying party's verdict is
		 * still missing */
	} else {
		mat_free(&neu);
		mtk_err_clear(err);
		st.staged = false;
		if (st.pending && !c.keep_key) {
			if ((rc = load_staged(dir, name, false, &neu, err)) != MTK_OK) {
				/* the key is lost: start again */
				mtk_err_clear(err);
				st.pending = false;
				st.cookie[0] = '\0';
			}
		} else if (!st.pending) {
			st.cookie[0] = '\0';
		}
		if (neu.key == NULL && c.keep_key) {
			if (old.key == NULL) {
				rc = mtk_err_set(err, MTK_E_NOT_FOUND,
						 "key_policy keep: the installed key is not readable");
				goto done;
			}
			neu.key = old.key;
			EVP_PKEY_up_ref(neu.key);
		} else if (neu.key == NULL) {
			char type[32] = "";
			if (c.key_type != NULL)
				snprintf(type, sizeof(type), "%s", c.key_type);
			else if (old.key != NULL)
				mtk_key_type_name(old.key, type, sizeof(type));
			if (type[0] == '\0')
				snprintf(type, sizeof(type), "rsa:2048");
			if ((rc = mtk_key_generate(type, &neu.key, err)) != MTK_OK)
				goto done;
			/* On disk (0600) before the CSR leaves the host: a pending
			 * answer is polled with the same key next run. */
			if ((rc = write_staged_key(dir, name, neu.key, err)) != MTK_OK)
				goto done;
		}
		if ((rc = make_csr(&c, old.leaf, neu.key, &csr, err)) != MTK_OK)
			goto done;
		rc = trk_issue(&c, env, csr, old.leaf, st.cookie, sizeof(st.cookie), &ans,
			       &st.poll_after, &neu.leaf, &neu.cas, err);
		if (rc != MTK_OK) {
			if (rc != MTK_E_UNREACHABLE && rc != MTK_E_TIMEOUT) {
				st.pending = false;
				st.cookie[0] = '\0';
				remove_staged(dir, name);
			}
			goto done;
		}
		if (ans == TRK_WAIT) {
			st.pending = true;
			st.last_error[0] = '\0';
			r->outcome = MTK_TRK_PENDING;
			snprintf(r->message, sizeof(r->message),
				 "the CA will answer later; polled on the next run");
			goto done;
		}
		st.pending = false;
		st.cookie[0] = '\0';
		/* A helper may print the leaf alone: the old chain completes it
		 * when it is still the issuer's (check proves it either way). */
		if (neu.cas == NULL && (neu.cas = sk_X509_new_null()) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
			goto done;
		}
		if ((rc = complete_chain(&c, &old, &neu, err)) != MTK_OK)
			goto done;
		if (!mtk_key_matches_cert(neu.key, neu.leaf)) {
			rc = mtk_err_set(err, MTK_E_KEY_MISMATCH,
					 "the issued certificate is not for the key we sent");
			remove_staged(dir, name);
			goto done;
		}
		if ((rc = check_new(&c, env, &neu, &r->findings, err)) != MTK_OK) {
			remove_staged(dir, name);
			goto done;
		}
		{
			mtk_buf cb = MTK_BUF_INIT;
			jpath(dir, name, "staged-cert.pem", p);
			rc = pem_certs(neu.leaf, neu.cas, &cb, err);
			if (rc == MTK_OK)
				rc = mtk_file_write(p, cb.data, cb.len,
						    MTK_WRITE_SECRET | MTK_WRITE_FORCE, err);
			mtk_buf_free(&cb);
			if (rc != MTK_OK)
				goto done;
		}
		if (c.keep_key) {
			/* the staged pair must be whole for a later run */
			if ((rc = write_staged_key(dir, name, neu.key, err)) != MTK_OK)
				goto done;
		}
		st.staged = true;
		if ((rc = trk_state_save(dir, name, &st, err)) != MTK_OK)
			goto done;
	}
	serial_of(neu.leaf, r->new_serial, sizeof(r->new_serial));

	if (c.verify != NULL) {
		bool ok = false;
		if ((rc = verify_new(&c, env, &neu, &ok, why, sizeof(why), err)) != MTK_OK)
			goto done;
		if (!ok) {
			r->outcome = MTK_TRK_STAGED;
			snprintf(st.last_error, sizeof(st.last_error), "staged: %.300s", why);
			snprintf(r->message, sizeof(r->message), "staged, not installed: %.300s", why);
			goto done;
		}
	}

	/* Install: backups + journal, then the new set, under the keystore's
	 * lock (released before the hook, which may restart what reads it). */
	if ((rc = lock_target(&c, env, &ks_lock, err)) != MTK_OK)
		goto done;
	if ((rc = new_outputs(&c, env, &neu, &o, err)) != MTK_OK ||
	    (rc = backup_and_journal(dir, name, &o, env->now, err)) != MTK_OK ||
	    (rc = commit_outputs(&o, err)) != MTK_OK)
		goto done;
	mtk_lock_release(ks_lock);
	ks_lock = NULL;
	if (c.hook != NULL)
		rc = run_cmd(&c, env, c.hook, c.hook_shell, "the hook", err);
	if (rc == MTK_OK && c.post_check != NULL)
		rc = run_cmd(&c, env, c.post_check, false, "the post-check", err);
	if (rc != MTK_OK) {
		mtk_err e2 = {0};
		bool did = false;
		if (lock_target(&c, env, &ks_lock, &e2) == MTK_OK &&
		    journal_rollback(dir, name, &did, &e2) == MTK_OK && did) {
			mtk_lock_release(ks_lock);
			ks_lock = NULL;
			r->rolled_back = true;
			if (c.hook != NULL) /* the service back on the old certificate */
				(void)run_cmd(&c, env, c.hook, c.hook_shell, "the hook", &e2);
		}
		st.staged = false;
		remove_staged(dir, name);
		if (rc != MTK_E_HOOK)
			rc = mtk_err_set(err, MTK_E_HOOK, "hook: %.300s", err->detail);
		goto done;
	}
	jpath(dir, name, "journal", p);
	(void)unlink(p);
	remove_staged(dir, name);
	st.staged = false;
	st.last_success = env->now;
	st.last_error[0] = '\0';
	if (mtk_cert_summarize(neu.leaf, &s, NULL) == MTK_OK) {
		r->not_after = s.not_after;
		st.not_after = s.not_after;
		st.next_renewal = mtk_track_due(&c, s.not_before, s.not_after);
	}
	r->outcome = MTK_TRK_RENEWED;
	snprintf(r->message, sizeof(r->message), "serial %s installed%s", r->new_serial,
		 c.verify ? " after the relying party accepted it" : "");
	rc = MTK_OK;
done:
	if (rc != MTK_OK) {
		r->outcome = MTK_TRK_FAILED;
		snprintf(r->message, sizeof(r->message), "%s%s%.300s", mtk_rc_message(rc),
			 err && err->detail[0] ? ": " : "", err ? err->detail : "");
		if (save_state)
			snprintf(st.last_error, sizeof(st.last_error), "%.380s", r->message);
	}
	if (save_state && conf_ok) {
		mtk_err e2 = {0};
		if (r->outcome != MTK_TRK_RENEWED && r->not_after != 0) {
			st.not_after = r->not_after;
			st.next_renewal = r->due;
		}
		for (char *q = st.last_error; *q; q++)
			if ((unsigned char)*q < 0x20)
				*q = ' ';
		if (trk_state_save(dir, name, &st, &e2) != MTK_OK && rc == MTK_OK)
			rc = mtk_err_set(err, e2.code, "%s", e2.detail);
	}
	outlist_free(&o);
	X509_REQ_free(csr);
	mat_free(&old);
	mat_free(&neu);
	mtk_lock_release(ks_lock);
	mtk_lock_release(lock);
	if (conf_ok)
		mtk_track_conf_free(&c);
	return rc;
}
