/*
 * cmd_keystore.c - `mtlskit keystore`: Java keystores (JKS, JCEKS, PKCS12)
 * without Java.  list, add-key, add-trusted, import-trusted, install-reply, export, remove,
 * passwd, genkey, csr.  Every edit builds the complete new file first and
 * renames it over the old one (mode 0600).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cli.h"
#include "ks_cli.h"
#include "subverb.h"
#include "mtlskit/buf.h"
#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/file.h"
#include "mtlskit/keygen.h"
#include "mtlskit/keystore.h"
#include "mtlskit/csr.h"
#include "mtlskit/load.h"
#include "mtlskit/pem.h"

enum {
	OPT_ALIAS = CLI_OPT__VERB_BASE,
	OPT_TYPE,
	OPT_FROM,
	OPT_FROM_ALIAS,
	OPT_KEY,
	OPT_CERT,
	OPT_CHAIN,
	OPT_SRC_PASS,
	OPT_DNAME,
	OPT_KEYALG,
	OPT_KEYSIZE,
	OPT_VALIDITY,
	OPT_DER,
	OPT_WITH_KEY,
	OPT_FULL_CHAIN,
	OPT_USAGE,
	OPT_SAN,
	OPT_KEY_TYPE,
};

#define MAX_CHAIN_FILES 16

struct ksopt {
	const char *alias;
	const char *type;
	const char *from;
	const char *from_alias;
	const char *key;
	const char *cert;
	const char *chain[MAX_CHAIN_FILES];
	int nchain;
	const char *src_pass;
	const char *dname;
	const char *keyalg;
	const char *key_type;
	long keysize;
	long validity;
	bool verbose;
	bool der;
	bool with_key;
	bool full_chain;
	const char *usage;               /* csr: as csr create --usage */
	const char *san[MAX_CHAIN_FILES]; /* csr: as csr create --san */
	int nsan;

	/* Working state, carried from one phase of a sub-verb to the next
	 * (subverb.h) and freed by ks_release. */
	EVP_PKEY *wkey;
	X509 *wcert;
	STACK_OF(X509) *wchain, *wcerts;
	json_t *added, *skipped;
	size_t nadded, nskipped, moved;
	long idx;
	mtk_usage use;
	mtk_sans sans;
};

static void ks_release(void *ctx)
{
	struct ksopt *o = ctx;

	EVP_PKEY_free(o->wkey);
	X509_free(o->wcert);
	sk_X509_pop_free(o->wchain, X509_free);
	sk_X509_pop_free(o->wcerts, X509_free);
	json_decref(o->added);
	json_decref(o->skipped);
	mtk_sans_free(&o->sans);
}

static const struct option longopts[] = {
    {"alias", required_argument, NULL, OPT_ALIAS},
    {"store-type", required_argument, NULL, OPT_TYPE},
    {"type", required_argument, NULL, OPT_TYPE}, /* keytool's -storetype, old spelling */
    {"from", required_argument, NULL, OPT_FROM},
    {"from-alias", required_argument, NULL, OPT_FROM_ALIAS},
    {"key", required_argument, NULL, OPT_KEY},
    {"cert", required_argument, NULL, OPT_CERT},
    {"chain", required_argument, NULL, OPT_CHAIN},
    {"src-pass", required_argument, NULL, OPT_SRC_PASS},
    {"subject", required_argument, NULL, OPT_DNAME},
    {"dname", required_argument, NULL, OPT_DNAME}, /* keytool spelling */
    {"key-type", required_argument, NULL, OPT_KEY_TYPE},
    {"keyalg", required_argument, NULL, OPT_KEYALG}, /* keytool spelling */
    {"keysize", required_argument, NULL, OPT_KEYSIZE}, /* keytool spelling */
    {"days", required_argument, NULL, OPT_VALIDITY},
    {"validity", required_argument, NULL, OPT_VALIDITY}, /* keytool spelling */
    {"der", no_argument, NULL, OPT_DER},
    {"with-key", no_argument, NULL, OPT_WITH_KEY},
    {"full-chain", no_argument, NULL, OPT_FULL_CHAIN},
    {"usage", required_argument, NULL, OPT_USAGE},
    {"san", required_argument, NULL, OPT_SAN},
    {"verbose", no_argument, NULL, 'v'},
    CLI_COMMON_LONGOPTS,
};

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct ksopt *o = ctx;
	char *end;

	switch (opt) {
	case OPT_ALIAS:
		o->alias = arg;
		return 0;
	case OPT_TYPE:
		o->type = arg;
		return 0;
	case OPT_FROM:
		o->from = arg;
		return 0;
	case OPT_FROM_ALIAS:
		o->from_alias = arg;
		return 0;
	case OPT_KEY:
		o->key = arg;
		return 0;
	case OPT_CERT:
		o->cert = arg;
		return 0;
	case OPT_CHAIN:
		if (o->nchain == MAX_CHAIN_FILES)
			return cli_usage_error(c, NULL, "too many --chain files");
		o->chain[o->nchain++] = arg;
		return 0;
	case OPT_SRC_PASS:
		o->src_pass = arg;
		return 0;
	case OPT_DNAME:
		o->dname = arg;
		return 0;
	case OPT_KEYALG:
		o->keyalg = arg;
		return 0;
	case OPT_KEY_TYPE:
		if (!mtk_key_type_valid(arg) || strcasecmp(arg, "ed25519") == 0)
			return cli_usage_error(c, NULL, "--key-type '%s': use rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384",
					       arg);
		o->key_type = arg;
		return 0;
	case OPT_KEYSIZE:
	case OPT_VALIDITY: {
		long v;
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno != 0 || *end != '\0' || v <= 0 || v > 100000)
			return cli_usage_error(c, NULL, "%s needs a positive number",
					       opt == OPT_KEYSIZE ? "--keysize" : "--days");
		if (opt == OPT_KEYSIZE)
			o->keysize = v;
		else
			o->validity = v;
		return 0;
	}
	case OPT_DER:
		o->der = true;
		return 0;
	case OPT_WITH_KEY:
		o->with_key = true;
		return 0;
	case OPT_FULL_CHAIN:
		o->full_chain = true;
		return 0;
	case OPT_USAGE:
		o->usage = arg;
		return 0;
	case OPT_SAN:
		if (o->nsan == MAX_CHAIN_FILES)
			return cli_usage_error(c, NULL, "too many --san");
		o->san[o->nsan++] = arg;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	default:
		return cli_usage_error(c, NULL, "unexpected option");
	}
}

/* ------------------------------------------------------------------ */

static int need_alias(cli *c, const struct ksopt *o, const char *usage)
{
	if (o->alias == NULL)
		return cli_usage_error(c, usage, "--alias is required");
	return 0;
}

/* After the options, for every sub-verb. */
static int ks_check(struct cli_sub_run *run)
{
	struct ksopt *o = run->ctx;

	if ((o->usage != NULL || o->nsan > 0) && strcmp(run->sub->name, "csr") != 0)
		return cli_usage_error(run->c, run->sub->usage,
				       "--usage and --san go with keystore csr");
	run->store_type = o->type;
	return 0;
}

