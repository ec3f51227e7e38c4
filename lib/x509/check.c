/*
 * check.c - the rules of each target applied to what was loaded (check.h).
 *
 * One pass builds the facts (the chain, a summary of every certificate, the
 * keys and where they sit), then each rule asks the table below whether it
 * applies to the profile and at which severity.  The messages quote what the
 * user would see (the MID Server's own error text) and every fix is a
 * command.
 */
#include "mtlskit/check.h"
#include "mtlskit/timeval.h"

#include "formats/pkcs8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/mid.h"

/* ---- profiles ---- */

static const char *const profile_names[] = {
    "auto", "mid", "outbound", "upload-user", "upload-ca", "trust-store", "server",
};
#define NPROFILES (sizeof(profile_names) / sizeof(profile_names[0]))

const char *mtk_profile_name(mtk_profile p)
{
	if ((unsigned)p >= NPROFILES)
		return "unknown";
	return profile_names[p];
}

mtk_rc mtk_profile_from_name(const char *name, mtk_profile *out)
{
	for (unsigned i = 0; name != NULL && i < NPROFILES; i++) {
		if (strcmp(name, profile_names[i]) == 0) {
			*out = (mtk_profile)i;
			return MTK_OK;
		}
	}
	return MTK_E_INVALID_ARG;
}

/* ---- the rule table: severity per profile, or NA ---- */

enum { NA = -1, I = MTK_SEV_INFO, W = MTK_SEV_WARNING, E = MTK_SEV_ERROR };

/* Columns: auto, mid, outbound, upload-user, upload-ca, trust-store, server. */
static int rule_sev(mtk_profile p, mtk_finding_id id)
{
	static const struct {
		mtk_finding_id id;
		signed char sev[7];
	} rules[] = {
	    {MTK_F_KEY_NOT_PKCS8, {I, E, NA, NA, NA, NA, NA}},
	    {MTK_F_KEY_ENCRYPTED, {I, E, NA, NA, NA, NA, W}},
	    {MTK_F_KEY_MISMATCH, {E, E, E, NA, NA, NA, E}},
	    {MTK_F_KEY_MISSING, {NA, E, E, NA, NA, NA, E}},
	    {MTK_F_KEY_IN_UPLOAD, {NA, NA, NA, E, E, E, NA}},
	    {MTK_F_CHAIN_INCOMPLETE, {I, E, E, NA, E, NA, I}},
	    {MTK_F_CHAIN_ORDER, {W, E, W, W, E, NA, E}},
	    {MTK_F_CHAIN_BROKEN, {E, E, E, NA, E, NA, E}},
	    {MTK_F_CHAIN_UNTRUSTED, {E, E, E, E, E, E, E}},
	    /* outbound: article 002 builds exactly that, and the third party
	     * trusts that certificate ("not recommended") */
	    {MTK_F_LEAF_SELF_SIGNED, {W, E, I, E, NA, NA, W}},
	    {MTK_F_LEAF_NO_CLIENT_AUTH, {NA, E, E, E, NA, NA, NA}},
	    {MTK_F_LEAF_NO_SERVER_AUTH, {NA, NA, NA, NA, NA, NA, E}},
	    {MTK_F_CERT_EXPIRED, {E, E, E, E, E, E, E}},
	    {MTK_F_CERT_NOT_YET_VALID, {E, E, E, E, E, E, E}},
	    {MTK_F_CERT_EXPIRING, {W, W, W, W, W, W, W}},
	    {MTK_F_KEYSTORE_ALIAS, {E, E, E, NA, NA, NA, NA}},
	    {MTK_F_KEYSTORE_TYPE, {NA, E, E, E, E, E, NA}},
	    {MTK_F_SUBJECT_INVALID, {W, W, W, W, W, NA, W}},
	    {MTK_F_SUBJECT_SERVICENOW_DOMAIN, {E, E, E, E, NA, NA, E}},
	    {MTK_F_WEAK_CRYPTO, {E, E, E, E, E, E, E}},
	};

	if ((unsigned)p >= NPROFILES)
		return NA;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].id == id)
			return rules[i].sev[p];
	return NA;
}

bool mtk_check_rule_applies(mtk_profile profile, mtk_finding_id id)
{
	return rule_sev(profile, id) != NA;
}

/* ---- the facts ---- */

typedef struct cinfo {
	const mtk_obj *obj;    /* NULL for certificates that came from elsewhere */
	X509 *cert;            /* borrowed */
	mtk_cert_summary s;
	bool in_chain;
	bool dup;              /* the same certificate appears earlier in the same entry */
	bool copy;             /* the same certificate is also in another keystore entry */
	bool trusted_entry;    /* a keystore's trusted-certificate entry (its own alias) */
} cinfo;

typedef struct ctx {
	const mtk_set *set;     /* what the rules see: all, or one keystore entry (focus) */
	const mtk_set *all;     /* everything given */
	const mtk_check_opts *o;
	mtk_profile p;
	mtk_findings *fs;
	mtk_err *err;
	cinfo *certs;
	size_t ncerts;
	mtk_chain ch;
	bool have_chain;
	char inputs[1024]; /* the inputs, shell-quoted, for fix commands */
	const char *focus; /* the keystore entry checked, when the input has several */
	bool any_alias;
	bool keystore;       /* the input is a keystore with named entries */
	const char *key_alias; /* the key entry the rules look at */
	const char *first_source;
} ctx;

void mtk_check_quote_append(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);
	bool plain = *s != '\0';

	for (const char *q = s; *q && plain; q++)
		if (!(isalnum((unsigned char)*q) || strchr("/._-+,:=@%", *q)))
			plain = false;
	if (n > 0 && n + 1 < cap)
		out[n++] = ' ';
	out[n] = '\0';
	if (plain) {
		/* "-x.pem" would read as an option */
		snprintf(out + n, cap - n, "%s%s", s[0] == '-' && s[1] != '\0' ? "./" : "", s);
		return;
	}
	if (n + 1 < cap)
		out[n++] = '\'';
	for (const char *q = s; *q && n + 5 < cap; q++) {
		if (*q == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *q;
		}
	}
	if (n + 1 < cap)
		out[n++] = '\'';
	out[n < cap ? n : cap - 1] = '\0';
}

static mtk_rc vadd(ctx *x, mtk_finding_id id, const mtk_obj *o, const char *fix, const char *advice,
		   const char *fmt, va_list ap)
{
	int sev = rule_sev(x->p, id);
	char msg[1024], where[160];
	const char *file = NULL, *w = NULL;
	long line = 0;
	mtk_rc rc;

	if (sev == NA)
		return MTK_OK;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (o != NULL) {
		file = o->source;
		line = o->line;
		if (o->alias != NULL) {
			snprintf(where, sizeof(where), "alias %s", o->alias);
			w = where;
		} else if (o->line == 0 && o->index > 0) {
			snprintf(where, sizeof(where), "object %d", o->index + 1);
			w = where;
		}
	} else {
		file = x->first_source;
	}
	rc = mtk_findings_add_advice(x->fs, id, (mtk_severity)sev, file, line, w, fix, advice, "%s",
				     msg);
	if (rc != MTK_OK)
		return mtk_err_set(x->err, rc, "check");
	return MTK_OK;
}

