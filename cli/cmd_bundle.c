/*
 * cmd_bundle.c - `mtlskit bundle`: the MID Server PEM bundle from parts in
 * any order and format.
 *
 * Flow: load every input (PEM/DER/PFX/keystore, encrypted keys with
 * --pass), assemble (bundle.h: leaf by key, issuers by signature, the root
 * from the inputs or --ca/--ca-dir), encode LF-only PEM, then read the
 * bytes about to be written back and run the profile's checks on exactly
 * them.  Error findings stop the write unless --force.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "mtlskit/bundle.h"
#include "mtlskit/cert.h"
#include "mtlskit/check.h"
#include "mtlskit/file.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"

static const char usage[] =
    "Usage: mtlskit bundle INPUT... -o OUT [options]\n"
    "\n"
    "Assembles the MID Server PEM bundle: leaf -> intermediates -> root -> private\n"
    "key (unencrypted PKCS#8), Unix line endings, no blank lines, mode 0600.  The\n"
    "inputs may be in any order and format: PEM or DER certificates (several per\n"
    "file), any private key format (encrypted: --pass), a PFX (--pass), PKCS#7.\n"
    "The leaf is the certificate that matches the key; intermediates are ordered\n"
    "by signature; the root comes from the inputs or from --ca/--ca-dir.\n"
    "The result is checked (mtlskit check --profile mid) before it is written:\n"
    "error findings stop the write (exit 1) unless --force.\n"
    "\n"
    "Options:\n"
    "  -o, --out OUT          the bundle ('-' for standard output)\n"
    "  --order ORDER          chain-then-key (default) or key-after-leaf (leaf, key,\n"
    "                         intermediates, root: the variant some guides use)\n"
    "  --split                two files: OUT holds the leaf and the key (0600), and\n"
    "                         OUT-ca.pem (OUT's .pem suffix replaced) the intermediates\n"
    "                         and root\n"
    "  --leaf-only            only the leaf certificate (for sys_user_certificate)\n"
    "  --ca-only              only the CA chain (for sys_ca_certificate)\n"
    "  --ca FILE              CA certificates to complete the chain (repeatable)\n"
    "  --ca-dir DIR           every certificate file in DIR, the same way\n"
    "  --alias NAME           use the key with this alias (PFX friendlyName, keystore)\n"
    "  --pass SPEC            password of a PFX, keystore or encrypted key\n"
    "  --key-pass SPEC        keystore entry password, if it differs\n"
    "  --force                write despite error findings; replace OUT\n"
    "  --json                 one JSON document on standard output\n"
    "SPEC: env:VAR, file:PATH, fd:N or pass:TEXT.\n"
    "Exit: 0 written; 1 error findings (nothing written); 2 usage; 3 unreadable\n"
    "input; 4 wrong or missing password.\n";

enum {
	OPT_ORDER = CLI_OPT__VERB_BASE,
	OPT_SPLIT,
	OPT_LEAF_ONLY,
	OPT_CA_ONLY,
	OPT_CA,
	OPT_CA_DIR,
	OPT_ALIAS,
};

struct opts {
	const char *order;
	bool split, leaf_only, ca_only;
	const char **cas;
	size_t ncas;
	const char **ca_dirs;
	size_t nca_dirs;
	const char *alias;
};

static int push(cli *c, const char ***v, size_t *n, const char *arg)
{
	const char **p = realloc(*v, (*n + 1) * sizeof(*p));
	if (p == NULL)
		return cli_error(c, MTK_E_NOMEM, NULL);
	*v = p;
	p[(*n)++] = arg;
	return 0;
}

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (opt) {
	case OPT_ORDER:
		o->order = arg;
		return 0;
	case OPT_SPLIT:
		o->split = true;
		return 0;
	case OPT_LEAF_ONLY:
		o->leaf_only = true;
		return 0;
	case OPT_CA_ONLY:
		o->ca_only = true;
		return 0;
	case OPT_CA:
		return push(c, &o->cas, &o->ncas, arg);
	case OPT_CA_DIR:
		return push(c, &o->ca_dirs, &o->nca_dirs, arg);
	case OPT_ALIAS:
		o->alias = arg;
		return 0;
	default:
		return cli_usage_error(c, usage, "unexpected option");
	}
}

struct run {
	struct opts o;
	mtk_secret *pass, *key_pass;
	mtk_set set, ca_set, check_set;
	STACK_OF(X509) *extra;
	mtk_bundle b;
	bool have_b;
	mtk_buf main_buf, ca_buf;
	char *ca_path;
	mtk_outset *outs;
};

static void run_free(struct run *r)
{
	mtk_secret_free(r->pass);
	mtk_secret_free(r->key_pass);
	if (r->have_b)
		mtk_bundle_free(&r->b);
	mtk_set_free(&r->set);
	mtk_set_free(&r->ca_set);
	mtk_set_free(&r->check_set);
	sk_X509_pop_free(r->extra, X509_free);
	mtk_buf_free(&r->main_buf);
	mtk_buf_free(&r->ca_buf);
	free(r->ca_path);
	mtk_outset_free(r->outs);
	free(r->o.cas);
	free(r->o.ca_dirs);
}

/* OUT-ca.pem beside OUT: "mid.pem" -> "mid-ca.pem", "mid" -> "mid-ca.pem". */
static char *ca_name(const char *out)
{
	size_t n = strlen(out);
	size_t stem = n >= 4 && strcmp(out + n - 4, ".pem") == 0 ? n - 4 : n;
	char *p = malloc(stem + sizeof("-ca.pem"));

	if (p != NULL)
		snprintf(p, stem + sizeof("-ca.pem"), "%.*s-ca.pem", (int)stem, out);
	return p;
}