/* prepare of the sub-verbs that name an entry. */
static int ks_need_alias(struct cli_sub_run *run)
{
	return need_alias(run->c, run->ctx, run->sub->usage);
}

static void entry_date(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, cap, "%b %e, %Y", &tm) == 0)
		snprintf(buf, cap, "?");
	/* "%e" pads with a space: keytool prints "Nov 2, 2026". */
	for (char *p = strstr(buf, "  "); p != NULL; p = strstr(buf, "  "))
		memmove(p, p + 1, strlen(p));
}

/* A string member of a rendered object, "" when absent. */
static const char *js(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

/* ------------------------------------------------------------------ */
/* list                                                                 */

static const char usage_list[] =
    "Usage: mtlskit keystore list [-v] [--pass SPEC] [--key-pass SPEC] [--json] KEYSTORE\n"
    "  Lists the entries of a JKS, JCEKS or PKCS12 keystore (type detected).\n"
    "  -v, --verbose   every certificate of every chain (subject, issuer, serial,\n"
    "                  validity, SHA-1 and SHA-256 fingerprints)\n"
    "  --pass SPEC     store password (default: \"changeit\" is tried)\n"
    "  --key-pass SPEC key password, to describe JCEKS secret keys\n";

/* Certificates stay bytes until a summary needs them: the plain listing
 * prints only fingerprints, taken from the bytes (MTK_KS_READ_LAZY). */
static int ks_list(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	json_t *entries;

	entries = json_array();
	if (!c->json) {
		printf("Keystore type: %s\n", mtk_ks_type_java_name(f->ks->type));
		printf("Your keystore contains %zu entr%s\n\n", f->ks->count,
		       f->ks->count == 1 ? "y" : "ies");
	}
	for (size_t i = 0; i < f->ks->count; i++) {
		mtk_ks_entry *e = &f->ks->entries[i];
		char date[32];
		json_t *je, *certs = json_array();
		int n = mtk_ks_entry_ncerts(e);
		STACK_OF(X509) *chain = NULL;
		mtk_err cerr = {0};

		/* PKCS12 stores no date for trusted entries (keytool shows the
		 * time it loaded the file). */
		if (e->date_ms == 0 && f->ks->type == MTK_KS_PKCS12)
			snprintf(date, sizeof(date), "(no date)");
		else
			entry_date(e->date_ms, date, sizeof(date));
		{
			char iso[MTK_TIME_RFC3339_LEN];

			/* JSON: RFC 3339 like every time (null when the store
			 * keeps none); the text keeps keytool's "Dec 4, 2026". */
			je = json_pack("{s:s, s:s, s:o, s:I}", "alias", e->alias, "type",
				       mtk_kse_kind_name(e->kind), "date",
				       e->date_ms == 0 && f->ks->type == MTK_KS_PKCS12
					   ? json_null()
					   : json_string(cli_fmt_time((time_t)(e->date_ms / 1000), iso,
								     sizeof(iso))),
				       "date_ms", (json_int_t)e->date_ms);
		}
		if (e->kind == MTK_KSE_KEY)
			json_object_set_new(je, "chain_length", json_integer(n));
		if (e->kind == MTK_KSE_SECRET) {
			if (e->secret_alg[0])
				json_object_set_new(je, "secret",
						    json_pack("{s:s, s:i}", "algorithm",
							      e->secret_alg, "bits",
							      e->secret_bits));
			else
				json_object_set_new(je, "secret", json_null());
		}
		if (!c->json) {
			char ealias[4 * 256];

			/* A keystore read may carry any alias: escaped. */
			cli_printable(e->alias, ealias, sizeof(ealias));
			if (o->verbose) {
				printf("Alias name: %s\nCreation date: %s\nEntry type: %s\n",
				       ealias, date, mtk_kse_kind_name(e->kind));
				if (e->kind == MTK_KSE_KEY)
					printf("Certificate chain length: %d\n", n);
				if (e->kind == MTK_KSE_SECRET)
					printf("Secret key: %s%s%d%s\n",
					       e->secret_alg[0] ? e->secret_alg : "secret key",
					       e->secret_alg[0] ? " " : "",
					       e->secret_alg[0] ? e->secret_bits : 0,
					       e->secret_alg[0] ? "-bit" : "");
			} else {
				printf("%s, %s, %s, ", ealias, date, mtk_kse_kind_name(e->kind));
				if (e->kind == MTK_KSE_SECRET)
					printf("%s\n",
					       e->secret_alg[0] ? e->secret_alg : "secret key");
				else
					printf("\n");
			}
		}
		if (!c->json && !o->verbose) {
			unsigned char md[32];
			char fp[100];

			if (n > 0 && (mtk_ks_entry_sha256(e, 0, md) != MTK_OK ||
				      mtk_fingerprint_hex(md, sizeof(md), fp, sizeof(fp)) != MTK_OK)) {
				json_decref(certs);
				json_decref(je);
				json_decref(entries);
				return cli_error(c, MTK_E_CRYPTO, NULL);
			}
			if (n > 0)
				printf("Certificate fingerprint (SHA-256): %s\n", fp);
			json_decref(certs);
			json_decref(je);
			continue;
		}
		if (n > 0 && (chain = mtk_keystore_chain(f->ks, i, &cerr)) == NULL) {
			json_decref(certs);
			json_decref(je);
			json_decref(entries);
			return cli_error(c, cerr.code, &cerr);
		}
		for (int j = 0; j < n; j++) {
			X509 *x = sk_X509_value(chain, j);
			mtk_cert_summary s;
			mtk_err err = {0};
			json_t *cj;

			if (mtk_cert_summarize(x, &s, &err) != MTK_OK) {
				json_decref(certs);
				json_decref(je);
				json_decref(entries);
				return cli_error(c, err.code, &err);
			}
			if ((cj = cli_cert_json(&s, c->now)) == NULL) {
				json_decref(certs);
				json_decref(je);
				json_decref(entries);
				return cli_error(c, MTK_E_NOMEM, NULL);
			}
			json_array_append_new(certs, cj);
			if (c->json)
				continue;
			/* keytool's -list -v layout, printed from the shared
			 * certificate object (render.c): subject and issuer
			 * arrive escaped. */
			if (e->kind == MTK_KSE_KEY)
				printf("Certificate[%d]:\n", j + 1);
			printf("Owner: %s\nIssuer: %s\nSerial number: %s\n", js(cj, "subject"),
			       js(cj, "issuer"), js(cj, "serial"));
			printf("Valid from: %s until: %s\n", js(cj, "not_before"), js(cj, "not_after"));
			printf("Certificate fingerprints:\n\t SHA1: %s\n\t SHA256: %s\n", js(cj, "sha1"),
			       js(cj, "sha256"));
			printf("Signature algorithm name: %s\nSubject Public Key Algorithm: %s "
			       "%lld%s%s\n",
			       js(cj, "sig_alg"), js(cj, "key_type"),
			       (long long)json_integer_value(json_object_get(cj, "key_bits")),
			       js(cj, "key_curve")[0] ? " " : "", js(cj, "key_curve"));
		}
		if (!c->json && o->verbose)
			printf("\n\n*******************************************\n"
			       "*******************************************\n\n\n");
		json_object_set_new(je, "certificates", certs);
		json_array_append_new(entries, je);
	}
	cli_set(c, "keystore", json_string(run->target));
	cli_set(c, "type", json_string(mtk_ks_type_name(f->ks->type)));
	if (f->ks->type != MTK_KS_PKCS12)
		cli_set(c, "version", json_integer(f->ks->version));
	cli_set(c, "count", json_integer((json_int_t)f->ks->count));
	cli_set(c, "entries", entries);
	if (f->ks->p12_loose_certs > 0) {
		cli_set(c, "ignored_certificates", json_integer((json_int_t)f->ks->p12_loose_certs));
		if (!c->json)
			printf("Note: %zu certificate(s) belong to no entry; Java ignores them.\n",
			       f->ks->p12_loose_certs);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* add-key                                                              */

static const char usage_add_key[] =
    "Usage: mtlskit keystore add-key KEYSTORE --alias A SOURCE...\n"
    "  Adds (with --force: replaces) a private key entry.  SOURCE is one of:\n"
    "    BUNDLE...                   PEM/DER files or a PFX holding the key and chain\n"
    "    --key KEY --cert CERT [--chain CHAIN]...\n"
    "    --from KEYSTORE2 --from-alias B\n"
    "  --pass SPEC      password of what is read: the PFX, encrypted key or source\n"
    "                   keystore (--src-pass, deprecated, is the same)\n"
    "  --out-pass SPEC  the keystore's password; absent: --pass, then \"changeit\"\n"
    "  --key-pass SPEC  key password of the new entry (JKS/JCEKS; default: the store's)\n"
    "  --store-type T   jks|jceks|pkcs12 when the keystore is created (default from\n"
    "                   the file name, else pkcs12 like keytool); --type is the same\n";

/* The key and chain, from the one source given; before the store is
 * opened (and locked). */
static int add_key_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	int argc = run->argc, first = run->first, r, nsrc;
	char **argv = run->argv;
	const char *src_pass;

	if ((r = need_alias(c, o, usage_add_key)) != 0)
		return r;
	src_pass = ks_source_and_store_pass(c, o->src_pass);
	nsrc = (argc - first - 1 > 0) + (o->key != NULL || o->cert != NULL) + (o->from != NULL);
	if (nsrc != 1)
		return cli_usage_error(c, usage_add_key,
				       "give exactly one source: BUNDLE, --key/--cert, or --from");
	if (o->from != NULL) {
		if (o->from_alias == NULL)
			return cli_usage_error(c, usage_add_key, "--from needs --from-alias");
		return ks_source_entry(c, o->from, o->from_alias, src_pass, &o->wkey, &o->wchain);
	}
	if (o->key != NULL) {
		const char *files[2 + MAX_CHAIN_FILES];
		int n = 0;
		if (o->cert == NULL)
			return cli_usage_error(c, usage_add_key, "--key needs --cert");
		files[n++] = o->key;
		files[n++] = o->cert;
		for (int i = 0; i < o->nchain; i++)
			files[n++] = o->chain[i];
		return ks_source_files(c, files, n, src_pass, &o->wkey, &o->wchain);
	}
	return ks_source_files(c, (const char **)argv + first + 1, argc - first - 1, src_pass,
			       &o->wkey, &o->wchain);
}

static int add_key_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	mtk_err err = {0};
	mtk_rc rc;

	if (mtk_keystore_find(run->ks.ks, o->alias) >= 0 && !c->force) {
		rc = mtk_err_set(
		    &err, MTK_E_INVALID_ARG,
		    "Key pair not imported, alias <%s> already exists (use --force to replace it)",
		    o->alias);
		return cli_error(c, rc, &err);
	}
	if ((rc = mtk_keystore_add_key(run->ks.ks, o->alias, o->wkey, o->wchain,
				       (int64_t)c->now * 1000, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int add_key_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;

	if (!c->json)
		printf(
		    "Entry for alias %s successfully imported (%d certificate%s in the chain).\n",
		    o->alias, sk_X509_num(o->wchain), sk_X509_num(o->wchain) == 1 ? "" : "s");
	cli_set(c, "keystore", json_string(run->target));
	cli_set(c, "alias", json_string(o->alias));
	cli_set(c, "chain_length", json_integer(sk_X509_num(o->wchain)));
	cli_set(c, "type", json_string(mtk_ks_type_name(run->ks.ks->type)));
	return 0;
}

/* ------------------------------------------------------------------ */
/* add-trusted                                                          */

static const char usage_add_trusted[] =
    "Usage: mtlskit keystore add-trusted KEYSTORE --alias A CERT\n"
    "  Adds a trusted certificate entry (PEM or DER certificate).  The same\n"
    "  certificate already under alias A: nothing is written (\"changed\": false).\n"
    "  --store-type T (--type is the same) when the keystore is created; --pass SPEC\n"
    "  the keystore's password; --force replaces an existing alias.\n";

static int add_trusted_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	const char *file = run->argv[run->first + 1];
	mtk_err err = {0};
	int r;

	if ((r = need_alias(c, o, usage_add_trusted)) != 0)
		return r;
	if ((r = ks_source_certs(c, file, &o->wcerts)) != 0)
		return r;
	if (sk_X509_num(o->wcerts) != 1)
		return cli_error(c,
				 mtk_err_set(&err, MTK_E_INVALID_ARG,
					     "%s: holds %d certificates; a trusted entry takes "
					     "exactly one",
					     file, sk_X509_num(o->wcerts)),
				 &err);
	return 0;
}

static int add_trusted_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	mtk_keystore *ks = run->ks.ks;
	STACK_OF(X509) *have; /* the alias's certificate, borrowed from ks */
	X509 *x = sk_X509_value(o->wcerts, 0);
	mtk_err err = {0};
	long idx = mtk_keystore_find(ks, o->alias);
	mtk_rc rc;

	/* The same certificate already trusted under this alias: nothing to
	 * write ("changed": false), so configuration tools can re-run it. */
	if (idx >= 0 && ks->entries[idx].kind == MTK_KSE_TRUSTED &&
	    (have = mtk_keystore_chain(ks, (size_t)idx, &err)) != NULL && sk_X509_num(have) == 1 &&
	    X509_cmp(sk_X509_value(have, 0), x) == 0) {
		run->changed = false;
		return 0;
	}
	if (idx >= 0 && !c->force) {
		rc = mtk_err_set(
		    &err, MTK_E_INVALID_ARG,
		    "Certificate not imported, alias <%s> already exists (use --force to "
		    "replace it)",
		    o->alias);
		return cli_error(c, rc, &err);
	}
	if ((rc = mtk_keystore_add_trusted(ks, o->alias, x, (int64_t)c->now * 1000, &err)) !=
	    MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int add_trusted_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;

	if (!c->json && !run->changed)
		printf("unchanged: <%s> already holds this certificate\n", o->alias);
	else if (!c->json)
		printf("Certificate was added to keystore\n");
	cli_set(c, "keystore", json_string(run->target));
	cli_set(c, "alias", json_string(o->alias));
	cli_set(c, "changed", json_boolean(run->changed));
	return 0;
}

/* ------------------------------------------------------------------ */
/* import-trusted                                                       */

static const char usage_import_trusted[] =
    "Usage: mtlskit keystore import-trusted KEYSTORE FILE|DIR...\n"
    "  Adds every certificate found in the files (PEM, DER, PKCS#7; a directory:\n"
    "  each regular file in it, by name) as trusted entries, written once.\n"
    "  Aliases come from the subject's CN (lower case; -2, -3... when taken);\n"
    "  a certificate already in the keystore (same SHA-256) is skipped.\n"
    "  --type T, --pass SPEC as for add-key; --json lists added and skipped.\n";

/* SHA-256 fingerprints seen so far: open addressing on the digest's first
 * eight bytes (already uniform), at most half full, grown by doubling. */
struct fpset {
	unsigned char (*fp)[32];
	size_t n, cap;
	size_t *slot; /* index + 1, 0: empty */
	size_t nslot;
	long *alias_of; /* entry index in the store, or -1 */
};

static size_t fp_probe(const struct fpset *s, const unsigned char *fp, bool *found)
{
	uint64_t h;
	size_t mask = s->nslot - 1, i;

	memcpy(&h, fp, sizeof(h));
	for (i = (size_t)h & mask; s->slot[i] != 0; i = (i + 1) & mask)
		if (memcmp(s->fp[s->slot[i] - 1], fp, 32) == 0) {
			*found = true;
			return i;
		}
	*found = false;
	return i;
}

/* Adds fp (entry index at, or -1); false without memory. */
static bool fp_add(struct fpset *s, const unsigned char *fp, long at)
{
	bool found;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *a = realloc(s->fp, cap * sizeof(*s->fp));
		if (a == NULL)
			return false;
		s->fp = a;
		if ((a = realloc(s->alias_of, cap * sizeof(*s->alias_of))) == NULL)
			return false;
		s->alias_of = a;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > s->nslot) {
		size_t nslot = s->nslot ? s->nslot * 2 : 128;
		size_t *sl = calloc(nslot, sizeof(*sl));
		if (sl == NULL)
			return false;
		free(s->slot);
		s->slot = sl;
		s->nslot = nslot;
		for (size_t i = 0; i < s->n; i++)
			s->slot[fp_probe(s, s->fp[i], &found)] = i + 1;
	}
	memcpy(s->fp[s->n], fp, 32);
	s->alias_of[s->n] = at;
	s->slot[fp_probe(s, fp, &found)] = ++s->n;
	return true;
}

static long fp_find(const struct fpset *s, const unsigned char *fp, bool *found)
{
	size_t i;

	*found = false;
	if (s->nslot == 0)
		return -1;
	i = fp_probe(s, fp, found);
	return *found ? s->alias_of[s->slot[i] - 1] : -1;
}

static void fp_free(struct fpset *s)
{
	free(s->fp);
	free(s->slot);
	free(s->alias_of);
}

/* The next "-N" to try for each alias base used in this import, so that
 * many certificates with one CN cost one lookup each, not one per earlier
 * namesake.  Open addressing on mtk_fnv1a, at most half full. */
struct suffixes {
	char **base;
	int *next;
	size_t n, cap;
};

static int *suffix_next(struct suffixes *sx, const char *base)
{
	uint64_t h = mtk_fnv1a(MTK_FNV1A_INIT, base, strlen(base));
	size_t i;

	if ((sx->n + 1) * 2 > sx->cap) {
		size_t cap = sx->cap ? sx->cap * 2 : 64;
		char **b = calloc(cap, sizeof(*b));
		int *nx = calloc(cap, sizeof(*nx));
		if (b == NULL || nx == NULL) {
			free(b);
			free(nx);
			return NULL;
		}
		for (size_t j = 0; j < sx->cap; j++) {
			if (sx->base[j] == NULL)
				continue;
			uint64_t hj = mtk_fnv1a(MTK_FNV1A_INIT, sx->base[j], strlen(sx->base[j]));
			for (i = (size_t)hj & (cap - 1); b[i] != NULL; i = (i + 1) & (cap - 1))
				;
			b[i] = sx->base[j];
			nx[i] = sx->next[j];
		}
		free(sx->base);
		free(sx->next);
		sx->base = b;
		sx->next = nx;
		sx->cap = cap;
	}
	for (i = (size_t)h & (sx->cap - 1); sx->base[i] != NULL; i = (i + 1) & (sx->cap - 1))
		if (strcmp(sx->base[i], base) == 0)
			return &sx->next[i];
	if ((sx->base[i] = strdup(base)) == NULL)
		return NULL;
	sx->next[i] = 2;
	sx->n++;
	return &sx->next[i];
}

static void suffixes_free(struct suffixes *sx)
{
	for (size_t i = 0; i < sx->cap; i++)
		free(sx->base[i]);
	free(sx->base);
	free(sx->next);
}

/* An alias from the subject's CN: lower case, printable ASCII ('_' for
 * anything else), at most 200 bytes; "cert" without a CN.  "-2", "-3"...
 * until it names no entry.  False without memory. */
static bool cn_alias(const mtk_keystore *ks, struct suffixes *sx, X509 *x, char *out, size_t cap)
{
	X509_NAME *nm = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1), *k;
	unsigned char *u = NULL;
	char base[201];
	size_t n = 0;

	if (i >= 0 && ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i))) > 0)
		for (const unsigned char *p = u; *p && n < sizeof(base) - 1; p++)
			base[n++] = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32)
				    : *p >= 0x20 && *p <= 0x7E ? (char)*p
							       : '_';
	OPENSSL_free(u);
	while (n > 0 && base[n - 1] == ' ')
		n--;
	if (n == 0)
		n = (size_t)snprintf(base, sizeof(base), "cert");
	base[n] = '\0';
	snprintf(out, cap, "%s", base);
	if (mtk_keystore_find(ks, out) < 0)
		return true;
	if ((k = suffix_next(sx, base)) == NULL)
		return false;
	do
		snprintf(out, cap, "%s-%d", base, (*k)++);
	while (mtk_keystore_find(ks, out) >= 0);
	return true;
}