static mtk_rc add(ctx *x, mtk_finding_id id, const mtk_obj *o, const char *fix, const char *fmt,
		  ...) MTK_PRINTF(5, 6);
static mtk_rc add_adv(ctx *x, mtk_finding_id id, const mtk_obj *o, const char *fix,
		      const char *advice, const char *fmt, ...) MTK_PRINTF(6, 7);

/* Adds a finding at o's place (file, line, alias) when the rule applies.
 * fix is a command that runs as printed: it names only the inputs and the
 * files it writes.  A remedy that needs something only the user has (their
 * CA, a file we cannot name, the instance) is advice. */
static mtk_rc add(ctx *x, mtk_finding_id id, const mtk_obj *o, const char *fix, const char *fmt, ...)
{
	va_list ap;
	mtk_rc rc;

	va_start(ap, fmt);
	rc = vadd(x, id, o, fix, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static mtk_rc add_adv(ctx *x, mtk_finding_id id, const mtk_obj *o, const char *fix,
		      const char *advice, const char *fmt, ...)
{
	va_list ap;
	mtk_rc rc;

	va_start(ap, fmt);
	rc = vadd(x, id, o, fix, advice, fmt, ap);
	va_end(ap);
	return rc;
}

/* Lowers the severity of the finding just added (if one was). */
static void set_last_sev(ctx *x, size_t before, mtk_severity sev)
{
	if (x->fs->count > before)
		x->fs->items[x->fs->count - 1].severity = sev;
}

/* A short name for a certificate in messages: its CN, else the subject. */
static const char *cert_name(const cinfo *c, char *buf, size_t cap)
{
	X509_NAME *n = X509_get_subject_name(c->cert);
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);

	if (i >= 0) {
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
		unsigned char *u = NULL;
		int len = ASN1_STRING_to_UTF8(&u, d);
		if (len >= 0) {
			snprintf(buf, cap, "'%.*s'", len, (const char *)u);
			OPENSSL_free(u);
			return buf;
		}
	}
	snprintf(buf, cap, "'%s'", c->s.subject[0] ? c->s.subject : "(empty subject)");
	return buf;
}

static bool pem_cert(const mtk_obj *o)
{
	return o->label != NULL && (strcmp(o->label, "CERTIFICATE") == 0 ||
				    strcmp(o->label, "X509 CERTIFICATE") == 0 ||
				    strcmp(o->label, "TRUSTED CERTIFICATE") == 0);
}

static cinfo *find_cert(ctx *x, X509 *cert)
{
	for (size_t i = 0; i < x->ncerts; i++)
		if (x->certs[i].cert == cert)
			return &x->certs[i];
	return NULL;
}

static mtk_rc gather(ctx *x)
{
	const mtk_set *set = x->set;

	x->certs = calloc(set->count + 1, sizeof(*x->certs));
	if (x->certs == NULL)
		return mtk_err_set(x->err, MTK_E_NOMEM, "check");
	for (size_t i = 0; i < set->count; i++) {
		const mtk_obj *o = &set->objs[i];
		bool seen = false;

		if (o->source != NULL) {
			if (x->first_source == NULL)
				x->first_source = o->source;
			for (size_t k = 0; k < i && !seen; k++)
				seen = set->objs[k].source && strcmp(set->objs[k].source, o->source) == 0;
			if (!seen)
				mtk_check_quote_append(x->inputs, sizeof(x->inputs), o->source);
		}
		if (o->kind != MTK_OBJ_CERT || o->cert == NULL)
			continue;
		cinfo *c = &x->certs[x->ncerts];
		c->obj = o;
		c->cert = o->cert;
		if (mtk_cert_summarize(o->cert, &c->s, NULL) != MTK_OK) {
			/* A certificate whose fields do not decode is reported by
			 * the loader; keep it out of the rules. */
			ERR_clear_error();
			continue;
		}
		/* A certificate is a duplicate only within one entry (or among
		 * alias-less objects): the same CA as a trusted entry and inside
		 * a key entry's chain is how keytool builds a keystore. */
		for (size_t k = 0; k < x->ncerts && !c->dup; k++) {
			const mtk_obj *ko = x->certs[k].obj;
			bool same_entry = (ko->alias == NULL && o->alias == NULL) ||
					  (ko->alias && o->alias && strcmp(ko->alias, o->alias) == 0);
			if (X509_cmp(x->certs[k].cert, o->cert) != 0)
				continue;
			if (same_entry)
				c->dup = true;
			else
				c->copy = x->certs[k].copy = true;
		}
		if (x->keystore && o->alias != NULL) {
			bool keyed = false;
			for (size_t k = 0; k < x->all->count && !keyed; k++)
				keyed = x->all->objs[k].kind == MTK_OBJ_KEY && x->all->objs[k].alias &&
					strcmp(x->all->objs[k].alias, o->alias) == 0;
			c->trusted_entry = !keyed;
		}
		x->ncerts++;
	}
	if (x->o->fix_inputs != NULL)
		snprintf(x->inputs, sizeof(x->inputs), "%s", x->o->fix_inputs);
	if (x->inputs[0] == '\0')
		snprintf(x->inputs, sizeof(x->inputs), "FILE");
	return MTK_OK;
}

/* ---- keys ---- */

static mtk_rc check_keys(ctx *x)
{
	char fix[1400];
	size_t nkeys = 0;
	mtk_rc rc = MTK_OK;

	for (size_t i = 0; i < x->set->count && rc == MTK_OK; i++) {
		const mtk_obj *k = &x->set->objs[i];
		char qs[600] = "";

		if (k->kind != MTK_OBJ_KEY)
			continue;
		nkeys++;
		mtk_check_quote_append(qs, sizeof(qs), k->source ? k->source : "key.pem");
		if (x->p == MTK_PROFILE_UPLOAD_USER || x->p == MTK_PROFILE_UPLOAD_CA ||
		    x->p == MTK_PROFILE_TRUST_STORE) {
			const char *what = x->p == MTK_PROFILE_UPLOAD_USER ? "sys_user_certificate (the leaf only)"
					   : x->p == MTK_PROFILE_UPLOAD_CA ? "sys_ca_certificate (the CA chain only)"
									   : "a Trust Store Cert record (the public certificate only)";
			snprintf(fix, sizeof(fix), "mtlskit bundle %s --%s -o %s", qs,
				 x->p == MTK_PROFILE_UPLOAD_CA ? "ca-only" : "leaf-only",
				 x->p == MTK_PROFILE_UPLOAD_CA ? "ca-chain.pem" : "upload-leaf.pem");
			rc = add(x, MTK_F_KEY_IN_UPLOAD, k, fix,
				 "a private key is in a file meant for upload to %s; the private key must never "
				 "leave the machine that uses it",
				 what);
			continue;
		}
		if (k->key_form == MTK_KEY_CONTAINER && k->key == NULL && k->alias != NULL) {
			/* A keystore key the store password did not open (load.c). */
			snprintf(fix, sizeof(fix),
				 "mtlskit keystore passwd %s --alias %s --key-pass env:KEY_PASS "
				 "--out-pass env:STORE_PASS",
				 k->source ? k->source : "STORE", k->alias);
			rc = add(x, MTK_F_KEY_ENCRYPTED, k, fix,
				 "the key of alias %s has a password that differs from the store "
				 "password; Java applications (the MID Server among them) open keys "
				 "with the store password and fail with 'Cannot recover key'; give "
				 "--key-pass to check the key",
				 k->alias);
		} else if (k->key_form == MTK_KEY_PKCS8_ENCRYPTED || k->key_form == MTK_KEY_LEGACY_ENCRYPTED) {
			snprintf(fix, sizeof(fix), "mtlskit bundle %s --pass env:KEY_PASS -o fixed.pem",
				 x->inputs);
			rc = add(x, MTK_F_KEY_ENCRYPTED, k, fix,
				 "the private key is encrypted (%s%s); %s%s",
				 k->label ? k->label : "encrypted",
				 k->key_form == MTK_KEY_LEGACY_ENCRYPTED ? ", legacy PEM encryption" : "",
				 x->p == MTK_PROFILE_SERVER
				     ? "the server cannot start unattended: it asks for the passphrase"
				     : "the MID Server needs an unencrypted PKCS#8 key ('BEGIN PRIVATE KEY') and "
				       "will say 'Could not find valid private key'",
				 k->key == NULL ? "; give --pass to also check that it matches the certificate"
						: "");
		} else if (k->key_form == MTK_KEY_PKCS1 || k->key_form == MTK_KEY_SEC1) {
			char form[64];
			if (k->label != NULL)
				snprintf(form, sizeof(form), "'BEGIN %s'", k->label);
			else
				snprintf(form, sizeof(form), "in DER");
			snprintf(fix, sizeof(fix), "mtlskit bundle %s -o fixed.pem", x->inputs);
			rc = add(x, MTK_F_KEY_NOT_PKCS8, k, fix,
				 "the private key is %s (%s), not PKCS#8 ('BEGIN PRIVATE KEY'); the MID "
				 "Server will say 'Could not find valid private key'",
				 k->key_form == MTK_KEY_PKCS1 ? "PKCS#1" : "SEC1", form);
		}
		if (rc == MTK_OK && mtk_key_explicit_curve(k->key))
			rc = add_adv(x, MTK_F_WEAK_CRYPTO, k, NULL,
				     "make a new key on a named curve (mtlskit key generate --key-type "
				     "ec:P-256) and have its certificate issued",
				     "the private key is on an EC curve given by explicit parameters that "
				     "match no named curve; PKIX requires a named curve, and Java (\"Only "
				     "named ECParameters supported\"), keytool and GnuTLS refuse it");
		if (rc != MTK_OK || k->key == NULL || x->ncerts == 0)
			continue;
		{
			bool match = false;
			for (size_t j = 0; j < x->ncerts && !match; j++)
				match = mtk_key_matches_cert(k->key, x->certs[j].cert);
			if (!match) {
				char kd[64];
				mtk_key_describe(k->key, kd, sizeof(kd));
				rc = add_adv(x, MTK_F_KEY_MISMATCH, k, NULL,
					 "use the key the certificate's CSR was made with; if it is lost, "
					 "generate a new key and CSR (mtlskit key generate, mtlskit csr "
					 "create) and have the CA issue a new certificate",
					 "this private key (%s) belongs to none of the certificates%s; the TLS "
					 "handshake cannot work with it",
					 kd,
					 x->ch.key_matches ? " (another key in the input is the leaf's)"
							   : " given");
			}
		}
	}
	if (rc == MTK_OK && nkeys == 0 && x->ncerts > 0) {
		snprintf(fix, sizeof(fix),
			 "add the leaf's private key (the file it was generated into): mtlskit bundle %s "
			 "YOUR-KEY.pem -o fixed.pem",
			 x->inputs);
		rc = add_adv(x, MTK_F_KEY_MISSING, NULL, NULL, fix,
			 "no private key in the input; %s needs the leaf's private key (a PFX or chain "
			 "fetched from a server holds only public certificates)",
			 x->p == MTK_PROFILE_MID	 ? "the MID Server bundle"
			 : x->p == MTK_PROFILE_OUTBOUND ? "a Java Key Store certificate record"
							: "a server");
	}
	return rc;
}

/* ---- chain ---- */

/* What the MID Server says, for the profiles about it (mid, auto); other
 * targets (an outbound keystore, an upload) get no MID Server words. */
static const char *mid_clause(const ctx *x, const char *clause)
{
	return x->p == MTK_PROFILE_MID || x->p == MTK_PROFILE_AUTO ? clause : "";
}

/* The command that rewrites the inputs in order (bundle does the ordering
 * and drops copies), for what this profile uploads or installs; NULL when
 * no command can (a keystore entry: install-reply needs the CA's reply). */
static const char *reorder_fix(ctx *x, char *buf, size_t cap)
{
	if (x->keystore)
		return NULL;
	if (x->p == MTK_PROFILE_UPLOAD_CA || x->p == MTK_PROFILE_TRUST_STORE ||
	    (x->ch.key == NULL && x->ch.leaf != NULL && X509_check_ca(x->ch.leaf) > 0))
		snprintf(buf, cap, "mtlskit bundle %s --ca-only -o ca-chain.pem", x->inputs);
	else if (x->p == MTK_PROFILE_UPLOAD_USER || x->ch.key == NULL)
		snprintf(buf, cap, "mtlskit bundle %s --leaf-only -o upload-leaf.pem", x->inputs);
	else if (x->ch.key_obj != NULL && x->ch.key_obj->encrypted)
		snprintf(buf, cap, "mtlskit bundle %s --pass env:KEY_PASS -o fixed.pem", x->inputs);
	else
		snprintf(buf, cap, "mtlskit bundle %s -o fixed.pem", x->inputs);
	return buf;
}

/* Advice for a chain only the CA can complete or repair: what to get, and
 * what to run with it (a placeholder file name: only the user has it). */
static void chain_advice(ctx *x, const char *what, const char *file, char *buf, size_t cap)
{
	if (x->keystore)
		snprintf(buf, cap,
			 "%sthen re-import the signed certificate with its chain: mtlskit keystore "
			 "install-reply %s --alias %s --pass env:STORE_PASS %s",
			 what, x->first_source ? x->first_source : "KEYSTORE", x->key_alias, file);
	else if (x->p == MTK_PROFILE_UPLOAD_CA || x->p == MTK_PROFILE_TRUST_STORE)
		snprintf(buf, cap, "%sthen: mtlskit bundle %s %s --ca-only -o ca-chain.pem", what,
			 x->inputs, file);
	else
		snprintf(buf, cap, "%sthen: mtlskit bundle %s --ca %s -o fixed.pem", what, x->inputs,
			 file);
}

static mtk_rc check_chain(ctx *x)
{
	mtk_chain *ch = &x->ch;
	char fix[1400], nm[600], nm2[600];
	cinfo *leaf = find_cert(x, ch->leaf);
	int ncas = sk_X509_num(ch->cas);
	X509 *top = ncas > 0 ? sk_X509_value(ch->cas, ncas - 1) : ch->leaf;
	cinfo *topc = find_cert(x, top);
	size_t extra = 0;
	mtk_rc rc = MTK_OK;

	if (leaf != NULL)
		leaf->in_chain = true;
	for (int i = 0; i < ncas; i++) {
		cinfo *c = find_cert(x, sk_X509_value(ch->cas, i));
		if (c != NULL)
			c->in_chain = true;
	}

	/* upload-ca: CA certificates only. */
	if (x->p == MTK_PROFILE_UPLOAD_CA) {
		for (size_t i = 0; i < x->ncerts && rc == MTK_OK; i++) {
			cinfo *c = &x->certs[i];
			if (c->s.is_ca || c->dup)
				continue;
			snprintf(fix, sizeof(fix), "mtlskit bundle %s --ca-only -o ca-chain.pem", x->inputs);
			rc = add(x, MTK_F_CHAIN_ORDER, c->obj, fix,
				 "%s is not a CA certificate (no basicConstraints CA:TRUE); sys_ca_certificate "
				 "takes the CA chain only; the leaf goes to sys_user_certificate",
				 cert_name(c, nm, sizeof(nm)));
		}
	}
	/* upload-user: the leaf only. */
	if (x->p == MTK_PROFILE_UPLOAD_USER && x->ncerts > 1 && rc == MTK_OK) {
		snprintf(fix, sizeof(fix), "mtlskit bundle %s --leaf-only -o upload-leaf.pem", x->inputs);
		rc = add(x, MTK_F_CHAIN_ORDER, leaf ? leaf->obj : NULL, fix,
			 "the file holds %zu certificates; sys_user_certificate takes the leaf %s only",
			 x->ncerts, leaf ? cert_name(leaf, nm, sizeof(nm)) : "");
		return rc;
	}
	if (x->p == MTK_PROFILE_UPLOAD_USER || x->p == MTK_PROFILE_TRUST_STORE)
		goto trust;

	/* Order: within one file, the chain must appear leaf → root.  Across
	 * files order does not matter (bundle puts the parts in order). */
	{
		cinfo *prev = leaf;
		for (int i = 0; i < ncas && rc == MTK_OK; i++) {
			cinfo *c = find_cert(x, sk_X509_value(ch->cas, i));
			if (c == NULL || prev == NULL || c->obj == NULL || prev->obj == NULL)
				continue;
			/* Only PEM text has an order the user controls; PFX bags
			 * and PKCS#7 sets are unordered. */
			if (pem_cert(c->obj) && pem_cert(prev->obj) && c->obj->source && prev->obj->source &&
			    strcmp(c->obj->source, prev->obj->source) == 0 &&
			    c->obj->index < prev->obj->index) {
				rc = add_adv(x, MTK_F_CHAIN_ORDER, c->obj, reorder_fix(x, fix, sizeof(fix)),
					 x->keystore ? "re-import the CA's reply in order: mtlskit keystore "
						       "install-reply"
						     : NULL,
					 "the certificates are not in leaf -> intermediates -> root order: %s "
					 "(the issuer of %s) comes before it%s",
					 cert_name(c, nm, sizeof(nm)), cert_name(prev, nm2, sizeof(nm2)),
					 mid_clause(x, "; the MID Server will say 'Certificate chain is not "
						       "end with a CA cert'"));
				break;
			}
			prev = c;
		}
	}
	/* MID: the key goes after the chain, or right after the leaf; before
	 * the leaf is unusual enough to warn about. */
	if (rc == MTK_OK && x->p == MTK_PROFILE_MID && ch->key_obj != NULL && ch->key_obj->label != NULL &&
	    leaf != NULL &&
	    leaf->obj != NULL && ch->key_obj->source && leaf->obj->source &&
	    strcmp(ch->key_obj->source, leaf->obj->source) == 0 && ch->key_obj->index < leaf->obj->index) {
		size_t before = x->fs->count;
		snprintf(fix, sizeof(fix), "mtlskit bundle %s -o fixed.pem", x->inputs);
		rc = add(x, MTK_F_CHAIN_ORDER, ch->key_obj, fix,
			 "the private key comes before the certificates; the MID Server bundle is leaf -> "
			 "intermediates -> root -> key (the key right after the leaf also works)");
		set_last_sev(x, before, MTK_SEV_WARNING);
	}
	if (rc != MTK_OK)
		return rc;

	/* Duplicates and certificates outside the chain. */
	for (size_t i = 0; i < x->ncerts && rc == MTK_OK; i++) {
		cinfo *c = &x->certs[i];
		/* A keystore's trusted entries are not part of the key entry's
		 * chain, and need not be: they are what the store trusts. */
		if (c->in_chain || c->trusted_entry || c->copy)
			continue;
		if (c->dup) {
			rc = add_adv(x, MTK_F_CHAIN_ORDER, c->obj, reorder_fix(x, fix, sizeof(fix)),
				     x->keystore ? "re-import the entry's chain without the copy: mtlskit "
						   "keystore install-reply"
						 : NULL,
				     "%s appears more than once", cert_name(c, nm, sizeof(nm)));
			continue;
		}
		extra++;
	}
	if (rc != MTK_OK)
		return rc;

	if (ch->loop) {
		chain_advice(x, "keep one path to a self-signed root: ", "THE-ROOT.pem", fix, sizeof(fix));
		rc = add_adv(x, MTK_F_CHAIN_BROKEN, topc ? topc->obj : NULL, NULL, fix,
			 "the issuers form a loop (certificates cross-signed by each other) and never reach "
			 "a self-signed root; no verifier can build a path from this");
	} else if (ch->broken) {
		chain_advice(x, "get the CA certificate that really signed it from your CA: ",
			     "REAL-ISSUER.pem", fix, sizeof(fix));
		rc = add_adv(x, MTK_F_CHAIN_BROKEN, topc ? topc->obj : NULL, NULL, fix,
			 "%s names an issuer that is in the input, but that certificate's key did not sign it "
			 "(signature check fails: a re-issued or wrong CA certificate)",
			 topc ? cert_name(topc, nm, sizeof(nm)) : "a certificate");
	} else if (!ch->complete && extra > 0 && topc != NULL) {
		chain_advice(x, "get the missing issuer from your CA: ", "ISSUER.pem", fix, sizeof(fix));
		rc = add_adv(x, MTK_F_CHAIN_BROKEN, topc->obj, NULL, fix,
			 "the issuer of %s ('%s') is missing, so the chain is broken: the other CA "
			 "certificates in the input do not connect to it",
			 cert_name(topc, nm, sizeof(nm)), topc->s.issuer);
	} else if (!ch->complete) {
		chain_advice(x, "get the rest of the chain (up to the root) from your CA: ", "CA-CHAIN.pem",
			     fix, sizeof(fix));
		rc = add_adv(x, MTK_F_CHAIN_INCOMPLETE, topc ? topc->obj : NULL, NULL, fix,
			 "the chain ends at %s, which is not a self-signed root (its issuer '%s' is not in the "
			 "input)%s",
			 topc ? cert_name(topc, nm, sizeof(nm)) : "a certificate",
			 topc ? topc->s.issuer : "?",
			 mid_clause(x, "; the MID Server will say 'Certificate chain is not end with a CA "
				       "cert'"));
	}
	if (rc != MTK_OK)
		return rc;
	/* Certificates that belong to no chain. */
	if (extra > 0 && (ch->complete || ch->loop || ch->broken)) {
		if (x->p == MTK_PROFILE_AUTO) {
			size_t before = x->fs->count;
			rc = add(x, MTK_F_CHAIN_BROKEN, NULL, NULL,
				 "%zu certificate%s in the input %s not part of the leaf's chain", extra,
				 extra == 1 ? "" : "s", extra == 1 ? "is" : "are");
			/* informational in auto: a CA store file holds many chains */
			set_last_sev(x, before, MTK_SEV_INFO);
		} else {
			for (size_t i = 0; i < x->ncerts && rc == MTK_OK; i++) {
				cinfo *c = &x->certs[i];
				if (c->in_chain || c->dup || c->trusted_entry || c->copy)
					continue;
				char adv[800] = "";
				/* Inside a key entry's chain: only a new import of the
				 * reply (or the key with its real chain) rewrites it. */
				if (x->keystore)
					snprintf(adv, sizeof(adv),
						 "write the entry again with its real chain: mtlskit keystore "
						 "install-reply %s --alias %s --pass env:STORE_PASS CA-REPLY.pem "
						 "(or keystore add-key --force from a bundle made by mtlskit bundle)",
						 x->first_source ? x->first_source : "KEYSTORE", x->key_alias);
				rc = add_adv(x, MTK_F_CHAIN_BROKEN, c->obj, reorder_fix(x, fix, sizeof(fix)),
					     adv[0] ? adv : NULL, "%s is not part of the leaf's chain%s",
					     cert_name(c, nm, sizeof(nm)),
					     x->p == MTK_PROFILE_UPLOAD_CA ? " (sys_ca_certificate takes one chain)"
									   : "");
			}
		}
	}
trust:
	if (rc == MTK_OK && x->o->trusted != NULL && sk_X509_num(x->o->trusted) > 0) {
		bool ok = false;
		STACK_OF(X509) *tr = x->o->trusted;

		for (int t = 0; t < sk_X509_num(tr) && !ok; t++) {
			X509 *tc = sk_X509_value(tr, t);
			ok = X509_cmp(tc, ch->leaf) == 0 || mtk_cert_issued_by(top, tc);
			for (int i = 0; i < ncas && !ok; i++)
				ok = X509_cmp(tc, sk_X509_value(ch->cas, i)) == 0;
		}
		if (!ok) {
			snprintf(fix, sizeof(fix),
				 "no tool can change who issued a certificate: if %s is the right CA, have the "
				 "certificate re-issued by it (new CSR: mtlskit renew); otherwise make the peer "
				 "trust the CA that did issue it (upload that chain to sys_ca_certificate)",
				 x->o->trusted_name ? x->o->trusted_name : "that");
			rc = add_adv(x, MTK_F_CHAIN_UNTRUSTED, topc ? topc->obj : (leaf ? leaf->obj : NULL),
				     NULL, fix,
				 "the chain of %s does not lead to the CA in %s; a peer that trusts only that CA "
				 "refuses the handshake%s",
				 leaf ? cert_name(leaf, nm, sizeof(nm)) : "the leaf",
				 x->o->trusted_name ? x->o->trusted_name : "--ca",
				 mid_clause(x, " (the MID Server sees an SSLHandshakeException)"));
		}
	}
	return rc;
}

/* ---- the leaf ---- */

/* Article 003's way, for a key entry: a request from the entry's key, the
 * CA signs it, the reply goes back into the same entry. */
static void ks_request_advice(ctx *x, const char *usage, char *buf, size_t cap)
{
	const char *ks = x->first_source ? x->first_source : "KEYSTORE";

	snprintf(buf, cap,
		 "have your CA certify the entry's key: mtlskit keystore csr %s --alias %s --pass "
		 "env:STORE_PASS --usage %s -o %s.csr, have the CA sign it, then mtlskit keystore "
		 "install-reply %s --alias %s --pass env:STORE_PASS SIGNED-REPLY.pem",
		 ks, x->key_alias, usage, x->key_alias, ks, x->key_alias);
}

/* The renewal request that asks for usage, as a command that runs as
 * printed: only when the key is in the input as plain PEM (else empty). */
static void renew_cmd(ctx *x, const cinfo *leaf, const char *usage, char *buf, size_t cap)
{
	const mtk_obj *k = x->ch.key_obj;
	char q[600] = "", kq[600] = "";

	buf[0] = '\0';
	if (k == NULL || k->source == NULL || k->label == NULL || k->encrypted || leaf->obj == NULL ||
	    leaf->obj->source == NULL || leaf->obj->label == NULL || x->keystore)
		return;
	mtk_check_quote_append(q, sizeof(q), leaf->obj->source);
	mtk_check_quote_append(kq, sizeof(kq), k->source);
	snprintf(buf, cap, "mtlskit renew %s --key %s --usage %s -o renew.csr", q, kq, usage);
}

static bool has_san_dns(X509 *cert, bool *sn_domain, char *bad, size_t cap);

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static bool servicenow_name(const char *n)
{
	return strcasecmp(n, "service-now.com") == 0 || ends_with_ci(n, ".service-now.com");
}

/* An FQDN: two or more labels of letters, digits and hyphens (a leading
 * "*." wildcard allowed), not an IP address. */
static bool is_fqdn(const char *n)
{
	size_t len = strlen(n), label = 0, labels = 0;
	bool alpha_tld = false;

	if (strncmp(n, "*.", 2) == 0)
		n += 2, len -= 2;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = n[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || n[i - 1] == '-')
				return false;
			labels++;
			alpha_tld = false;
			for (size_t k = i - label; k < i; k++)
				if (isalpha((unsigned char)n[k]))
					alpha_tld = true;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)ch) || ch == '-') || (label == 0 && ch == '-'))
			return false;
		label++;
	}
	return labels >= 2 && alpha_tld;
}

