/*
 * cmd_check.c - `mtlskit check`: load the files, apply the profile's rules
 * (check.h), print the findings grouped per file with the fix for each.
 *
 * The files given together are the parts of one thing (a bundle, or the
 * leaf, chain and key in separate files), as `mtlskit bundle` would take
 * them; --each checks every file on its own.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "cli.h"
#include "mtlskit/bundle.h"
#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/check.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"

static const char usage[] =
    "Usage: mtlskit check [--profile P] [options] FILE|DIR...\n"
    "\n"
    "Finds what will go wrong before you install or upload anything, and says how\n"
    "to fix it (the fix is an mtlskit command).  The files together are the parts\n"
    "of one bundle (leaf, chain and key may be in separate files, in any order).\n"
    "\n"
    "Profiles:\n"
    "  mid          a MID Server PEM bundle (leaf -> intermediates -> root -> PKCS#8\n"
    "               key), or an agent directory (it holds config.xml; its\n"
    "               security/agent_keystore.jks is checked)\n"
    "  outbound     a keystore for a ServiceNow \"Java Key Store\" certificate record\n"
    "  upload-user  the leaf for sys_user_certificate (never the private key)\n"
    "  upload-ca    the CA chain for sys_ca_certificate (one chain, to the root)\n"
    "  trust-store  a third party's certificate for a \"Trust Store Cert\" record\n"
    "  server       a server's certificate, key and chain\n"
    "  (none)       every rule that applies to what the files hold\n"
    "\n"
    "Options:\n"
    "  --profile P       the target (above)\n"
    "  --ca FILE         chain-untrusted unless the chain leads to a CA in FILE\n"
    "  --within DUR      cert-expiring when a certificate expires within DUR (30d,\n"
    "                    2w, 12h; a bare number is days; default 30d); given, such\n"
    "                    a certificate makes the exit status 1\n"
    "  --alias NAME      keystore-alias unless a key entry has this alias (for an agent\n"
    "                    directory the MID alias defaultsecuritykeypairhandle)\n"
    "  --each            check every file on its own instead of as parts of one\n"
    "  --pass SPEC       password of a PFX, keystore or encrypted key (a keystore\n"
    "                    named agent_keystore.jks is tried with the MID default\n"
    "                    'changeit' when no --pass is given)\n"
    "  --key-pass SPEC   keystore entry password, if it differs\n"
    "  --json            one JSON document with the findings\n"
    "SPEC: env:VAR, file:PATH, fd:N or pass:TEXT.\n"
    "Exit: 0 no error findings; 1 error findings; 2 usage; 3 unreadable input;\n"
    "4 wrong password.\n";

enum {
	OPT_PROFILE = CLI_OPT__VERB_BASE,
	OPT_CA,
	OPT_WITHIN,
	OPT_ALIAS,
	OPT_EACH,
};

struct opts {
	const char *profile;
	const char *ca;
	const char *within;
	const char *alias;
	bool each;
};

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (opt) {
	case OPT_PROFILE:
		o->profile = arg;
		return 0;
	case OPT_CA:
		o->ca = arg;
		return 0;
	case OPT_WITHIN:
		o->within = arg;
		return 0;
	case OPT_ALIAS:
		o->alias = arg;
		return 0;
	case OPT_EACH:
		o->each = true;
		return 0;
	default:
		return cli_usage_error(c, usage, "unexpected option");
	}
}

/* "30", "30d": days. */
/* One input as given on the command line, and what loading it found. */
struct input {
	const char *arg;      /* as given */
	char *path;           /* the file read (the agent keystore for a directory) */
	mtk_container_info info;
	bool agent_dir;
};

struct run {
	struct opts o;
	mtk_profile profile;
	mtk_secret *pass;
	mtk_secret *key_pass;
	mtk_set ca_set;
	STACK_OF(X509) *trusted;
	struct input *in;
	size_t nin;
};

static void run_free(struct run *r)
{
	mtk_secret_free(r->pass);
	mtk_secret_free(r->key_pass);
	mtk_set_free(&r->ca_set);
	sk_X509_pop_free(r->trusted, X509_free);
	for (size_t i = 0; r->in && i < r->nin; i++)
		free(r->in[i].path);
	free(r->in);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A directory: the MID agent's keystore in it (mid.h decides which
 * directories are agent directories, the same ones `mid install` takes). */