/* Loads the inputs; a missing password is asked on a terminal once. */
static int load_inputs(cli *c, struct run *r, char **files, int n)
{
	mtk_load_opts lo = {.pass = r->pass, .key_pass = r->key_pass, .require_decrypt = true};
	mtk_err err = {0};
	mtk_rc rc;

	for (int i = 0; i < n; i++) {
		mtk_container_info info;

		mtk_err_clear(&err);
		lo.default_pass = mtk_mid_default_for(MTK_MID_READ, files[i]);
		rc = mtk_load_file(&r->set, files[i], &lo, &info, NULL, &err);
		if (rc == MTK_E_PASSWORD_NEEDED && r->pass == NULL) {
			mtk_err e2 = {0};
			if (cli_password(c, CLI_PASS_IN, "Password: ", true, &r->pass, &e2) == MTK_OK &&
			    r->pass != NULL) {
				lo.pass = r->pass;
				mtk_err_clear(&err);
				rc = mtk_load_file(&r->set, files[i], &lo, &info, NULL, &err);
			}
		}
		if (rc != MTK_OK)
			return cli_error(c, rc, &err);
	}
	for (size_t i = 0; i < r->o.ncas; i++) {
		mtk_load_opts co = {.pass = r->pass};
		mtk_err_clear(&err);
		if ((rc = mtk_load_file(&r->ca_set, r->o.cas[i], &co, NULL, NULL, &err)) != MTK_OK)
			return cli_error(c, rc, &err);
	}
	for (size_t i = 0; i < r->o.nca_dirs; i++) {
		mtk_load_opts co = {0};
		mtk_err_clear(&err);
		if ((rc = mtk_load_dir(&r->ca_set, r->o.ca_dirs[i], &co, NULL, &err)) != MTK_OK)
			return cli_error(c, rc, &err);
	}
	if (r->ca_set.count > 0 && (rc = mtk_set_certs(&r->ca_set, &r->extra, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

int cmd_bundle(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"order", required_argument, NULL, OPT_ORDER},
	    {"split", no_argument, NULL, OPT_SPLIT},
	    {"leaf-only", no_argument, NULL, OPT_LEAF_ONLY},
	    {"ca-only", no_argument, NULL, OPT_CA_ONLY},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"ca-dir", required_argument, NULL, OPT_CA_DIR},
	    {"alias", required_argument, NULL, OPT_ALIAS},
	    CLI_COMMON_LONGOPTS,
	};
	struct run r;
	mtk_bundle_opts bo = {0};
	mtk_check_opts co = {0};
	mtk_load_opts lo = {.findings = true};
	mtk_err err = {0};
	unsigned parts = MTK_BUNDLE_ALL, wflags;
	bool ca_leaf = false; /* --ca-only with no leaf: the lowest CA is written too */
	mtk_buf check_buf = MTK_BUF_SECRET_INIT;
	char fixin[1024] = "";
	int first = 0, st;
	size_t nerr;
	mtk_rc rc;

	memset(&r, 0, sizeof(r));
	r.main_buf.secret = true;
	st = cli_parse(c, argc, argv, "", longopts, on_opt, &r.o, usage, &first);
	if (st != 0)
		goto out;
	if (first >= argc) {
		st = cli_usage_error(c, usage, "no input");
		goto out;
	}
	if (c->out == NULL) {
		st = cli_usage_error(c, usage, "-o OUT is needed");
		goto out;
	}
	if (r.o.order != NULL && strcmp(r.o.order, "key-after-leaf") == 0) {
		parts |= MTK_BUNDLE_KEY_AFTER_LEAF;
	} else if (r.o.order != NULL && strcmp(r.o.order, "chain-then-key") != 0) {
		st = cli_usage_error(c, usage, "--order takes chain-then-key or key-after-leaf");
		goto out;
	}
	if ((r.o.split + r.o.leaf_only + r.o.ca_only) > 1) {
		st = cli_usage_error(c, usage, "--split, --leaf-only and --ca-only exclude each other");
		goto out;
	}
	if (r.o.split && strcmp(c->out, "-") == 0) {
		st = cli_usage_error(c, usage, "--split writes two files; give -o FILE");
		goto out;
	}
	if ((rc = cli_password(c, CLI_PASS_IN, "Password: ", false, &r.pass, &err)) != MTK_OK ||
	    (rc = cli_password(c, CLI_PASS_KEY, "Key password: ", false, &r.key_pass, &err)) != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	if ((st = load_inputs(c, &r, argv + first, argc - first)) != 0)
		goto out;
	bo.extra_cas = r.extra;
	bo.alias = r.o.alias;
	if ((rc = mtk_bundle_assemble(&r.set, &bo, &r.b, &err)) != MTK_OK) {
		if (rc == MTK_E_NOT_FOUND && err.detail[0] == '\0')
			mtk_err_set(&err, rc, "no certificate in the inputs");
		st = cli_error(c, rc, &err);
		goto out;
	}
	r.have_b = true;

	/* What is checked is what is written: the full bundle (for --split,
	 * both files together), read back from its own bytes. */
	co.profile = MTK_PROFILE_MID;
	if (r.o.leaf_only) {
		parts = MTK_BUNDLE_LEAF;
		co.profile = MTK_PROFILE_UPLOAD_USER;
	} else if (r.o.ca_only) {
		parts = MTK_BUNDLE_CAS;
		co.profile = MTK_PROFILE_UPLOAD_CA;
		/* Given only CA certificates (issuing + root, no leaf), the
		 * lowest of them stands where the leaf would: it is the first
		 * intermediate of the chain, not something to drop. */
		if (r.b.key == NULL && X509_check_ca(r.b.chain.leaf) > 0) {
			parts |= MTK_BUNDLE_LEAF;
			ca_leaf = true;
		}
		if (sk_X509_num(r.b.chain.cas) == 0 && !ca_leaf) {
			st = cli_error(c, mtk_err_set(&err, MTK_E_NOT_FOUND,
						      "no CA certificate for the leaf in the inputs (add --ca)"),
				       &err);
			goto out;
		}
	}
	if (r.o.split) {
		unsigned lk = MTK_BUNDLE_LEAF | MTK_BUNDLE_KEY;
		if ((rc = mtk_bundle_encode(&r.b, lk, &r.main_buf, &err)) != MTK_OK ||
		    (rc = mtk_bundle_encode(&r.b, MTK_BUNDLE_CAS, &r.ca_buf, &err)) != MTK_OK ||
		    (rc = mtk_bundle_encode(&r.b, MTK_BUNDLE_ALL, &check_buf, &err)) != MTK_OK) {
			st = cli_error(c, rc, &err);
			goto out;
		}
	} else {
		if ((rc = mtk_bundle_encode(&r.b, parts, &r.main_buf, &err)) != MTK_OK ||
		    (rc = mtk_buf_append(&check_buf, r.main_buf.data, r.main_buf.len)) != MTK_OK) {
			st = cli_error(c, rc, &err);
			goto out;
		}
	}
	rc = mtk_load_mem(&r.check_set, c->out, check_buf.data, check_buf.len, &lo, NULL, &c->findings,
			  &err);
	if (rc != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	co.now = c->now;
	/* Fixes name the inputs: the output was not written. */
	{
		fixin[0] = '\0';
		for (int i = first; i < argc; i++)
			mtk_check_quote_append(fixin, sizeof(fixin), argv[i]);
		co.fix_inputs = fixin;
	}
	if ((rc = mtk_check_set(&r.check_set, &co, &c->findings, &err)) != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	nerr = mtk_findings_count_at_least(&c->findings, MTK_SEV_ERROR);

	{
		json_t *chain = json_array();
		char subj[512];
		mtk_name_string(X509_get_subject_name(r.b.chain.leaf), subj, sizeof(subj));
		json_array_append_new(chain, json_string(subj));
		for (int i = 0; i < sk_X509_num(r.b.chain.cas); i++) {
			mtk_name_string(X509_get_subject_name(sk_X509_value(r.b.chain.cas, i)), subj,
					sizeof(subj));
			json_array_append_new(chain, json_string(subj));
		}
		cli_set(c, "chain", chain);
		cli_set(c, "complete", json_boolean(r.b.chain.complete));
		cli_set(c, "key", json_boolean(r.b.key != NULL && (parts & MTK_BUNDLE_KEY)));
		cli_set(c, "dropped", json_integer((json_int_t)r.b.dropped));
		cli_set(c, "dropped_keys", json_integer((json_int_t)r.b.dropped_keys));
		cli_set(c, "from_ca", json_integer((json_int_t)r.b.from_extra));
		cli_set(c, "order", json_string((parts & MTK_BUNDLE_KEY_AFTER_LEAF) ? "key-after-leaf"
										 : "chain-then-key"));
	}
	if (nerr > 0 && !c->force) {
		cli_set(c, "written", json_array());
		if (!c->json) {
			cli_print_findings(c, stderr);
			fprintf(stderr,
				"mtlskit bundle: %zu error finding%s; nothing written (--force writes anyway)\n",
				nerr, nerr == 1 ? "" : "s");
		}
		st = MTK_EXIT_FINDINGS;
		goto out;
	}
	/* The key makes the main file secret; CA-only / leaf-only files are public. */
	wflags = (c->force ? MTK_WRITE_FORCE : 0) |
		 (((parts & MTK_BUNDLE_KEY) || r.o.split) && r.b.key != NULL ? MTK_WRITE_SECRET : 0);
	r.outs = mtk_outset_new();
	if (r.outs == NULL) {
		st = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	if ((rc = mtk_outset_add(r.outs, c->out, r.main_buf.data, r.main_buf.len, wflags, &err)) != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	if (r.o.split) {
		if ((r.ca_path = ca_name(c->out)) == NULL) {
			st = cli_error(c, MTK_E_NOMEM, NULL);
			goto out;
		}
		if ((rc = mtk_outset_add(r.outs, r.ca_path, r.ca_buf.data, r.ca_buf.len,
					 c->force ? MTK_WRITE_FORCE : 0, &err)) != MTK_OK) {
			st = cli_error(c, rc, &err);
			goto out;
		}
	}
	if ((rc = mtk_outset_commit(r.outs, &err)) != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	{
		json_t *w = json_array();
		json_array_append_new(w, json_string(c->out));
		if (r.ca_path)
			json_array_append_new(w, json_string(r.ca_path));
		cli_set(c, "written", w);
	}
	if (!c->json) {
		FILE *fp = strcmp(c->out, "-") == 0 ? stderr : stdout;
		int ncas = sk_X509_num(r.b.chain.cas) + (ca_leaf ? 1 : 0);
		bool key = r.b.key != NULL && (parts & MTK_BUNDLE_KEY);
		bool root = r.b.chain.complete && ncas > 0;
		int ninter = ncas - (root ? 1 : 0);

		cli_print_findings(c, fp);
		if (r.o.ca_only)
			fprintf(fp, "wrote %s: %d intermediate%s%s\n", c->out, ninter,
				ninter == 1 ? "" : "s", root ? " -> root" : "");
		else if (r.o.leaf_only)
			fprintf(fp, "wrote %s: the leaf certificate\n", c->out);
		else if (r.o.split)
			fprintf(fp, "wrote %s: leaf%s (mode 0600)\nwrote %s: %d intermediate%s%s\n", c->out,
				key ? " -> key" : "", r.ca_path, ninter, ninter == 1 ? "" : "s",
				root ? " -> root" : "");
		else
			fprintf(fp, "wrote %s: leaf%s -> %d intermediate%s%s%s%s\n", c->out,
				key && (parts & MTK_BUNDLE_KEY_AFTER_LEAF) ? " -> key" : "", ninter,
				ninter == 1 ? "" : "s", root ? " -> root" : "",
				key && !(parts & MTK_BUNDLE_KEY_AFTER_LEAF) ? " -> key" : "",
				key ? " (mode 0600)" : "");
		if (r.b.dropped > 0)
			fprintf(fp, "left out %zu certificate%s outside the leaf's chain (unrelated, duplicate or "
				    "an older certificate of the same key)\n",
				r.b.dropped, r.b.dropped == 1 ? "" : "s");
		if (r.b.dropped_keys > 0)
			fprintf(fp, "left out %zu private key%s that match%s no certificate\n", r.b.dropped_keys,
				r.b.dropped_keys == 1 ? "" : "s", r.b.dropped_keys == 1 ? "es" : "");
	}
	st = cli_findings_exit(c);
	if (nerr > 0 && c->force)
		st = MTK_EXIT_FINDINGS; /* written, but the findings stand */
out:
	mtk_buf_free(&check_buf);
	run_free(&r);
	return st;
}
