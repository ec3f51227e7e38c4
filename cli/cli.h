/*
 * cli.h - what every verb of the `mtlskit` command shares: the options common
 * to all verbs, passwords, reporting of errors and findings, and the one JSON
 * document printed in --json mode.
 *
 * A verb fills c->result (a JSON object; the text renderer of the verb reads
 * the same data), adds findings to c->findings, and returns an exit status.
 * main() prints the JSON document, so there is always exactly one.
 */
#ifndef MTLSKIT_CLI_H
#define MTLSKIT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "mtlskit/err.h"
#include "mtlskit/findings.h"
#include "mtlskit/pass.h"
#include "mtlskit/timeval.h"

typedef struct cli {
	const char *verb;       /* "inspect", "keystore list", ... */
	bool json;
	bool color;             /* stdout is a terminal and --no-color absent */
	bool color_err;         /* same for stderr */
	bool force;
	bool quiet;             /* -q: no text on stdout but data asked for, no warnings */
	FILE *data;             /* where data asked for goes (stdout even with -q) */
	const char *out;        /* -o/--out */
	const char *pass_spec;  /* --pass */
	const char *key_pass_spec;
	const char *out_pass_spec;
	bool within_given;      /* --within: expiring certificates make exit 1 */
	bool store_pass_then_default; /* ks_open: after --pass, try "changeit" */
	bool store_new_is_default;    /* ks_open_or_create: a new store is "changeit" */
	json_t *result;         /* the verb's result object; owned */
	json_t *error;          /* set by cli_error; owned */
	bool json_streamed;     /* the verb already wrote "{" and its own members
				   of the document to stdout: main() writes the
				   rest of it (expiry, whose rows are streamed) */
	mtk_findings findings;
	mtk_pass_io pass_io;
	time_t now;
} cli;

typedef int (*cli_fn)(cli *c, int argc, char **argv);

struct cli_verb {
	const char *name;
	cli_fn fn;
	const char *summary;
};

/* Long options every verb accepts; end a verb's own table with these. */
enum {
	CLI_OPT_JSON = 1000,
	CLI_OPT_PASS,
	CLI_OPT_KEY_PASS,
	CLI_OPT_OUT_PASS,
	CLI_OPT_FORCE,
	CLI_OPT_NO_COLOR,
	CLI_OPT_HELP,
	CLI_OPT__VERB_BASE = 1100, /* verbs number their own options from here */
};