static bool has_san_dns(X509 *cert, bool *sn_domain, char *bad, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool any = false;

	*sn_domain = false;
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		any = true;
		{
			const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
			int l = ASN1_STRING_length(g->d.dNSName);
			char name[256];
			if (l < 0 || (size_t)l >= sizeof(name))
				continue;
			memcpy(name, d, (size_t)l);
			name[l] = '\0';
			if (servicenow_name(name)) {
				*sn_domain = true;
				snprintf(bad, cap, "%s", name);
			}
		}
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return any;
}

static const char iso3166[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM "
    "ZW";

static bool iso_country(const unsigned char *c, int len)
{
	if (len != 2 || !isupper(c[0]) || !isupper(c[1]))
		return false;
	/* entries are "XX " with no space after the last one */
	for (size_t i = 0; i + 2 <= sizeof(iso3166) - 1; i += 3)
		if (iso3166[i] == (char)c[0] && iso3166[i + 1] == (char)c[1])
			return true;
	return false;
}

/* The first value of nid in the subject as UTF-8 into out ("" if absent). */
static bool subject_value(X509 *cert, int nid, char *out, size_t cap)
{
	X509_NAME *n = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(n, nid, -1);
	unsigned char *u = NULL;
	int len;

	out[0] = '\0';
	if (i < 0)
		return false;
	len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
	if (len < 0)
		return false;
	snprintf(out, cap, "%.*s", len, (const char *)u);
	OPENSSL_free(u);
	return true;
}

static mtk_rc check_leaf(ctx *x)
{
	cinfo *leaf = find_cert(x, x->ch.leaf);
	char fix[1400], nm[600], cn[256] = "", bad[256] = "";
	bool sn_san = false, san;
	mtk_rc rc = MTK_OK;

	if (leaf == NULL)
		return MTK_OK;
	/* A lone CA certificate is not a leaf in auto mode (a root file). */
	if (x->p == MTK_PROFILE_AUTO && x->ch.key == NULL)
		goto names;
	if (x->p == MTK_PROFILE_UPLOAD_CA || x->p == MTK_PROFILE_TRUST_STORE)
		goto names;
	renew_cmd(x, leaf, x->p == MTK_PROFILE_SERVER ? "server" : "client", fix, sizeof(fix));
	if (leaf->s.self_signed) {
		char adv[1600];
		if (x->keystore)
			ks_request_advice(x, "client", adv, sizeof(adv));
		else
			snprintf(adv, sizeof(adv),
				 "have a CA certify it: %s%s, then have the request signed by your CA (or "
				 "mtlskit ca sign) and install the result",
				 fix[0] ? "" : "a request from the same key: ",
				 fix[0] ? fix : "mtlskit renew CERT --key YOUR-KEY.pem -o renew.csr");
		rc = add_adv(x, MTK_F_LEAF_SELF_SIGNED, leaf->obj, NULL, adv,
			     x->p == MTK_PROFILE_OUTBOUND
				 ? "%s is self-signed; the third party must trust this very certificate "
				   "(not recommended: have it certified by a CA)"
				 : "%s is self-signed; the instance does not accept self-signed client "
				   "certificates for MID Server mutual authentication: it must be issued by a "
				   "private or commercial CA",
			     cert_name(leaf, nm, sizeof(nm)));
	}
	if (rc == MTK_OK && (!leaf->s.client_auth || !leaf->s.has_eku)) {
		char adv[1600];
		if (x->keystore)
			ks_request_advice(x, "client", adv, sizeof(adv));
		else
			snprintf(adv, sizeof(adv),
				 "%s%shave the request signed by your CA with a client-authentication "
				 "template (or mtlskit ca sign --profile client) and install the new "
				 "certificate",
				 fix[0] ? "" : "make a request that asks for clientAuth: mtlskit renew CERT "
					       "--key YOUR-KEY.pem --usage client -o renew.csr",
				 fix[0] ? "" : "; ");
		if (leaf->s.has_eku)
			rc = add_adv(x, MTK_F_LEAF_NO_CLIENT_AUTH, leaf->obj, fix[0] ? fix : NULL, adv,
				 "%s has an extendedKeyUsage without clientAuth (1.3.6.1.5.5.7.3.2); the "
				 "server will refuse it as a client certificate (handshake failure)",
				 cert_name(leaf, nm, sizeof(nm)));
		else {
			size_t before = x->fs->count;
			rc = add_adv(x, MTK_F_LEAF_NO_CLIENT_AUTH, leaf->obj, fix[0] ? fix : NULL, adv,
				     "%s has no extendedKeyUsage; %sstrict servers refuse a client "
				     "certificate without clientAuth (1.3.6.1.5.5.7.3.2)",
				     cert_name(leaf, nm, sizeof(nm)),
				     mid_clause(x, "the MID Server setup requires clientAuth, and "));
			/* Without any EKU OpenSSL and Java accept it for any use
			 * (RFC 5280): a warning for the MID Server, whose guide
			 * asks for clientAuth, information elsewhere. */
			set_last_sev(x, before,
				     x->p == MTK_PROFILE_MID ? MTK_SEV_WARNING : MTK_SEV_INFO);
		}
	}
	if (rc == MTK_OK && x->p == MTK_PROFILE_SERVER && leaf->s.has_eku && !leaf->s.server_auth) {
		rc = add_adv(x, MTK_F_LEAF_NO_SERVER_AUTH, leaf->obj, fix[0] ? fix : NULL,
			     "have the request signed by your CA as a server certificate (or mtlskit ca "
			     "sign --profile server) and install the new certificate",
			 "%s has an extendedKeyUsage without serverAuth (1.3.6.1.5.5.7.3.1); TLS clients "
			 "will refuse it as a server certificate",
			 cert_name(leaf, nm, sizeof(nm)));
	}
names:
	if (rc != MTK_OK)
		return rc;
	subject_value(leaf->cert, NID_commonName, cn, sizeof(cn));
	san = has_san_dns(leaf->cert, &sn_san, bad, sizeof(bad));
	if (x->p != MTK_PROFILE_UPLOAD_CA && x->p != MTK_PROFILE_TRUST_STORE &&
	    !(x->p == MTK_PROFILE_AUTO && leaf->s.is_ca)) {
		if (servicenow_name(cn) || sn_san) {
			rc = add_adv(x, MTK_F_SUBJECT_SERVICENOW_DOMAIN, leaf->obj, NULL,
				 "make a new request on a domain you own (mtlskit csr create --cn "
				 "HOST.YOUR-DOMAIN ...) and have it issued",
				 "%s is on service-now.com ('%s'); ServiceNow owns that domain and no CA will "
				 "issue for it to you: the certificate must be on your own domain",
				 cert_name(leaf, nm, sizeof(nm)), servicenow_name(cn) ? cn : bad);
		}
		if (rc == MTK_OK && x->p != MTK_PROFILE_AUTO && cn[0] != '\0' && !is_fqdn(cn)) {
			rc = add_adv(x, MTK_F_SUBJECT_INVALID, leaf->obj, NULL,
				 "make a new request with the host's full name (mtlskit csr create --cn "
				 "HOST.EXAMPLE.COM ...) and have it issued",
				 "the leaf's CN '%s' is not a fully qualified domain name (like mid01.example.com)",
				 cn);
		}
		if (rc == MTK_OK && x->p == MTK_PROFILE_SERVER && !san) {
			rc = add_adv(x, MTK_F_SUBJECT_INVALID, leaf->obj, NULL,
				 "make a new request with the host name as a SAN (mtlskit csr create --usage "
				 "server --san DNS:HOST ...) and have it issued",
				 "%s has no DNS subjectAltName; browsers and most TLS clients ignore the CN and "
				 "will refuse the host name",
				 cert_name(leaf, nm, sizeof(nm)));
		}
	}
	return rc;
}

/* ---- every certificate ---- */

/* Renewal is the CA's part: advice, with the request command for a leaf. */
static void validity_advice(ctx *x, const cinfo *c, const char *src, const char *which, char *buf,
			    size_t cap)
{
	if (c->trusted_entry)
		snprintf(buf, cap,
			 "get the %s certificate from its owner, then replace the trusted entry: mtlskit "
			 "keystore add-trusted %s --alias %s --pass env:STORE_PASS NEW-CERT.pem",
			 which, src, c->obj->alias);
	else if (x->keystore && !c->s.is_ca)
		ks_request_advice(x, "client", buf, cap);
	else if (x->keystore)
		snprintf(buf, cap,
			 "get the CA's %s certificate from your CA, then put it in the entry's chain: "
			 "mtlskit keystore install-reply %s --alias %s --pass env:STORE_PASS "
			 "REPLY-WITH-CHAIN.pem",
			 which, src, x->key_alias);
	else if (c->s.is_ca)
		snprintf(buf, cap,
			 "get the CA's %s certificate from your CA, then rebuild: mtlskit bundle %s --ca "
			 "%s-CA.pem -o fixed.pem",
			 which, x->inputs, strcmp(which, "next") == 0 ? "NEXT" : "CURRENT");
	else
		snprintf(buf, cap,
			 "renew it: mtlskit renew %s --key YOUR-KEY.pem -o renew.csr, have your CA sign "
			 "the request, and install the new certificate",
			 src);
}

static mtk_rc check_certs(ctx *x)
{
	long within = x->o->within_days > 0 ? x->o->within_days : MTK_CHECK_WITHIN_DEFAULT;
	char fix[1400], nm[600], t[64], country[64];
	mtk_rc rc = MTK_OK;

	for (size_t i = 0; i < x->ncerts && rc == MTK_OK; i++) {
		cinfo *c = &x->certs[i];
		const char *src = c->obj && c->obj->source ? c->obj->source : "CERT.pem";

		if (c->dup)
			continue;
		if (c->s.not_after < x->o->now) {
			mtk_time_rfc3339((int64_t)c->s.not_after, t, sizeof(t));
			validity_advice(x, c, src, "current", fix, sizeof(fix));
			rc = add_adv(x, MTK_F_CERT_EXPIRED, c->obj, NULL, fix,
				     "%s expired on %s (%ld days ago); %s",
				 cert_name(c, nm, sizeof(nm)), t, -mtk_days_left(c->s.not_after, x->o->now),
				 x->p == MTK_PROFILE_MID ? "the MID Server loses its connection and goes Down"
							 : "every peer rejects it");
		} else if (c->s.not_before > x->o->now) {
			mtk_time_rfc3339((int64_t)c->s.not_before, t, sizeof(t));
			rc = add_adv(x, MTK_F_CERT_NOT_YET_VALID, c->obj, NULL,
				 "wait until it is valid, or check this machine's clock",
				 "%s is not valid before %s; until then every peer rejects it",
				 cert_name(c, nm, sizeof(nm)), t);
		} else if (mtk_days_left(c->s.not_after, x->o->now) < within) {
			mtk_time_rfc3339((int64_t)c->s.not_after, t, sizeof(t));
			validity_advice(x, c, src, "next", fix, sizeof(fix));
			rc = add_adv(x, MTK_F_CERT_EXPIRING, c->obj, NULL, fix,
				 "%s expires on %s, in %ld day%s (within %ld); renew it before the connection "
				 "dies",
				 cert_name(c, nm, sizeof(nm)), t, mtk_days_left(c->s.not_after, x->o->now),
				 mtk_days_left(c->s.not_after, x->o->now) == 1 ? "" : "s", within);
		}
		if (rc != MTK_OK)
			break;
		if ((strcmp(c->s.key_type, "RSA") == 0 || strcmp(c->s.key_type, "DSA") == 0) &&
		    c->s.key_bits < 2048) {
			rc = add_adv(x, MTK_F_WEAK_CRYPTO, c->obj, NULL,
				 "make a new 2048-bit key and request (mtlskit renew CERT --new-key rsa:2048 "
				 "--key-out new.key -o renew.csr) and have it issued",
				 "%s has a %s %d-bit key; 2048 bits is the minimum peers accept",
				 cert_name(c, nm, sizeof(nm)), c->s.key_type, c->s.key_bits);
		} else if (c->s.sig_weak && !c->s.self_signed) {
			/* A root's own signature is never checked, so SHA-1 there is harmless. */
			rc = add_adv(x, MTK_F_WEAK_CRYPTO, c->obj, NULL,
				 "have it re-issued with a SHA-256 signature",
				 "%s is signed with %s (SHA-1/MD5), which Java and current OpenSSL refuse",
				 cert_name(c, nm, sizeof(nm)), c->s.sig_alg);
		}
		if (rc != MTK_OK)
			break;
		if (subject_value(c->cert, NID_countryName, country, sizeof(country)) &&
		    !iso_country((const unsigned char *)country, (int)strlen(country))) {
			rc = add_adv(x, MTK_F_SUBJECT_INVALID, c->obj, NULL,
				 "make a new request with the two-letter ISO 3166 code (mtlskit csr create "
				 "--country GB ..., not UK) and have it issued",
				 "the country (C) of %s is '%s', not an ISO 3166 two-letter code",
				 cert_name(c, nm, sizeof(nm)), country);
		}
	}
	return rc;
}

void mtk_check_pem_severity(mtk_findings *fs, size_t from, mtk_profile profile)
{
	if (profile == MTK_PROFILE_MID || profile == MTK_PROFILE_AUTO)
		return;
	for (size_t i = from; i < fs->count; i++) {
		mtk_finding *f = &fs->items[i];
		if ((f->id == MTK_F_PEM_CRLF || f->id == MTK_F_PEM_BLANK_LINES) && f->severity > MTK_SEV_WARNING)
			f->severity = MTK_SEV_WARNING;
	}
}

/* ---- containers ---- */

mtk_rc mtk_check_container(const char *file, const mtk_container_info *info, mtk_profile profile,
			   mtk_findings *fs, mtk_err *err)
{
	char fix[1200], q[600] = "";
	const char *msg = NULL;
	int sev = rule_sev(profile, MTK_F_KEYSTORE_TYPE);
	mtk_format f;
	mtk_rc rc;

	if (info == NULL || sev == NA)
		return MTK_OK;
	f = info->format;
	mtk_check_quote_append(q, sizeof(q), file ? file : "FILE");
	fix[0] = '\0';
	switch (profile) {
	case MTK_PROFILE_MID:
		if (f == MTK_FMT_PKCS12) {
			msg = "a PFX/PKCS#12 file; the MID Server's manage-certificates script takes a PEM "
			      "bundle (leaf -> intermediates -> root -> PKCS#8 key), not a PFX";
			snprintf(fix, sizeof(fix), "mtlskit bundle %s --pass env:PFX_PASS -o bundle.pem", q);
		}
		break;
	case MTK_PROFILE_OUTBOUND:
		if (f != MTK_FMT_JKS && f != MTK_FMT_JCEKS) {
			msg = f == MTK_FMT_PKCS12
				  ? "a PKCS12/PFX keystore; the ServiceNow \"Java Key Store\" certificate record "
				    "takes a JKS (or JCEKS) keystore, and PKCS12 is not supported there"
				  : "not a keystore; the ServiceNow \"Java Key Store\" certificate record takes a "
				    "JKS (or JCEKS) keystore holding the key and its chain";
			snprintf(fix, sizeof(fix), "mtlskit convert %s --to jks%s -o outbound.jks", q,
				 f == MTK_FMT_PKCS12 ? " --pass env:PFX_PASS --out-pass env:JKS_PASS"
						     : " --out-pass env:JKS_PASS");
		}
		break;
	case MTK_PROFILE_UPLOAD_USER:
	case MTK_PROFILE_UPLOAD_CA:
	case MTK_PROFILE_TRUST_STORE:
		if (f == MTK_FMT_PKCS12 || f == MTK_FMT_JKS || f == MTK_FMT_JCEKS) {
			msg = "a keystore/PFX; this record takes PEM certificate text (or a DER certificate "
			      "for a Trust Store Cert), never a keystore";
			snprintf(fix, sizeof(fix), "mtlskit bundle %s --pass env:PASS --%s -o %s", q,
				 profile == MTK_PROFILE_UPLOAD_CA ? "ca-only" : "leaf-only",
				 profile == MTK_PROFILE_UPLOAD_CA ? "ca-chain.pem" : "cert.pem");
		}
		break;
	default:
		break;
	}
	if (msg == NULL)
		return MTK_OK;
	rc = mtk_findings_add(fs, MTK_F_KEYSTORE_TYPE, (mtk_severity)sev, file, 0, mtk_format_name(f),
			      fix[0] ? fix : NULL, "%s", msg);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "check");
	return MTK_OK;
}