/* The files named by operand: itself, or a directory's regular files in
 * name order (dot files left out).  *dir tells which. */
static int import_files(cli *c, const char *operand, char ***files, int *n, bool *dir)
{
	struct dirent **ents = NULL;
	struct stat st;
	mtk_err err = {0};
	int m, k = 0;

	*dir = false;
	if (stat(operand, &st) != 0) {
		mtk_err_set(&err, MTK_E_NOENT, "%s: %s", operand, strerror(errno));
		return cli_error(c, MTK_E_NOENT, &err);
	}
	if (!S_ISDIR(st.st_mode)) {
		*files = calloc(1, sizeof(**files));
		if (*files == NULL || ((*files)[0] = strdup(operand)) == NULL) {
			free(*files);
			return cli_error(c, MTK_E_NOMEM, NULL);
		}
		*n = 1;
		return 0;
	}
	*dir = true;
	if ((m = scandir(operand, &ents, NULL, alphasort)) < 0) {
		mtk_err_set(&err, MTK_E_NOENT, "%s: %s", operand, strerror(errno));
		return cli_error(c, MTK_E_NOENT, &err);
	}
	*files = calloc((size_t)m + 1, sizeof(**files));
	for (int i = 0; i < m; i++) {
		char *p = NULL;
		if (*files != NULL && ents[i]->d_name[0] != '.' &&
		    asprintf(&p, "%s/%s", operand, ents[i]->d_name) > 0) {
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
				(*files)[k++] = p;
			else
				free(p);
		}
		free(ents[i]);
	}
	free(ents);
	if (*files == NULL)
		return cli_error(c, MTK_E_NOMEM, NULL);
	*n = k;
	return 0;
}