static int resolve_dir(cli *c, struct run *r, struct input *in)
{
	mtk_err err = {0};
	mtk_rc rc;

	if (r->profile != MTK_PROFILE_MID && r->profile != MTK_PROFILE_AUTO)
		return cli_error(c, mtk_err_set(&err, MTK_E_ISDIR, "%s", in->arg), &err);
	if ((rc = mtk_mid_agent_dir(in->arg, &in->path, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	in->agent_dir = true;
	return 0;
}

/* Loads one input into set; with no --pass, the MID default is tried on an
 * agent keystore only (mid.h).  Returns 0 or an exit status. */
static int load_input(cli *c, struct run *r, struct input *in, mtk_set *set, mtk_findings *fs)
{
	mtk_load_opts lo = {.pass = r->pass, .key_pass = r->key_pass, .findings = true};
	mtk_err err = {0};
	mtk_rc rc;

	/* An agent keystore must be read, not just described. */
	lo.require_decrypt = in->agent_dir;
	if (in->agent_dir && r->pass == NULL)
		lo.pass = mtk_mid_default_pass();
	lo.default_pass = mtk_mid_default_for(MTK_MID_READ, in->path);
	rc = mtk_load_file(set, in->path, &lo, &in->info, fs, &err);
	if (rc == MTK_E_UNSUPPORTED && in->agent_dir) {
		mtk_err_clear(&err);
		return cli_error(c,
				 mtk_err_set(&err, MTK_E_UNSUPPORTED,
					     "%s: this build cannot read JKS keystore entries yet, so the MID "
					     "keystore cannot be checked; check the PEM bundle you installed instead "
					     "(mtlskit check --profile mid bundle.pem)",
					     in->path),
				 &err);
	}
	if (rc != MTK_OK)
		return cli_error(c, rc, &err);
	if (in->info.needs_password && r->pass == NULL) {
		/* On a terminal, ask once and read the file again. */
		mtk_err e2 = {0};
		if (cli_password(c, CLI_PASS_IN, "Password: ", true, &r->pass, &e2) == MTK_OK &&
		    r->pass != NULL) {
			lo.pass = r->pass;
			mtk_err_clear(&err);
			if ((rc = mtk_load_file(set, in->path, &lo, &in->info, fs, &err)) != MTK_OK)
				return cli_error(c, rc, &err);
		}
	}
	if (in->info.needs_password) {
		return cli_error(c,
				 mtk_err_set(&err, MTK_E_PASSWORD_NEEDED,
					     "%s: password-protected; give --pass (env:VAR, file:PATH, fd:N)",
					     in->path),
				 &err);
	}
	if (in->info.format == MTK_FMT_JKS || in->info.format == MTK_FMT_JCEKS) {
		bool any = false;
		for (size_t i = 0; i < set->count && !any; i++)
			any = set->objs[i].source && strcmp(set->objs[i].source, in->path) == 0;
		if (!any && in->info.ks_entries > 0)
			return cli_error(c,
					 mtk_err_set(&err, MTK_E_UNSUPPORTED,
						     "%s: this build cannot read JKS/JCEKS keystore entries yet",
						     in->path),
					 &err);
	}
	return 0;
}

static json_t *chain_json(const mtk_set *set, time_t now)
{
	mtk_chain ch;
	mtk_err err = {0};
	json_t *arr = json_array();

	if (mtk_chain_build(set, NULL, MTK_CHAIN_NO_KEY_OK, &ch, &err) != MTK_OK)
		return arr;
	for (int i = -1; i < sk_X509_num(ch.cas); i++) {
		X509 *x = i < 0 ? ch.leaf : sk_X509_value(ch.cas, i);
		mtk_cert_summary s;

		if (mtk_cert_summarize(x, &s, NULL) != MTK_OK)
			continue;
		json_array_append_new(arr, cli_cert_json(&s, now));
	}
	mtk_chain_free(&ch);
	return arr;
}

/* Checks the inputs [from, to) as one target. */
static int check_group(cli *c, struct run *r, size_t from, size_t to, json_t *targets)
{
	mtk_set set = MTK_SET_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_check_opts co = {0};
	mtk_err err = {0};
	json_t *files = json_array();
	const char *alias = r->o.alias;
	mtk_rc rc = MTK_OK;
	int st = 0;

	for (size_t i = from; i < to && st == 0; i++) {
		struct input *in = &r->in[i];
		st = load_input(c, r, in, &set, &fs);
		if (st != 0)
			break;
		json_array_append_new(files, json_pack("{s:s, s:s}", "file", in->path, "format",
							mtk_format_name(in->info.format)));
		rc = mtk_check_container(in->path, &in->info, r->profile, &fs, &err);
		if (rc != MTK_OK)
			st = cli_error(c, rc, &err);
		if (in->agent_dir && alias == NULL)
			alias = MTK_MID_ALIAS;
	}
	if (st != 0)
		goto out;
	{
		/* Every target is about certificates; a key alone is only worth
		 * a look in auto mode (its form). */
		size_t ncert = 0, nkey = 0;
		for (size_t i = 0; i < set.count; i++) {
			ncert += set.objs[i].kind == MTK_OBJ_CERT;
			nkey += set.objs[i].kind == MTK_OBJ_KEY;
		}
		if (ncert == 0 && (r->profile != MTK_PROFILE_AUTO || nkey == 0)) {
			st = cli_error(c,
				       mtk_err_set(&err, MTK_E_NOT_FOUND,
						   "%s%s: no certificate in the input%s", r->in[from].path,
						   to - from > 1 ? " ..." : "",
						   nkey ? " (only a private key)" : ""),
				       &err);
			goto out;
		}
	}
	co.profile = r->profile;
	co.now = c->now;
	if (r->o.within != NULL && (st = cli_within_days(c, r->o.within, &co.within_days)) != 0)
		goto out;
	co.trusted = r->trusted;
	co.trusted_name = r->o.ca;
	co.expected_alias = alias;
	mtk_check_pem_severity(&fs, 0, r->profile);
	if ((rc = mtk_check_set(&set, &co, &fs, &err)) != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	{
		json_t *t = json_pack("{s:o, s:o, s:I, s:I}", "files", files, "chain", chain_json(&set, c->now),
				      "errors", (json_int_t)mtk_findings_count_at_least(&fs, MTK_SEV_ERROR),
				      "warnings",
				      (json_int_t)(mtk_findings_count_at_least(&fs, MTK_SEV_WARNING) -
						   mtk_findings_count_at_least(&fs, MTK_SEV_ERROR)));
		files = NULL;
		json_array_append_new(targets, t);
	}
	if ((rc = mtk_findings_move(&c->findings, &fs)) != MTK_OK)
		st = cli_error(c, rc, NULL);
out:
	json_decref(files);
	mtk_findings_free(&fs);
	mtk_set_free(&set);
	return st;
}

int cmd_check(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, OPT_PROFILE},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"within", required_argument, NULL, OPT_WITHIN},
	    {"alias", required_argument, NULL, OPT_ALIAS},
	    {"each", no_argument, NULL, OPT_EACH},
	    CLI_COMMON_LONGOPTS,
	};
	struct run r;
	mtk_err err = {0};
	json_t *targets = NULL;
	int first = 0, st;
	mtk_rc rc;

	memset(&r, 0, sizeof(r));
	st = cli_parse(c, argc, argv, "", longopts, on_opt, &r.o, usage, &first);
	if (st != 0)
		return st;
	if (first >= argc)
		return cli_usage_error(c, usage, "no file to check");
	if (r.o.profile != NULL && mtk_profile_from_name(r.o.profile, &r.profile) != MTK_OK)
		return cli_usage_error(c, usage,
				       "unknown profile '%s' (mid, outbound, upload-user, upload-ca, "
				       "trust-store, server)",
				       r.o.profile);
	if (r.o.within != NULL) {
		long d;
		if ((st = cli_within_days(c, r.o.within, &d)) != 0)
			return st;
	}
	if ((rc = cli_password(c, CLI_PASS_IN, "Password: ", false, &r.pass, &err)) != MTK_OK ||
	    (rc = cli_password(c, CLI_PASS_KEY, "Key password: ", false, &r.key_pass, &err)) != MTK_OK) {
		st = cli_error(c, rc, &err);
		goto out;
	}
	if (r.o.ca != NULL) {
		mtk_load_opts lo = {.pass = r.pass};
		if ((rc = mtk_load_file(&r.ca_set, r.o.ca, &lo, NULL, NULL, &err)) != MTK_OK ||
		    (rc = mtk_set_certs(&r.ca_set, &r.trusted, &err)) != MTK_OK) {
			st = cli_error(c, rc, &err);
			goto out;
		}
		if (sk_X509_num(r.trusted) == 0) {
			st = cli_error(c, mtk_err_set(&err, MTK_E_NOT_FOUND, "--ca %s: no certificate in it", r.o.ca),
				       &err);
			goto out;
		}
	}
	r.nin = (size_t)(argc - first);
	r.in = calloc(r.nin, sizeof(*r.in));
	if (r.in == NULL) {
		st = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	for (size_t i = 0; i < r.nin; i++) {
		r.in[i].arg = argv[first + (int)i];
		if (is_dir(r.in[i].arg)) {
			if ((st = resolve_dir(c, &r, &r.in[i])) != 0)
				goto out;
		} else if ((r.in[i].path = strdup(r.in[i].arg)) == NULL) {
			st = cli_error(c, MTK_E_NOMEM, NULL);
			goto out;
		}
	}
	targets = json_array();
	if (r.o.each) {
		for (size_t i = 0; i < r.nin && st == 0; i++)
			st = check_group(c, &r, i, i + 1, targets);
	} else {
		st = check_group(c, &r, 0, r.nin, targets);
	}
	if (st != 0)
		goto out;
	cli_set(c, "profile", json_string(mtk_profile_name(r.profile)));
	cli_set(c, "targets", targets);
	targets = NULL;
	if (!c->json) {
		size_t ne = mtk_findings_count_at_least(&c->findings, MTK_SEV_ERROR);
		size_t nw = mtk_findings_count_at_least(&c->findings, MTK_SEV_WARNING) - ne;
		cli_print_findings(c, stdout);
		if (c->findings.count == 0)
			printf("OK: no problem found (profile %s)\n", mtk_profile_name(r.profile));
		else
			printf("%zu error%s, %zu warning%s (profile %s)\n", ne, ne == 1 ? "" : "s", nw,
			       nw == 1 ? "" : "s", mtk_profile_name(r.profile));
	}
	st = cli_findings_exit(c);
out:
	json_decref(targets);
	run_free(&r);
	return st;
}