static mtk_rc check_alias(ctx *x)
{
	const char *want = x->o->expected_alias;
	char fix[800];
	bool have_key = false, have_any = false;
	size_t nkeys = 0;

	/* outbound: the record uses one key entry */
	for (size_t i = 0; i < x->all->count; i++)
		if (x->all->objs[i].kind == MTK_OBJ_KEY && x->all->objs[i].alias != NULL)
			nkeys++;
	if (x->p == MTK_PROFILE_OUTBOUND && want == NULL && nkeys > 1) {
		size_t before = x->fs->count;
		char adv[800];
		snprintf(adv, sizeof(adv),
			 "keep only the client certificate's key entry: mtlskit keystore remove %s --alias "
			 "OTHER-ALIAS --pass env:STORE_PASS",
			 x->first_source ? x->first_source : "KEYSTORE");
		mtk_rc rc = add_adv(x, MTK_F_KEYSTORE_ALIAS, NULL, NULL, adv,
				"the keystore holds %zu key entries; the Java Key Store record uses one, so "
				"keep only the client certificate's entry (checked here: '%s')",
				nkeys, x->focus ? x->focus : "?");
		set_last_sev(x, before, MTK_SEV_WARNING);
		return rc;
	}
	if (want == NULL)
		return MTK_OK;
	for (size_t i = 0; i < x->all->count; i++) {
		const mtk_obj *o = &x->all->objs[i];
		if (o->alias == NULL || strcmp(o->alias, want) != 0)
			continue;
		have_any = true;
		if (o->kind == MTK_OBJ_KEY)
			have_key = true;
	}
	if (have_key)
		return MTK_OK;
	if (x->p == MTK_PROFILE_AUTO && !x->any_alias && x->o->expected_alias == NULL)
		return MTK_OK;
	if (x->p == MTK_PROFILE_OUTBOUND || strcmp(want, MTK_MID_ALIAS) != 0)
		snprintf(fix, sizeof(fix),
			 "add the key entry under that alias (mtlskit keystore add-key %s --alias %s "
			 "--pass env:STORE_PASS YOUR-BUNDLE.pem), or name the alias the store has",
			 x->first_source ? x->first_source : "KEYSTORE", want);
	else
		snprintf(fix, sizeof(fix),
			 "install the bundle with mtlskit mid install --agent AGENT_DIR bundle.pem (it "
			 "installs under %s), then restart the MID Server",
			 want);
	return add_adv(x, MTK_F_KEYSTORE_ALIAS, NULL, NULL, fix, "no key entry under the alias '%s'%s%s",
		       want, have_any ? " (the alias holds only a certificate)" : "",
		       strcmp(want, MTK_MID_ALIAS) == 0
			   ? "; the MID Server looks only there and stays Down"
			   : "");
}