static int import_trusted_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	int argc = run->argc, first = run->first;
	char **argv = run->argv;
	struct fpset seen = {0};
	struct suffixes sx = {0};
	json_t *added, *skipped;
	mtk_err err = {0};
	size_t nadded = 0, nskipped = 0;
	int r = 0;
	mtk_rc rc;

	added = o->added = json_array();
	skipped = o->skipped = json_array();
	/* What the store holds already, by fingerprint (from the stored bytes:
	 * nothing is decoded). */
	for (size_t i = 0; i < f->ks->count; i++) {
		mtk_ks_entry *e = &f->ks->entries[i];
		for (int j = 0; j < mtk_ks_entry_ncerts(e) && (e->kind == MTK_KSE_TRUSTED || j == 0);
		     j++) {
			unsigned char md[32];
			if (mtk_ks_entry_sha256(e, j, md) != MTK_OK || !fp_add(&seen, md, (long)i)) {
				r = cli_error(c, MTK_E_NOMEM, NULL);
				goto out;
			}
		}
	}
	for (int a = first + 1; a < argc; a++) {
		char **files = NULL;
		int nfiles = 0;
		bool dir;

		if ((r = import_files(c, argv[a], &files, &nfiles, &dir)) != 0)
			goto out;
		for (int fi = 0; fi < nfiles && r == 0; fi++) {
			mtk_set set = MTK_SET_INIT;
			mtk_err lerr = {0};

			if ((rc = mtk_load_file(&set, files[fi], NULL, NULL, NULL, &lerr)) != MTK_OK) {
				mtk_set_free(&set);
				if (!dir) {
					r = cli_error(c, rc, &lerr);
					break;
				}
				/* A directory's other files (README, keys) are no error. */
				json_array_append_new(skipped,
						      json_pack("{s:s, s:s}", "source", files[fi],
								"reason", "not a certificate file"));
				continue;
			}
			for (size_t i = 0; i < set.count && r == 0; i++) {
				X509 *x = set.objs[i].cert;
				unsigned char md[32], *der = NULL;
				char alias[224], hex[65];
				int derlen;
				bool found;
				long at;

				if (set.objs[i].kind != MTK_OBJ_CERT || x == NULL)
					continue;
				if ((derlen = i2d_X509(x, &der)) <= 0) {
					r = cli_error(c, MTK_E_CRYPTO, NULL);
					break;
				}
				SHA256(der, (size_t)derlen, md);
				OPENSSL_free(der);
				der = NULL;
				for (int k = 0; k < 32; k++)
					snprintf(hex + 2 * k, 3, "%02x", md[k]);
				at = fp_find(&seen, md, &found);
				if (found) {
					nskipped++;
					json_array_append_new(
					    skipped, json_pack("{s:s, s:s, s:s, s:s}", "source", files[fi],
							       "sha256", hex, "reason", "already present",
							       "alias", f->ks->entries[at].alias));
					continue;
				}
				if (!cn_alias(f->ks, &sx, x, alias, sizeof(alias))) {
					r = cli_error(c, MTK_E_NOMEM, NULL);
					break;
				}
				if ((rc = mtk_keystore_add_trusted(f->ks, alias, x, (int64_t)c->now * 1000,
								   &err)) != MTK_OK) {
					r = cli_error(c, rc, &err);
					break;
				}
				if (!fp_add(&seen, md, (long)f->ks->count - 1)) {
					r = cli_error(c, MTK_E_NOMEM, NULL);
					break;
				}
				nadded++;
				json_array_append_new(added, json_pack("{s:s, s:s, s:s}", "alias", alias,
								       "sha256", hex, "source",
								       files[fi]));
			}
			mtk_set_free(&set);
		}
		for (int fi = 0; fi < nfiles; fi++)
			free(files[fi]);
		free(files);
		if (r != 0)
			goto out;
	}
	run->changed = nadded > 0;
	o->nadded = nadded;
	o->nskipped = nskipped;