#define CLI_COMMON_LONGOPTS                                                                    \
	{"json", no_argument, NULL, CLI_OPT_JSON}, {"pass", required_argument, NULL, CLI_OPT_PASS}, \
	    {"key-pass", required_argument, NULL, CLI_OPT_KEY_PASS},                               \
	    {"out-pass", required_argument, NULL, CLI_OPT_OUT_PASS},                               \
	    {"force", no_argument, NULL, CLI_OPT_FORCE},                                           \
	    {"no-color", no_argument, NULL, CLI_OPT_NO_COLOR},                                     \
	    {"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},               \
	    {"quiet", no_argument, NULL, 'q'},                                                     \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}

/* Handles a common option; returns 1 if handled, 0 if not one of them. */
int cli_common_opt(cli *c, int opt, const char *arg);

/* Parses argv with the verb's options (short and long, long ending with
 * CLI_COMMON_LONGOPTS).  For each option that is not common, calls
 * on_opt(c, opt, optarg, ctx); on_opt returns 0, or an exit status to stop.
 * On --help prints usage and returns -1 (the verb returns 0).  Returns the
 * index of the first operand in *first, or an exit status > 0 on bad usage. */
int cli_parse(cli *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
	      int (*on_opt)(cli *c, int opt, const char *arg, void *ctx), void *ctx,
	      const char *usage, int *first);

/* Prints a verb's usage and the common options' footer (--help). */
void cli_print_usage(cli *c, FILE *fp, const char *usage);
/* After options are parsed: with -q, text on stdout goes to /dev/null
 * (cli_parse calls it; a verb with its own parser calls it itself). */
void cli_quiet_apply(cli *c);
/* Usage error: message on stderr (and in the JSON error), returns 2. */
int cli_usage_error(cli *c, const char *usage, const char *fmt, ...) MTK_PRINTF(3, 4);
/* Reports err (or rc with no detail) on stderr / in JSON; returns the exit
 * status for it. */
int cli_error(cli *c, mtk_rc rc, const mtk_err *err);
/* The one line an error prints, "WHERE: what is wrong (what to do)", from
 * a code and the library's detail ("WHERE: specific cause"), with no clause
 * said twice. */
void cli_compose_error(mtk_rc rc, const char *detail, const char *ossl, char *buf, size_t cap);
/* What was done ("wrote x.pem"), on stderr; -q silences it. */
void cli_note(cli *c, const char *fmt, ...) MTK_PRINTF(2, 3);
/* A plain warning on stderr (not in JSON); -q silences it. */
void cli_warn(cli *c, const char *fmt, ...) MTK_PRINTF(2, 3);

enum cli_pass_kind { CLI_PASS_IN, CLI_PASS_KEY, CLI_PASS_OUT };
/* Resolves --pass / --key-pass / --out-pass, prompting on a terminal when
 * the flag is absent and prompt_if_absent is set.  *out stays NULL (and
 * MTK_OK is returned) when absent and no prompt is possible or wanted. */
MTK_WUR mtk_rc cli_password(cli *c, enum cli_pass_kind kind, const char *prompt,
			    bool prompt_if_absent, mtk_secret **out, mtk_err *err);

/* Loads a private key in any format (keygen.h mtk_key_load) with --pass, or
 * asks for its password on a terminal when it turns out to be encrypted. */
MTK_WUR mtk_rc cli_load_key(cli *c, const char *path, EVP_PKEY **out, mtk_err *err);

/* Prints findings grouped per file (text mode), colour on a terminal. */
void cli_print_findings(cli *c, FILE *fp);
/* Exit status for the findings: 1 if any error-severity finding, or, when
 * --within was given (within_given), any certificate expired or expiring
 * within it: --within is an alarm on every verb that takes it. */
int cli_findings_exit(const cli *c);
/* JSON form of the findings list. */
json_t *cli_findings_json(const mtk_findings *fs);

/* Result helpers: set key in c->result (creating it), stealing v. */
void cli_set(cli *c, const char *key, json_t *v);
/* A JSON string of s with control characters and invalid UTF-8 escaped
 * (describe.h mtk_str_printable): for text a file or a peer chose, so the
 * text rendering of the same data is safe on a terminal.  NULL on ENOMEM. */
json_t *cli_json_printable(const char *s);
/* The same escaping into buf (4 * strlen(s) + 1 bytes holds any s), for
 * printing; returns buf.  (describe.h and gateway.h cannot be included in
 * one file today: both define mtk_strlist.) */
const char *cli_printable(const char *s, char *buf, size_t cap);
/* CLOCK_MONOTONIC in milliseconds, the clock network deadlines are computed
 * from (probe.h, expiry.h clock_ms). */
uint64_t cli_clock_ms(void *ctx);
/* Called by every verb before it opens a socket: a peer that hangs up
 * mid-handshake must give an error (exit 5), not SIGPIPE (OpenSSL writes
 * to its sockets with write()). */
void cli_net_begin(void);
/* A duration option (timeval.h: "90s", "12h", "30d", "2w"; a bare number
 * in bare_unit_ms) within [min_ms, max_ms] into *ms; 0, or the usage
 * error's exit status. */
int cli_duration(cli *c, const char *flag, const char *arg, int64_t bare_unit_ms, int64_t min_ms,
		 int64_t max_ms, int64_t *ms);
/* An expiry window (--within) in whole days, rounded up: the unit the
 * checks count in. */
int cli_within_days(cli *c, const char *arg, long *days);
/* RFC 3339 UTC "2026-11-22T06:21:48Z" into buf, for JSON and text alike
 * (timeval.h mtk_time_rfc3339). */
const char *cli_fmt_time(time_t t, char *buf, size_t cap);

/* render.c: one rendering of certificates and keys, JSON first, text from
 * that same JSON object.  A certificate: subject, issuer (escaped), serial,
 * not_before, not_after (RFC 3339), days_left, sha1, sha256, key_type,
 * key_bits, key_curve (EC only), sig_alg, self_signed, is_ca, expired.
 * NULL on ENOMEM. */
struct mtk_cert_summary;
json_t *cli_cert_json(const struct mtk_cert_summary *s, time_t now);
/* Prints a certificate object (as cli_cert_json builds it; members it lacks
 * are skipped) as "INDENT label: value" lines, strings escaped. */
void cli_cert_text(FILE *fp, const json_t *cert, const char *indent);
/* A key: type, bits, description ("RSA 2048", "EC P-256"), curve (EC
 * only), weak; form when given ("pkcs8", ...) and encrypted when known
 * (encrypted < 0: not applicable, e.g. a certificate's public key).  NULL on
 * ENOMEM. */
json_t *cli_key_json(EVP_PKEY *key, const char *form, int encrypted);
void cli_key_text(FILE *fp, const json_t *key, const char *indent);

/* The verbs. */
int cmd_inspect(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_csr(cli *c, int argc, char **argv);
int cmd_ca(cli *c, int argc, char **argv);
int cmd_renew(cli *c, int argc, char **argv);
int cmd_convert(cli *c, int argc, char **argv);
int cmd_bundle(cli *c, int argc, char **argv);
int cmd_check(cli *c, int argc, char **argv);
int cmd_keystore(cli *c, int argc, char **argv);
int cmd_mid(cli *c, int argc, char **argv);
int cmd_probe(cli *c, int argc, char **argv);
int cmd_expiry(cli *c, int argc, char **argv);
int cmd_track(cli *c, int argc, char **argv);

/* Dispatches "verb sub ..." over a table of sub-verbs (keystore, ca, ...). */
int cli_dispatch_sub(cli *c, const char *verb, const struct cli_verb *subs, int argc,
		     char **argv);

#endif