mtk_rc mtk_check_set(const mtk_set *set, const mtk_check_opts *opts, mtk_findings *fs, mtk_err *err)
{
	ctx x;
	mtk_set view = MTK_SET_INIT; /* shallow: borrows set's objects */
	mtk_err cerr = {0};
	mtk_rc rc = MTK_OK;

	memset(&x, 0, sizeof(x));
	x.set = set;
	x.all = set;
	x.o = opts;
	x.p = opts->profile;
	x.fs = fs;
	x.err = err;
	if ((unsigned)x.p >= NPROFILES)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "unknown check profile %d", (int)x.p);
	/* A keystore holds other entries beside the one that matters (trusted
	 * certificates, older keys): the rules look at one key entry, the
	 * expected alias or the first key with an alias, plus what carries no
	 * alias (a PFX's CA certificates). */
	{
		const char *focus = NULL;
		size_t nalias_keys = 0;
		for (size_t i = 0; i < set->count; i++) {
			const mtk_obj *o = &set->objs[i];
			if (o->alias != NULL)
				x.any_alias = true;
			if (o->kind != MTK_OBJ_KEY || o->alias == NULL)
				continue;
			nalias_keys++;
			if (opts->expected_alias != NULL && strcmp(o->alias, opts->expected_alias) == 0)
				focus = o->alias;
			else if (focus == NULL && opts->expected_alias == NULL)
				focus = o->alias;
		}
		if (focus != NULL && (nalias_keys > 1 || opts->expected_alias != NULL)) {
			view.objs = calloc(set->count + 1, sizeof(*view.objs));
			if (view.objs == NULL)
				return mtk_err_set(err, MTK_E_NOMEM, "check");
			for (size_t i = 0; i < set->count; i++)
				if (set->objs[i].alias == NULL || strcmp(set->objs[i].alias, focus) == 0)
					view.objs[view.count++] = set->objs[i];
			view.cap = set->count + 1;
			x.set = &view;
			x.focus = focus;
		}
	}
	/* A store with named key entries (JKS, JCEKS, a Java PKCS12, a PFX
	 * with friendly names): certificates under an alias no key has are
	 * trusted entries. */
	for (size_t i = 0; i < set->count && x.key_alias == NULL; i++)
		if (set->objs[i].kind == MTK_OBJ_KEY && set->objs[i].alias != NULL &&
		    (x.focus == NULL || strcmp(set->objs[i].alias, x.focus) == 0))
			x.key_alias = set->objs[i].alias;
	x.keystore = x.key_alias != NULL;
	if ((rc = gather(&x)) != MTK_OK)
		goto out;
	if (opts->container != NULL &&
	    (rc = mtk_check_container(opts->container_file ? opts->container_file : x.first_source,
				      opts->container, x.p, fs, err)) != MTK_OK)
		goto out;
	if (x.ncerts > 0) {
		rc = mtk_chain_build(x.set, NULL, MTK_CHAIN_NO_KEY_OK, &x.ch, &cerr);
		if (rc == MTK_E_NOMEM) {
			mtk_err_set(err, rc, "check");
			goto out;
		}
		x.have_chain = rc == MTK_OK;
		rc = MTK_OK;
	}
	if ((rc = check_keys(&x)) != MTK_OK)
		goto out;
	if (x.have_chain) {
		if ((rc = check_chain(&x)) != MTK_OK || (rc = check_leaf(&x)) != MTK_OK)
			goto out;
	}
	if ((rc = check_certs(&x)) != MTK_OK)
		goto out;
	rc = check_alias(&x);
out:
	if (x.have_chain)
		mtk_chain_free(&x.ch);
	free(x.certs);
	free(view.objs);
	return rc;
}