out:
	fp_free(&seen);
	suffixes_free(&sx);
	return r;
}

static int import_trusted_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;

	if (!c->json)
		printf("%zu certificate%s added to keystore, %zu already present\n", o->nadded,
		       o->nadded == 1 ? "" : "s", o->nskipped);
	cli_set(c, "keystore", json_string(run->target));
	cli_set(c, "added_count", json_integer((json_int_t)o->nadded));
	cli_set(c, "skipped_count", json_integer((json_int_t)o->nskipped));
	cli_set(c, "added", o->added);
	cli_set(c, "skipped", o->skipped);
	o->added = o->skipped = NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* install-reply                                                        */

static const char usage_install_reply[] =
    "Usage: mtlskit keystore install-reply KEYSTORE --alias A REPLY\n"
    "  Installs a CA reply (one certificate, or a chain in any order, PEM, DER or\n"
    "  PKCS#7) on a key entry, like keytool -importcert: the reply must carry the\n"
    "  entry's public key; a single certificate is completed from the trusted\n"
    "  entries of the keystore up to a self-signed root.\n";

static int install_reply_prepare(struct cli_sub_run *run)
{
	struct ksopt *o = run->ctx;
	int r;

	if ((r = need_alias(run->c, o, usage_install_reply)) != 0)
		return r;
	return ks_source_certs(run->c, run->argv[run->first + 1], &o->wcerts);
}

