/*
 * cmd_mid.c - `mtlskit mid install|show`: what ServiceNow's
 * `manage-certificates -a defaultsecuritykeypairhandle bundle.pem` and
 * `-g defaultsecuritykeypairhandle` do, made safe: the bundle is checked
 * with the MID Server rules first and refused with findings when any is an
 * error; the agent keystore is rewritten atomically, replacing only the
 * alias defaultsecuritykeypairhandle and keeping every other entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "ks_cli.h"
#include "subverb.h"
#include "mtlskit/bundle.h"
#include "mtlskit/cert.h"
#include "mtlskit/check.h"
#include "mtlskit/file.h"
#include "mtlskit/keystore.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"

enum {
	OPT_AGENT = CLI_OPT__VERB_BASE,
	OPT_SRC_PASS,
	OPT_WITHIN,
};

struct midopt {
	const char *agent;
	const char *src_pass;
	long within;

	/* Working state from one phase to the next (subverb.h), freed by
	 * mid_release. */
	char *path;   /* the agent keystore */
	mtk_bundle b; /* install: the normalised bundle */
	mtk_set set;
	mtk_findings raw;
	STACK_OF(X509) *chain;
	char *backup;
};

static void mid_release(void *ctx)
{
	struct midopt *o = ctx;

	sk_X509_pop_free(o->chain, X509_free);
	mtk_bundle_free(&o->b);
	mtk_set_free(&o->set);
	mtk_findings_free(&o->raw);
	free(o->path);
	free(o->backup);
}

static const struct option longopts[] = {
    {"agent", required_argument, NULL, OPT_AGENT},
    {"src-pass", required_argument, NULL, OPT_SRC_PASS},
    {"within", required_argument, NULL, OPT_WITHIN},
    CLI_COMMON_LONGOPTS,
};

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct midopt *o = ctx;

	switch (opt) {
	case OPT_AGENT:
		o->agent = arg;
		return 0;
	case OPT_SRC_PASS:
		o->src_pass = arg;
		return 0;
	case OPT_WITHIN:
		return cli_within_days(c, arg, &o->within);
	default:
		return cli_usage_error(c, NULL, "unexpected option");
	}
}

/* The agent directory checked (mtk_mid_agent_dir) and its keystore's path;
 * 0 or an exit status (reported). */
