/*
 * main.c - the mtlskit command table: it dispatches and it prints usage.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "version.h"

static const struct cli_verb verbs[] = {
	{"inspect", cmd_inspect, "Identify and describe certificates, keys, CSRs, CRLs, PFX and keystores"},
	{"key", cmd_key, "Generate private keys (key generate)"},
	{"csr", cmd_csr, "Create certificate signing requests (csr create)"},
	{"ca", cmd_ca, "A private CA: init, sign, revoke, crl"},
	{"renew", cmd_renew, "A renewal CSR carrying an existing certificate's subject and extensions"},
	{"convert", cmd_convert, "Convert between PEM, DER, PKCS#8, PFX, JKS and JCEKS"},
	{"bundle", cmd_bundle, "Assemble a correct PEM bundle from parts in any order and format"},
	{"check", cmd_check, "Diagnose certificates, bundles and keystores, and say how to fix them"},
	{"keystore", cmd_keystore, "Java keystores: list, add-key, add-trusted, install-reply, export, ..."},
	{"mid", cmd_mid, "ServiceNow MID Server certificate install and show"},
	{"probe", cmd_probe, "Connect to a TLS server: chain, client CA list, mTLS handshake test"},
	{"expiry", cmd_expiry, "Every certificate in files, directories, keystores and endpoints, soonest first"},
	{"track", cmd_track, "Certificates that renew themselves: add, list, status, run, remove"},
};

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: mtlskit [--json] <command> [<args>]\n\n"
		    "The mTLS client certificate toolkit.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(fp, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(fp, "  %-9s %s\n  %-9s %s\n", "help", "This text, or a command's: mtlskit help COMMAND",
		"version", "The version of mtlskit and of OpenSSL");
	fprintf(fp,
		"\nRun 'mtlskit help <command>' or 'mtlskit <command> --help' for its options.\n"
		"Common options: --json, -q/--quiet, --pass SPEC, --key-pass SPEC, --out-pass SPEC,\n"
		"--force, -o FILE. SPEC: env:VAR, file:PATH, fd:N, pass:TEXT (visible to other\n"
		"users). The vocabulary: docs/cli.md.\n"
		"Exit status: 0 ok, 1 findings with errors, 2 usage, 3 unreadable or malformed\n"
		"input, 4 wrong password or integrity failure, 5 network or TLS failure,\n"
		"6 internal error.\n");
}

static const char *env_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

extern mtk_rc cli_prompt_tty(void *ctx, const char *prompt, char *buf, size_t cap);

static int version(void)
{
	printf("mtlskit %s (%s)\n", MTK_VERSION, OpenSSL_version(OPENSSL_VERSION));
	return 0;
}

static const struct cli_verb *find_verb(const char *name)
{
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (strcmp(name, verbs[k].name) == 0)
			return &verbs[k];
	return NULL;
}

/* A usage error before any verb ran: one line, and where to look; with
 * --json, the one document too. */
static int top_usage_error(const cli *c, const char *what, const char *arg)
{
	char msg[512], esc[4 * 512];

	snprintf(msg, sizeof(msg), arg[0] ? "%s'%s'" : "%s", what, arg);
	/* The argument is the user's, but may hold anything: escaped. */
	fprintf(stderr, "mtlskit: %s (see 'mtlskit --help')\n", cli_printable(msg, esc, sizeof(esc)));
	if (c->json) {
		json_t *doc = json_pack("{s:n, s:b, s:i, s:[], s:{s:s, s:o, s:i}}", "command", "ok", 0,
					"exit", MTK_EXIT_USAGE, "findings", "error", "code",
					"MTK_E_USAGE", "message", cli_json_printable(msg), "exit",
					MTK_EXIT_USAGE);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
	}
	return MTK_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	cli c = {0};
	const struct cli_verb *v = NULL;
	int i = 1, rc;

	/* Passwords and private keys pass through this process: no core dump
	 * (and no same-user ptrace) may carry them away. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	c.now = time(NULL);
	c.data = stdout;
	c.pass_io.getenv_fn = env_getenv;
	c.pass_io.prompt_fn = cli_prompt_tty;
	c.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	c.color_err = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[i], "--no-color") == 0) {
			c.color = c.color_err = false;
		} else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			c.quiet = true;
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			return version();
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			return top_usage_error(&c, "unknown option ", argv[i]);
		}
	}
	if (i >= argc) {
		if (c.json)
			return top_usage_error(&c, "a command is needed", "");
		usage(stderr);
		return MTK_EXIT_USAGE;
	}
	if (strcmp(argv[i], "version") == 0)
		return version();
	if (strcmp(argv[i], "help") == 0) {
		char *help_argv[4] = {NULL, "--help", NULL, NULL};

		if (i + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		if ((v = find_verb(argv[i + 1])) == NULL)
			return top_usage_error(&c, "no help for ", argv[i + 1]);
		/* "help keystore add-key" is "keystore add-key --help". */
		help_argv[0] = argv[i + 1];
		if (i + 2 < argc) {
			help_argv[1] = argv[i + 2];
			help_argv[2] = "--help";
		}
		c.verb = v->name;
		optind = 1;
		rc = v->fn(&c, i + 2 < argc ? 3 : 2, help_argv);
		return rc < 0 ? 0 : rc;
	}
	if ((v = find_verb(argv[i])) == NULL)
		return top_usage_error(&c, "not a command: ", argv[i]);
	c.verb = v->name;

	/* The process ends right after its one command, and the kernel takes
	 * the memory back at once: OpenSSL's exit-time clean-up (freeing every
	 * algorithm table it built, ~0.2 ms of a keystore command) is work for
	 * nothing. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	/* Verbs see their own name as argv[0], like separate programs. */
	optind = 1;
	rc = v->fn(&c, argc - i, argv + i);
	if (rc < 0)
		rc = 0; /* --help */
	if (c.json) {
		json_t *doc = c.result ? c.result : json_object();

		c.result = NULL;
		json_object_set_new(doc, "command", json_string(c.verb));
		json_object_set_new(doc, "ok", json_boolean(rc == 0));
		json_object_set_new(doc, "exit", json_integer(rc));
		if (json_object_get(doc, "findings") == NULL)
			json_object_set_new(doc, "findings", cli_findings_json(&c.findings));
		if (c.error != NULL) {
			json_object_set_new(doc, "error", c.error);
			c.error = NULL;
		}
		if (c.json_streamed) {
			/* The rest of the object the verb opened: our members
			 * without our "{\n". */
			char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

			if (s != NULL && s[0] == '{' && s[1] == '\n')
				printf(",\n%s", s + 2);
			else
				fputs("\n}", stdout);
			free(s);
		} else {
			json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		}
		fputc('\n', stdout);
		json_decref(doc);
	}
	json_decref(c.result);
	json_decref(c.error);
	mtk_findings_free(&c.findings);
	if ((fflush(stdout) != 0 || fflush(c.data) != 0) && rc == 0)
		rc = MTK_EXIT_INTERNAL;
	return rc;
}