static int install_reply_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	mtk_keystore *ks = run->ks.ks;
	mtk_err err = {0};
	bool trusted = false;
	long idx;
	mtk_rc rc;

	idx = mtk_keystore_find(ks, o->alias);
	if (idx < 0) {
		rc = mtk_err_set(&err, MTK_E_NOT_FOUND, "Alias <%s> does not exist", o->alias);
		return cli_error(c, rc, &err);
	}
	if (ks->entries[idx].kind != MTK_KSE_KEY) {
		rc = mtk_err_set(&err, MTK_E_INVALID_ARG,
				 "alias <%s> is a %s, not a key entry: use add-trusted", o->alias,
				 mtk_kse_kind_name(ks->entries[idx].kind));
		return cli_error(c, rc, &err);
	}
	if ((rc = mtk_keystore_install_reply(ks, (size_t)idx, o->wcerts, &trusted, &err)) !=
	    MTK_OK)
		return cli_error(c, rc, &err);
	if (!trusted && sk_X509_num(o->wcerts) > 1)
		cli_warn(c, "the top-level certificate of the reply is not a trusted entry of %s",
			 run->target);
	o->idx = idx;
	return 0;
}

static int install_reply_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	mtk_ks_entry *e = &run->ks.ks->entries[o->idx];

	if (!c->json)
		printf("Certificate reply was installed in keystore\n");
	cli_set(c, "keystore", json_string(run->target));
	cli_set(c, "alias", json_string(e->alias));
	cli_set(c, "chain_length", json_integer(sk_X509_num(e->chain)));
	return 0;
}

/* ------------------------------------------------------------------ */
/* export                                                               */

static const char usage_export[] =
    "Usage: mtlskit keystore export KEYSTORE --alias A [--der] [--full-chain] [--with-key] [-o "
    "OUT]\n"
    "  Writes the entry's certificate (PEM; --der for DER), or with --full-chain\n"
    "  the whole chain; --with-key adds the private key (unencrypted PKCS#8 after the\n"
    "  chain: a MID Server bundle).  Standard output unless -o.\n";

static int export_prepare(struct cli_sub_run *run)
{
	struct ksopt *o = run->ctx;
	int r;

	if ((r = need_alias(run->c, o, usage_export)) != 0)
		return r;
	if (o->der && (o->with_key || o->full_chain))
		return cli_usage_error(run->c, usage_export, "--der writes one certificate only");
	run->open_flags = o->with_key ? 0 : MTK_KS_READ_NO_KEYS;
	return 0;
}

static int export_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	mtk_ks_entry *e;
	long idx;
	int r = 0, n;
	mtk_rc rc = MTK_OK;

	idx = mtk_keystore_find(f->ks, o->alias);
	if (idx < 0) {
		rc = mtk_err_set(&err, MTK_E_NOT_FOUND, "Alias <%s> does not exist", o->alias);
		r = cli_error(c, rc, &err);
		goto out;
	}
	e = &f->ks->entries[idx];
	if (e->kind == MTK_KSE_SECRET) {
		rc = mtk_err_set(&err, MTK_E_UNSUPPORTED, "alias <%s> is a secret key", o->alias);
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (o->with_key && e->kind != MTK_KSE_KEY) {
		rc = mtk_err_set(&err, MTK_E_INVALID_ARG, "alias <%s> has no private key", o->alias);
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (o->with_key && e->key == NULL) {
		rc = mtk_err_set(
		    &err, MTK_E_KEY_PASSWORD,
		    "alias <%s>: Cannot recover key (give the key password with --key-pass)",
		    o->alias);
		r = cli_error(c, rc, &err);
		goto out;
	}
	n = o->full_chain || o->with_key ? sk_X509_num(e->chain) : 1;
	for (int i = 0; i < n && rc == MTK_OK; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(e->chain, i), &der);
		if (len <= 0) {
			rc = MTK_E_CRYPTO;
			break;
		}
		rc = o->der ? mtk_buf_append(&out, der, (size_t)len)
			   : mtk_pem_encode(&out, "CERTIFICATE", der, (size_t)len);
		OPENSSL_free(der);
	}
	if (rc == MTK_OK && o->with_key) {
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(e->key);
		unsigned char *der = NULL;
		int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
		PKCS8_PRIV_KEY_INFO_free(p8);
		rc = len > 0 ? mtk_pem_encode(&out, "PRIVATE KEY", der, (size_t)len) : MTK_E_CRYPTO;
		if (len > 0)
			OPENSSL_clear_free(der, (size_t)len);
	}
	if (rc != MTK_OK) {
		r = cli_error(c, mtk_err_set(&err, rc, "exporting %s", o->alias), &err);
		goto out;
	}
	if (c->out != NULL && strcmp(c->out, "-") != 0) {
		rc = mtk_file_write(
		    c->out, out.data, out.len,
		    (o->with_key ? MTK_WRITE_SECRET : 0) | (c->force ? MTK_WRITE_FORCE : 0), &err);
		if (rc != MTK_OK) {
			r = cli_error(c, rc, &err);
			goto out;
		}
		cli_set(c, "output", json_string(c->out));
		if (!c->json)
			cli_note(c, "Certificate%s stored in file <%s>",
				o->with_key ? "s and key"
				: n > 1	   ? "s"
					   : "",
				c->out);
	} else if (c->json) {
		if (!o->der)
			cli_set(c, "pem", json_stringn((const char *)out.data, out.len));
	} else {
		fwrite(out.data, 1, out.len, c->data);
	}
	cli_set(c, "alias", json_string(e->alias));
	cli_set(c, "certificates", json_integer(n));
	cli_set(c, "with_key", json_boolean(o->with_key));
out:
	mtk_buf_free(&out);
	return r;
}

/* ------------------------------------------------------------------ */
/* remove                                                               */

static const char usage_remove[] = "Usage: mtlskit keystore remove KEYSTORE --alias A\n"
				   "  Deletes the entry (keytool -delete).\n";

static int remove_apply(struct cli_sub_run *run)
{
	const struct ksopt *o = run->ctx;
	mtk_err err = {0};
	long idx;

	idx = mtk_keystore_find(run->ks.ks, o->alias);
	if (idx < 0)
		return cli_error(
		    run->c,
		    mtk_err_set(&err, MTK_E_NOT_FOUND, "Alias <%s> does not exist", o->alias),
		    &err);
	mtk_keystore_remove(run->ks.ks, (size_t)idx);
	return 0;
}

static int remove_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;
	size_t count = run->ks.ks->count;

	if (!c->json)
		printf("Entry <%s> removed; %zu entr%s left.\n", o->alias, count,
		       count == 1 ? "y" : "ies");
	cli_set(c, "alias", json_string(o->alias));
	cli_set(c, "count", json_integer((json_int_t)count));
	return 0;
}

/* ------------------------------------------------------------------ */
/* passwd                                                               */

static const char usage_passwd[] =
    "Usage: mtlskit keystore passwd KEYSTORE [--alias A] --out-pass SPEC\n"
    "  Without --alias: changes the store password; JKS/JCEKS keys protected with\n"
    "  the old store password get the new one too (keys with a password of their\n"
    "  own keep it); PKCS12 re-encrypts everything.\n"
    "  With --alias: changes that entry's key password (JKS/JCEKS, keytool\n"
    "  -keypasswd); the old one is --key-pass, else the store password.\n";