static int agent_keystore(cli *c, const char *agent, char **path)
{
	mtk_err err = {0};
	mtk_rc rc;

	if ((rc = mtk_mid_agent_dir(agent, path, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

/* After the options, every sub-verb: the agent directory is required. */
static int mid_check(struct cli_sub_run *run)
{
	const struct midopt *o = run->ctx;

	if (o->agent == NULL)
		return cli_usage_error(run->c, run->sub->usage, "--agent DIR is required");
	return 0;
}

/* prepare: the keystore of --agent is the target. */
static int mid_target(struct cli_sub_run *run)
{
	struct midopt *o = run->ctx;
	int r;

	if ((r = agent_keystore(run->c, o->agent, &o->path)) != 0)
		return r;
	run->target = o->path;
	return 0;
}

/* Loads every file into one set. */
static int load_inputs(cli *c, char **files, int n, const char *pass_spec, mtk_set *set,
		       mtk_findings *fs)
{
	mtk_secret *pass = NULL;
	mtk_load_opts opts = {0};
	mtk_err err = {0};
	unsigned flags = 0;
	mtk_rc rc;

	if (pass_spec != NULL &&
	    (rc = mtk_pass_resolve(pass_spec, NULL, &c->pass_io, &pass, &flags, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	opts.pass = pass;
	opts.require_decrypt = pass != NULL;
	opts.findings = fs != NULL;
	for (int i = 0; i < n; i++) {
		opts.default_pass = mtk_mid_default_for(MTK_MID_READ, files[i]);
		if ((rc = mtk_load_file(set, files[i], &opts, NULL, fs, &err)) != MTK_OK) {
			mtk_secret_free(pass);
			return cli_error(c, rc, &err);
		}
	}
	mtk_secret_free(pass);
	return 0;
}

static json_t *chain_json(cli *c, STACK_OF(X509) * chain, bool print)
{
	json_t *arr = json_array();

	for (int i = 0; i < sk_X509_num(chain); i++) {
		mtk_cert_summary s;
		json_t *o;

		if (mtk_cert_summarize(sk_X509_value(chain, i), &s, NULL) != MTK_OK ||
		    (o = cli_cert_json(&s, c->now)) == NULL)
			continue;
		if (print) {
			printf("  [%d]\n", i + 1);
			cli_cert_text(stdout, o, "      ");
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/*
 * What `bundle` would write, checked: the inputs are assembled and encoded by
 * the bundle module (leaf -> intermediates -> root -> PKCS#8 key, LF only),
 * read back, and the MID Server rules run on exactly those bytes; their
 * findings go to c->findings.  What the inputs had that the normalised
 * bundle no longer has (a PKCS#1 key, a misordered chain, CRLF line ends,
 * stray bytes...) is reported as a warning: it was fixed, not ignored.
 */
static int normalise(cli *c, mtk_set *in, mtk_findings *raw, const mtk_check_opts *co,
		     const char *name, mtk_bundle *b)
{
	mtk_set ns = MTK_SET_INIT;
	mtk_buf buf = MTK_BUF_SECRET_INIT;
	mtk_load_opts lo = {.findings = true};
	mtk_findings fixed = MTK_FINDINGS_INIT;
	mtk_err err = {0};
	mtk_rc rc;
	int r = 0;

	if ((rc = mtk_check_set(in, co, raw, &err)) != MTK_OK ||
	    (rc = mtk_bundle_assemble(in, NULL, b, &err)) != MTK_OK ||
	    (rc = mtk_bundle_encode(b, MTK_BUNDLE_ALL, &buf, &err)) != MTK_OK ||
	    (rc = mtk_load_mem(&ns, name, buf.data, buf.len, &lo, NULL, &c->findings, &err)) !=
		MTK_OK ||
	    (rc = mtk_check_set(&ns, co, &c->findings, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	for (size_t i = 0; i < raw->count && rc == MTK_OK; i++) {
		const mtk_finding *f = &raw->items[i];
		if (f->severity < MTK_SEV_WARNING || mtk_findings_has(&c->findings, f->id) ||
		    mtk_findings_has(&fixed, f->id))
			continue;
		rc = mtk_findings_add(&fixed, f->id, MTK_SEV_WARNING, f->file, f->line, f->where,
				      NULL,
				      "%s (fixed: mid install installs the bundle as "
				      "`mtlskit bundle` writes it)",
				      f->message);
	}
	if (rc == MTK_OK)
		rc = mtk_findings_move(&c->findings, &fixed);
	if (rc != MTK_OK)
		r = cli_error(c, MTK_E_NOMEM, NULL);
out:
	mtk_findings_free(&fixed);
	mtk_buf_free(&buf);
	mtk_set_free(&ns);
	return r;
}

/* Whether the store already holds, under the MID alias, this key and this
 * chain (same certificates, same order): then an install changes nothing. */
static bool mid_entry_same(struct ksfile *f, EVP_PKEY *key, STACK_OF(X509) * chain)
{
	long idx = mtk_keystore_find(f->ks, MTK_MID_ALIAS);
	mtk_ks_entry *e;
	mtk_err err = {0};

	if (idx < 0 || f->ks->entries[idx].kind != MTK_KSE_KEY)
		return false;
	e = &f->ks->entries[idx];
	if (sk_X509_num(e->chain) != sk_X509_num(chain))
		return false;
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (X509_cmp(sk_X509_value(e->chain, i), sk_X509_value(chain, i)) != 0)
			return false;
	/* The store was read without decrypting keys: this one is opened
	 * with the key password, else the store's; one that does not open
	 * counts as different (it is replaced, as before). */
	if (e->key == NULL &&
	    mtk_keystore_unlock(f->ks, (size_t)idx, f->key_pass ? f->key_pass : f->store_pass,
				&err) != MTK_OK)
		return false;
	return e->key != NULL && EVP_PKEY_eq(e->key, key) == 1;
}

/* Keeps a copy of the store about to be replaced, PATH.bak-YYYYMMDDTHHMMSSZ
 * (mode 0600, written like every output file); a second copy within the
 * same second gets "-2", "-3"...  *out is its name. */
static int backup_store(cli *c, const char *path, char **out)
{
	mtk_buf b = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	char stamp[32];
	struct tm tm;
	mtk_rc rc;
	size_t n = strlen(path) + 64;

	*out = NULL;
	if (gmtime_r(&c->now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return cli_error(c, mtk_err_set(&err, MTK_E_INTERNAL, "the clock"), &err);
	if ((rc = mtk_file_read(path, 0, &b, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	if ((*out = malloc(n)) == NULL) {
		mtk_buf_free(&b);
		return cli_error(c, MTK_E_NOMEM, NULL);
	}
	rc = MTK_E_EXISTS;
	for (int i = 1; i <= 20 && rc == MTK_E_EXISTS; i++) {
		if (i == 1)
			snprintf(*out, n, "%s.bak-%s", path, stamp);
		else
			snprintf(*out, n, "%s.bak-%s-%d", path, stamp, i);
		mtk_err_clear(&err);
		rc = mtk_file_write(*out, b.data, b.len, MTK_WRITE_SECRET, &err);
	}
	mtk_buf_free(&b);
	if (rc != MTK_OK) {
		free(*out);
		*out = NULL;
		return cli_error(c, rc, &err);
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static const char usage_install[] =
    "Usage: mtlskit mid install --agent DIR BUNDLE... [--pass SPEC] [--out-pass SPEC]\n"
    "  Installs the client certificate of a MID Server: normalises BUNDLE (leaf,\n"
    "  intermediates, root, private key; PEM, DER or PFX, in one or several files)\n"
    "  as `mtlskit bundle` does, with a warning for each thing fixed (PKCS#1 key,\n"
    "  chain order, CRLF...), checks the result with the MID Server rules, refuses\n"
    "  with the findings when any is an error (exit 1), then writes\n"
    "  DIR/security/agent_keystore.jks atomically with the entry\n"
    "  defaultsecuritykeypairhandle, keeping every other entry.  The same key and\n"
    "  chain already installed: nothing is written (\"unchanged\", exit 0).  A\n"
    "  keystore that is replaced is first copied to\n"
    "  agent_keystore.jks.bak-YYYYMMDDTHHMMSSZ beside it.\n"
    "  --agent DIR      the MID Server's agent directory (it holds config.xml;\n"
    "                   refused otherwise, exit 3)\n"
    "  --pass SPEC      password of an encrypted key or PFX in BUNDLE (--src-pass,\n"
    "                   deprecated, is the same)\n"
    "  --out-pass SPEC  the agent keystore's password; absent: --pass, then the\n"
    "                   default \"changeit\"\n";

/* The bundle, loaded, normalised and checked; the keystore's directory.
 * Nothing is opened or written when the bundle has an error. */
static int install_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct midopt *o = run->ctx;
	int argc = run->argc, first = run->first;
	char **argv = run->argv;
	mtk_check_opts co;
	char *secdir = NULL;
	char fixin[1024] = "";
	mtk_err err = {0};
	int r;

	if ((r = mid_target(run)) != 0)
		return r;
	if ((r = load_inputs(c, argv + first, argc - first,
			     ks_source_and_store_pass(c, o->src_pass), &o->set, &o->raw)) != 0)
		goto out;

	/* The MID Server rules first, on the normalised bundle: nothing is
	 * written when any is an error. */
	memset(&co, 0, sizeof(co));
	co.profile = MTK_PROFILE_MID;
	co.now = c->now;
	co.within_days = o->within;
	/* Fixes name the inputs, not the bundle assembled in memory. */
	fixin[0] = '\0';
	for (int i = first; i < argc; i++)
		mtk_check_quote_append(fixin, sizeof(fixin), argv[i]);
	co.fix_inputs = fixin;
	if ((r = normalise(c, &o->set, &o->raw, &co, argc - first == 1 ? argv[first] : "bundle",
			   &o->b)) != 0)
		goto out;
	if (cli_findings_exit(c) != 0) {
		if (!c->json) {
			cli_print_findings(c, stderr);
			fprintf(
			    stderr,
			    "mtlskit mid install: not installed: the bundle has errors (above); "
			    "%s is unchanged\n",
			    o->agent);
		}
		cli_set(c, "installed", json_false());
		r = MTK_EXIT_FINDINGS;
		goto out;
	}
	if (o->b.key == NULL || o->b.chain.leaf == NULL) {
		r = cli_error(
		    c, mtk_err_set(&err, MTK_E_NOT_FOUND, "the bundle has no private key"), &err);
		goto out;
	}
	if ((o->chain = sk_X509_new_null()) == NULL || !sk_X509_push(o->chain, o->b.chain.leaf)) {
		r = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	X509_up_ref(o->b.chain.leaf);
	for (int i = 0; i < sk_X509_num(o->b.chain.cas); i++) {
		X509 *x = sk_X509_value(o->b.chain.cas, i);
		if (sk_X509_push(o->chain, x))
			X509_up_ref(x);
	}

	/* DIR/security (0700), then the keystore. */
	secdir = strdup(o->path);
	if (secdir == NULL) {
		r = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	*strrchr(secdir, '/') = '\0';
	if (mkdir(secdir, 0700) != 0 && errno != EEXIST) {
		r = cli_error(c,
			      mtk_err_set(&err, errno == EACCES ? MTK_E_PERM : MTK_E_WRITE,
					  "%s: %s", secdir, strerror(errno)),
			      &err);
		goto out;
	}
	run->store_type = "jks";
out:
	free(secdir);
	return r;
}

static int install_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct midopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	mtk_err err = {0};
	bool changed;
	mtk_rc rc;
	int r;

	/* Idempotent, so configuration tools can run it every time: the same
	 * key and chain already installed means nothing is written. */
	changed = f->created || !mid_entry_same(f, o->b.key, o->chain);
	run->changed = changed;
	if (changed && !f->created && (r = backup_store(c, o->path, &o->backup)) != 0)
		return r;
	if (changed && (rc = mtk_keystore_add_key(f->ks, MTK_MID_ALIAS, o->b.key, o->chain,
						  (int64_t)c->now * 1000, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int install_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct midopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	bool changed = run->changed;
	const char *path = o->path, *backup = o->backup;
	STACK_OF(X509) *chain = o->chain;

	if (!c->json) {
		cli_print_findings(c, stderr);
		if (backup != NULL)
			printf("Kept the replaced keystore as %s\n", backup);
		if (changed)
			printf("Installed %s in %s (%zu entr%s in the keystore):\n", MTK_MID_ALIAS,
			       path, f->ks->count, f->ks->count == 1 ? "y" : "ies");
		else
			printf("unchanged: %s in %s already holds this key and chain; nothing "
			       "written:\n",
			       MTK_MID_ALIAS, path);
	}
	cli_set(c, "installed", json_true());
	cli_set(c, "changed", json_boolean(changed));
	cli_set(c, "backup", backup != NULL ? json_string(backup) : json_null());
	cli_set(c, "keystore", json_string(path));
	cli_set(c, "alias", json_string(MTK_MID_ALIAS));
	cli_set(c, "entries", json_integer((json_int_t)f->ks->count));
	cli_set(c, "chain", chain_json(c, chain, !c->json));
	if (!c->json && changed)
		printf("Restart the MID Server service to use it.\n");
	return 0;
}

/* ------------------------------------------------------------------ */

static const char usage_show[] =
    "Usage: mtlskit mid show --agent DIR [--pass SPEC] [--within DUR]\n"
    "  Shows the MID Server's client certificate entry (defaultsecuritykeypairhandle\n"
    "  in DIR/security/agent_keystore.jks): its chain and the days left, checked\n"
    "  with the MID Server rules.  Finding keystore-alias (exit 1) when it is absent.\n";

static mtk_rc add_copy(mtk_set *set, const char *src, const char *alias, int index, X509 *x,
		       EVP_PKEY *k)
{
	mtk_obj o;
	mtk_rc rc;

	memset(&o, 0, sizeof(o));
	o.source = (char *)src;
	o.alias = (char *)alias;
	o.index = index;
	if (x != NULL) {
		o.kind = MTK_OBJ_CERT;
		o.cert = x;
		X509_up_ref(x);
	} else {
		o.kind = MTK_OBJ_KEY;
		o.key_form = MTK_KEY_CONTAINER;
		o.key = k;
		EVP_PKEY_up_ref(k);
	}
	if ((rc = mtk_set_add(set, &o)) != MTK_OK) {
		X509_free(o.cert);
		EVP_PKEY_free(o.key);
	}
	return rc;
}

static int show_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct midopt *o = run->ctx;
	struct ksfile *f = &run->ks;
	mtk_set set = MTK_SET_INIT;
	mtk_check_opts co;
	mtk_ks_entry *e;
	const char *path = o->path;
	mtk_err err = {0};
	long idx;
	int r;
	mtk_rc rc = MTK_OK;

	cli_set(c, "keystore", json_string(path));
	cli_set(c, "alias", json_string(MTK_MID_ALIAS));
	idx = mtk_keystore_find(f->ks, MTK_MID_ALIAS);
	if (idx < 0 || f->ks->entries[idx].kind != MTK_KSE_KEY) {
		char fix[1024];
		snprintf(fix, sizeof(fix),
			 "build the bundle (mtlskit bundle), then mtlskit mid install --agent %s "
			 "YOUR-BUNDLE.pem and restart the MID Server",
			 o->agent);
		if (mtk_findings_add_advice(
			&c->findings, MTK_F_KEYSTORE_ALIAS, MTK_SEV_ERROR, path, 0, MTK_MID_ALIAS,
			NULL, fix,
			"the agent keystore has no key entry %s: the MID Server has no "
			"client certificate to present",
			MTK_MID_ALIAS) != MTK_OK) {
			r = cli_error(c, MTK_E_NOMEM, NULL);
			goto out;
		}
		if (!c->json)
			cli_print_findings(c, stdout);
		cli_set(c, "present", json_false());
		r = MTK_EXIT_FINDINGS;
		goto out;
	}
	e = &f->ks->entries[idx];
	/* The installed entry alone, judged as the MID Server would: leaf,
	 * chain, then the key (the order of a bundle). */
	for (int i = 0; i < sk_X509_num(e->chain) && rc == MTK_OK; i++)
		rc = add_copy(&set, path, e->alias, i, sk_X509_value(e->chain, i), NULL);
	if (rc == MTK_OK && e->key != NULL)
		rc = add_copy(&set, path, e->alias, sk_X509_num(e->chain), NULL, e->key);
	memset(&co, 0, sizeof(co));
	co.profile = MTK_PROFILE_MID;
	co.now = c->now;
	co.within_days = o->within;
	if (rc == MTK_OK)
		rc = mtk_check_set(&set, &co, &c->findings, &err);
	if (rc != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (e->key == NULL)
		cli_warn(c, "the key of %s does not open with the store password (give --key-pass)",
			 MTK_MID_ALIAS);
	{
		char date[64];
		cli_fmt_time((time_t)(e->date_ms / 1000), date, sizeof(date));
		if (!c->json)
			printf("%s: %s, installed %s, chain of %d\n", path, MTK_MID_ALIAS, date,
			       sk_X509_num(e->chain));
		cli_set(c, "present", json_true());
		cli_set(c, "date", json_string(date));
	}
	cli_set(c, "chain", chain_json(c, e->chain, !c->json));
	if (sk_X509_num(e->chain) > 0) {
		mtk_cert_summary s;
		if (mtk_cert_summarize(sk_X509_value(e->chain, 0), &s, NULL) == MTK_OK)
			cli_set(c, "days_left", json_integer(mtk_days_left(s.not_after, c->now)));
	}
	if (!c->json)
		cli_print_findings(c, stdout);
	r = cli_findings_exit(c);
out:
	mtk_set_free(&set);
	return r;
}

/* The sub-verbs: parse, prepare, open, apply, save, report (subverb.h). */
static const struct cli_sub subs[] = {
    {"install", "Check a bundle and install it as defaultsecuritykeypairhandle", usage_install,
     1, -1, "the bundle to install is needed", CLI_SUB_OPEN_KS_CREATE, MTK_KS_READ_NO_KEYS,
     CLI_SUB_SAVE_CHANGED, install_prepare, install_apply, install_report},
    {"show", "Show the installed client certificate entry and its days left", usage_show, 0, 0,
     "unexpected operand", CLI_SUB_OPEN_KS_READ, 0, CLI_SUB_SAVE_NONE, mid_target, NULL,
     show_report},
    {NULL, NULL, NULL, 0, 0, NULL, CLI_SUB_OPEN_NONE, 0, CLI_SUB_SAVE_NONE, NULL, NULL, NULL},
};

static const struct cli_subverbs mid = {
    "mid", "", longopts, on_opt, mid_check, NULL, mid_release, subs,
};

int cmd_mid(cli *c, int argc, char **argv)
{
	struct midopt o;

	memset(&o, 0, sizeof(o));
	return cli_run_sub(c, &mid, &o, argc, argv);
}