static int passwd_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	mtk_secret *np = NULL;
	mtk_err err = {0};
	int r = 0;
	mtk_rc rc;

	if ((rc = cli_password(c, CLI_PASS_OUT, "New password: ", true, &np, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (np == NULL) {
		r = cli_usage_error(c, usage_passwd, "the new password is needed: --out-pass SPEC");
		goto out;
	}
	if (np->len < 6) {
		r = cli_error(c,
			      mtk_err_set(&err, MTK_E_INVALID_ARG,
					  "Password is too short - must be at least 6 characters"),
			      &err);
		goto out;
	}
	if (o->alias == NULL) {
		size_t moved = 0;
		/* Keys protected with the old store password follow it: Java
		 * applications (the MID Server among them) open keys with the store
		 * password.  Keys with a password of their own keep it. */
		for (size_t i = 0; f->ks->type != MTK_KS_PKCS12 && i < f->ks->count; i++) {
			if (f->ks->entries[i].kind != MTK_KSE_KEY ||
			    mtk_keystore_unlock(f->ks, i, f->store_pass, NULL) != MTK_OK)
				continue;
			if ((rc = mtk_keystore_reprotect(f->ks, i, &err)) != MTK_OK) {
				r = cli_error(c, rc, &err);
				goto out;
			}
			moved++;
		}
		mtk_secret_free(f->store_pass);
		mtk_secret_free(f->key_pass);
		f->store_pass = np;
		f->key_pass = NULL;
		np = NULL;
		o->moved = moved;
	} else {
		long idx = mtk_keystore_find(f->ks, o->alias);
		if (f->ks->type == MTK_KS_PKCS12) {
			r = cli_error(c,
				      mtk_err_set(&err, MTK_E_UNSUPPORTED,
						  "PKCS12 keystores have no separate key password; "
						  "change the store password instead"),
				      &err);
			goto out;
		}
		if (idx < 0 || f->ks->entries[idx].kind != MTK_KSE_KEY) {
			r = cli_error(c,
				      mtk_err_set(&err, MTK_E_NOT_FOUND,
						  idx < 0 ? "Alias <%s> does not exist"
							  : "Alias <%s> is not a key entry",
						  o->alias),
				      &err);
			goto out;
		}
		rc = mtk_keystore_unlock(f->ks, (size_t)idx, f->key_pass ? f->key_pass : f->store_pass,
					 &err);
		if (rc == MTK_OK)
			rc = mtk_keystore_reprotect(f->ks, (size_t)idx, &err);
		if (rc != MTK_OK) {
			r = cli_error(c, rc, &err);
			goto out;
		}
		mtk_secret_free(f->key_pass);
		f->key_pass = np;
		np = NULL;
	}
out:
	mtk_secret_free(np);
	return r;
}

static int passwd_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;

	if (o->alias == NULL) {
		if (!c->json)
			printf("Store password changed (%zu key password%s that matched it changed "
			       "too).\n",
			       o->moved, o->moved == 1 ? "" : "s");
		cli_set(c, "keys_changed", json_integer((json_int_t)o->moved));
	} else {
		if (!c->json)
			printf("Key password of <%s> changed.\n", o->alias);
		cli_set(c, "alias", json_string(o->alias));
	}
	cli_set(c, "keystore", json_string(run->target));
	return 0;
}

/* ------------------------------------------------------------------ */
/* genkey                                                               */

static const char usage_genkey[] =
    "Usage: mtlskit keystore genkey KEYSTORE --alias A --subject DN [--key-type T]\n"
    "                               [--days N] [--store-type T]\n"
    "  A new key pair with a self-signed certificate, like keytool -genkeypair:\n"
    "  rsa:2048 by default, 90 days, SHA-256 signature.\n"
    "  --subject DN     \"CN=mid01.example.com, OU=IT, O=Example, C=US\" or\n"
    "                   \"/CN=mid01.example.com/O=Example/C=US\"\n"
    "  --key-type T     rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384\n"
    "  keytool spellings: --dname (--subject), --keyalg RSA|EC [--keysize N]\n"
    "  (--key-type), --validity (--days), --type (--store-type).\n";

static int genkey_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;
	mtk_err err = {0};
	mtk_rc rc;
	int r;

	if ((r = need_alias(c, o, usage_genkey)) != 0)
		return r;
	if (o->dname == NULL)
		return cli_usage_error(c, usage_genkey, "--subject is required");
	if (o->keyalg != NULL && o->key_type != NULL)
		return cli_usage_error(c, usage_genkey, "give --key-type or its keytool spelling --keyalg, not both");
	if ((rc = mtk_keystore_check_alias(o->alias, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int genkey_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	mtk_err err = {0};
	mtk_rc rc;

	if (mtk_keystore_find(run->ks.ks, o->alias) >= 0 && !c->force)
		return cli_error(c,
				 mtk_err_set(&err, MTK_E_INVALID_ARG,
					     "Key pair not generated, alias <%s> already exists",
					     o->alias),
				 &err);
	if ((o->keyalg != NULL ? (rc = mtk_ks_genkey(o->keyalg, (int)o->keysize, &o->wkey, &err))
			       : (rc = mtk_key_generate(o->key_type ? o->key_type : "rsa:2048",
							&o->wkey, &err))) != MTK_OK ||
	    (rc = mtk_ks_selfsign(o->wkey, o->dname, o->validity ? o->validity : 90, c->now,
				  &o->wcert, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	o->wchain = sk_X509_new_null();
	if (o->wchain == NULL || !sk_X509_push(o->wchain, o->wcert))
		return cli_error(c, MTK_E_NOMEM, NULL);
	o->wcert = NULL;
	if ((rc = mtk_keystore_add_key(run->ks.ks, o->alias, o->wkey, o->wchain,
				       (int64_t)c->now * 1000, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int genkey_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;
	char desc[64];

	mtk_key_describe(o->wkey, desc, sizeof(desc));
	if (!c->json)
		printf("Generated %s key pair and self-signed certificate (%s) with a "
		       "validity "
		       "of %ld days for: %s\n",
		       desc, EVP_PKEY_is_a(o->wkey, "EC") ? "SHA256withECDSA" : "SHA256withRSA",
		       o->validity ? o->validity : 90, o->dname);
	cli_set(c, "key", json_string(desc));
	cli_set(c, "keystore", json_string(run->target));
	cli_set(c, "alias", json_string(o->alias));
	cli_set(c, "type", json_string(mtk_ks_type_name(run->ks.ks->type)));
	return 0;
}

/* ------------------------------------------------------------------ */
/* csr                                                                  */

static const char usage_csr[] =
	"Usage: mtlskit keystore csr KEYSTORE --alias A [--usage client|server|both] [--san SAN]...\n"
	"                            [-o OUT]\n"
	"  A PKCS#10 request for a key entry (keytool -certreq), PEM, with the entry's subject.\n"
	"  --usage U  ask for keyUsage and extendedKeyUsage as csr create does (keytool -ext)\n"
	"  --san SAN  subjectAltName, e.g. DNS:mid01.example.com,IP:192.0.2.1 (repeatable)\n";

static int csr_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ksopt *o = run->ctx;
	mtk_err err = {0};
	int r;

	if ((r = need_alias(c, o, usage_csr)) != 0)
		return r;
	if (o->usage != NULL && mtk_usage_parse(o->usage, &o->use, &err) != MTK_OK)
		return cli_usage_error(c, usage_csr, "--usage '%s': use client, server or both", o->usage);
	for (int i = 0; i < o->nsan; i++)
		if (mtk_sans_parse(&o->sans, o->san[i], &err) != MTK_OK)
			return cli_usage_error(c, usage_csr, "--san '%s': %s", o->san[i], err.detail);
	return 0;
}

static int csr_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ksopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	X509_REQ *req = NULL;
	mtk_buf out = MTK_BUF_INIT;
	unsigned char *der = NULL;
	mtk_err err = {0};
	mtk_ks_entry *e;
	long idx;
	int r = 0, len;
	mtk_rc rc;

	idx = mtk_keystore_find(f->ks, o->alias);
	if (idx < 0 || f->ks->entries[idx].kind != MTK_KSE_KEY) {
		r = cli_error(c,
			      mtk_err_set(&err, MTK_E_NOT_FOUND,
					  idx < 0 ? "Alias <%s> does not exist"
						  : "Alias <%s> is not a key entry",
					  o->alias),
			      &err);
		goto out;
	}
	e = &f->ks->entries[idx];
	if (e->key == NULL) {
		r = cli_error(c,
			      mtk_err_set(&err, MTK_E_KEY_PASSWORD,
					  "alias <%s>: Cannot recover key (give --key-pass)",
					  o->alias),
			      &err);
		goto out;
	}
	/* Without --usage/--san the request is keytool -certreq's (no
	 * extensions); with them, the one request builder csr create uses. */
	rc = o->use != MTK_USAGE_NONE || o->sans.count > 0
		     ? mtk_csr_build(e->key, X509_get_subject_name(sk_X509_value(e->chain, 0)),
				     &o->sans, o->use, &req, &err)
		     : mtk_ks_certreq(e->key, sk_X509_value(e->chain, 0), &req, &err);
	if (rc != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	len = i2d_X509_REQ(req, &der);
	if (len <= 0 || mtk_pem_encode(&out, "CERTIFICATE REQUEST", der, (size_t)len) != MTK_OK) {
		r = cli_error(c, MTK_E_CRYPTO, NULL);
		goto out;
	}
	if (c->out != NULL && strcmp(c->out, "-") != 0) {
		if ((rc = mtk_file_write(c->out, out.data, out.len, c->force ? MTK_WRITE_FORCE : 0,
					 &err)) != MTK_OK) {
			r = cli_error(c, rc, &err);
			goto out;
		}
		cli_set(c, "output", json_string(c->out));
	} else if (c->json) {
		cli_set(c, "pem", json_stringn((const char *)out.data, out.len));
	} else {
		fwrite(out.data, 1, out.len, c->data);
	}
	cli_set(c, "alias", json_string(e->alias));
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	mtk_buf_free(&out);
	return r;
}

/* The sub-verbs: parse, prepare, open, apply, save, report (subverb.h). */
#define KS_ONE "one keystore file is needed"
#define KS_TWO "wrong number of operands"
#define KS_RO (MTK_KS_READ_NO_KEYS | MTK_KS_READ_LAZY)

static const struct cli_sub subs[] = {
    {"list", "List entries (-v: every certificate, fingerprints)", usage_list, 1, 1, KS_ONE,
     CLI_SUB_OPEN_KS_READ, KS_RO, CLI_SUB_SAVE_NONE, NULL, NULL, ks_list},
    {"add-key", "Add a private key entry from a bundle, PEM files, PFX or keystore",
     usage_add_key, 1, -1, "a keystore file is needed", CLI_SUB_OPEN_KS_CREATE,
     MTK_KS_READ_NO_KEYS, CLI_SUB_SAVE_CHANGED, add_key_prepare, add_key_apply, add_key_report},
    {"add-trusted", "Add a trusted certificate entry", usage_add_trusted, 2, 2, KS_TWO,
     CLI_SUB_OPEN_KS_CREATE, KS_RO, CLI_SUB_SAVE_CHANGED, add_trusted_prepare,
     add_trusted_apply, add_trusted_report},
    {"import-trusted", "Add many trusted certificates (files, directories) at once",
     usage_import_trusted, 2, -1, "a keystore and at least one file or directory are needed",
     CLI_SUB_OPEN_KS_CREATE, KS_RO, CLI_SUB_SAVE_CHANGED, NULL, import_trusted_apply,
     import_trusted_report},
    {"install-reply", "Install a CA reply on a key entry (keytool -importcert)",
     usage_install_reply, 2, 2, KS_TWO, CLI_SUB_OPEN_KS_EDIT, MTK_KS_READ_NO_KEYS,
     CLI_SUB_SAVE_CHANGED, install_reply_prepare, install_reply_apply, install_reply_report},
    {"export", "Write an entry's certificate, chain or key", usage_export, 1, 1, KS_ONE,
     CLI_SUB_OPEN_KS_READ, MTK_KS_READ_NO_KEYS, CLI_SUB_SAVE_NONE, export_prepare, NULL,
     export_report},
    {"remove", "Delete an entry", usage_remove, 1, 1, KS_ONE, CLI_SUB_OPEN_KS_EDIT, KS_RO,
     CLI_SUB_SAVE_CHANGED, ks_need_alias, remove_apply, remove_report},
    {"passwd", "Change the store password, or a key password with --alias", usage_passwd, 1, 1,
     KS_ONE, CLI_SUB_OPEN_KS_EDIT, MTK_KS_READ_NO_KEYS, CLI_SUB_SAVE_CHANGED, NULL,
     passwd_apply, passwd_report},
    {"genkey", "New key pair with a self-signed certificate (keytool -genkeypair)",
     usage_genkey, 1, 1, KS_ONE, CLI_SUB_OPEN_KS_CREATE, MTK_KS_READ_NO_KEYS,
     CLI_SUB_SAVE_CHANGED, genkey_prepare, genkey_apply, genkey_report},
    {"csr", "PKCS#10 request for a key entry (keytool -certreq)", usage_csr, 1, 1, KS_ONE,
     CLI_SUB_OPEN_KS_READ, 0, CLI_SUB_SAVE_NONE, csr_prepare, NULL, csr_report},
    {NULL, NULL, NULL, 0, 0, NULL, CLI_SUB_OPEN_NONE, 0, CLI_SUB_SAVE_NONE, NULL, NULL, NULL},
};

static const struct cli_subverbs keystore = {
    "keystore", "v", longopts, on_opt, ks_check, NULL, ks_release, subs,
};

int cmd_keystore(cli *c, int argc, char **argv)
{
	struct ksopt o;

	memset(&o, 0, sizeof(o));
	return cli_run_sub(c, &keystore, &o, argc, argv);
}
