/*
 * common.c - option parsing, passwords, error and findings reporting shared
 * by every verb.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mtlskit/buf.h"
#include "mtlskit/describe.h"
#include "mtlskit/keygen.h"
#include "mtlskit/timeval.h"

int cli_common_opt(cli *c, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_JSON:
		c->json = true;
		return 1;
	case CLI_OPT_PASS:
		c->pass_spec = arg;
		return 1;
	case CLI_OPT_KEY_PASS:
		c->key_pass_spec = arg;
		return 1;
	case CLI_OPT_OUT_PASS:
		c->out_pass_spec = arg;
		return 1;
	case CLI_OPT_FORCE:
		c->force = true;
		return 1;
	case 'q':
		c->quiet = true;
		return 1;
	case CLI_OPT_NO_COLOR:
		c->color = c->color_err = false;
		return 1;
	case 'o':
		c->out = arg;
		return 1;
	default:
		return 0;
	}
}

void cli_print_usage(cli *c, FILE *fp, const char *usage)
{
	(void)c;
	fputs(usage, fp);
	if (usage[0] != '\0' && usage[strlen(usage) - 1] != '\n')
		fputc('\n', fp);
	fputs("Every command: --json, -q/--quiet, --force, --no-color, -o FILE, -h/--help;\n"
	      "passwords --pass (read), --key-pass (an entry's key), --out-pass (written).\n"
	      "The vocabulary and exit statuses: docs/cli.md.\n",
	      fp);
}

int cli_usage_error(cli *c, const char *usage, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char esc[4 * sizeof(msg)];

	(void)usage;
	/* Messages quote arguments, which may hold anything: escaped. */
	fprintf(stderr, "mtlskit %s: %s (see 'mtlskit %s --help')\n", c->verb,
		mtk_str_printable(msg, strlen(msg), esc, sizeof(esc)), c->verb);
	if (c->error == NULL) {
		c->error = json_pack("{s:s, s:s, s:i}", "code", "MTK_E_USAGE", "message", msg,
				     "exit", MTK_EXIT_USAGE);
	}
	return MTK_EXIT_USAGE;
}

int cli_parse(cli *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
	      int (*on_opt)(cli *c, int opt, const char *arg, void *ctx), void *ctx,
	      const char *usage, int *first)
{
	char so[128];
	int opt;

	/* Leading '+' would stop at the first operand; we want GNU permutation,
	 * and ':' to tell a missing argument apart from an unknown option. */
	snprintf(so, sizeof(so), ":%shqo:", shortopts ? shortopts : "");
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, so, longopts, NULL)) != -1) {
		if (opt == 'h') {
			cli_print_usage(c, stdout, usage);
			return -1;
		}
		if (opt == '?') {
			if (optopt != 0)
				return cli_usage_error(c, usage, "unknown option '-%c'", optopt);
			return cli_usage_error(c, usage, "unknown option '%s'", argv[optind - 1]);
		}
		if (opt == ':')
			return cli_usage_error(c, usage, "option '%s' needs a value", argv[optind - 1]);
		if (cli_common_opt(c, opt, optarg))
			continue;
		if (on_opt != NULL) {
			int r = on_opt(c, opt, optarg, ctx);
			if (r != 0)
				return r;
		} else {
			return cli_usage_error(c, usage, "unexpected option '%s'", argv[optind - 1]);
		}
	}
	*first = optind;
	/* --json owns standard output: one JSON document, always. */
	if (c->json && c->out != NULL && strcmp(c->out, "-") == 0)
		return cli_usage_error(c, usage,
				       "--json and -o - both want standard output (write the data with -o FILE)");
	cli_quiet_apply(c);
	return 0;
}

void cli_quiet_apply(cli *c)
{
	/* -q: text output goes nowhere; data asked for (-o -, export,
	 * --prometheus) still reach standard output through c->data; --json
	 * is not text (the document is always printed). */
	if (c->quiet && !c->json && stdout == c->data) {
		FILE *null = fopen("/dev/null", "w");

		if (null != NULL)
			stdout = null;
	}
}

/* The part of a message before " (what to do)". */
static size_t core_len(const char *msg)
{
	const char *p = strstr(msg, " (");

	return p != NULL ? (size_t)(p - msg) : strlen(msg);
}

/* True when a and b say the same: one holds the core of the other, case
 * aside ("No such file or directory" and "no such file or directory"). */
static bool says_same(const char *specific, const char *msg)
{
	char core[256], tail[256];
	const char *last = specific, *p;

	snprintf(core, sizeof(core), "%.*s", (int)core_len(msg), msg);
	if (core[0] != '\0' && strcasestr(specific, core) != NULL)
		return true;
	while ((p = strstr(last, ": ")) != NULL)
		last = p + 2;
	snprintf(tail, sizeof(tail), "%s", last);
	if (strlen(tail) >= 8 && strcasestr(core, tail) != NULL)
		return true;
	/* "wrong password" and "keystore password is incorrect": one thing. */
	return strcasestr(specific, "password") != NULL && strcasestr(core, "password") != NULL;
}

void cli_compose_error(mtk_rc rc, const char *detail, const char *ossl, char *buf, size_t cap)
{
	const char *msg = mtk_rc_message(rc), *colon = detail ? strstr(detail, ": ") : NULL;
	const char *todo = msg + core_len(msg); /* " (what to do)" or "" */
	char extra[1024] = "";

	/* One line, "WHERE: what is wrong (what to do)": the library's detail
	 * starts with WHERE (a file, an alias, a stage and a host) and goes on
	 * with the specific cause; a bare WHERE gets the code's message. */
	if (detail == NULL) {
		snprintf(buf, cap, "%s", msg);
		todo = "";
	} else if (colon == NULL && strchr(detail, '(') != NULL) {
		/* a whole sentence with its own what-to-do (keytool's words) */
		snprintf(buf, cap, "%s", detail);
		todo = "";
	} else if (colon == NULL) {
		snprintf(buf, cap, "%s: %s", detail, msg);
		todo = "";
	} else {
		/* "WHERE: the specific cause" says what is wrong better than the
		 * code's generic message; the code's "(what to do)" follows
		 * unless the detail has its own. */
		snprintf(buf, cap, "%s", detail);
		if (says_same(colon + 2, msg) || strchr(colon, '(') != NULL)
			todo = "";
		/* A detail that does not say a password is the cause ("cannot
		 * decrypt the private key"): the code says it. */
		if (mtk_rc_exit(rc) == MTK_EXIT_PASSWORD && strcasestr(detail, "password") == NULL) {
			size_t n = strlen(buf);

			snprintf(buf + n, n < cap ? cap - n : 0, ": %.*s", (int)core_len(msg), msg);
		}
	}
	if (ossl != NULL && strcasestr(buf, ossl) == NULL)
		snprintf(extra, sizeof(extra), "%s", ossl);
	{
		size_t n = strlen(buf);

		if (todo[0] != '\0' && strstr(buf, todo + 1) == NULL)
			n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s", todo);
		if (extra[0] != '\0' && n < cap)
			snprintf(buf + n, cap - n, " [%s]", extra);
	}
}

int cli_error(cli *c, mtk_rc rc, const mtk_err *err)
{
	char detail_s[4 * sizeof(err->detail)], ossl_s[4 * sizeof(err->ossl)];
	char line[4 * sizeof(err->detail) + 4 * sizeof(err->ossl) + 256];
	const char *detail = NULL, *ossl = NULL;

	/* A detail may quote a file name or a peer's words: escaped, like
	 * every other untrusted string on the terminal. */
	if (err && err->detail[0])
		detail = mtk_str_printable(err->detail, strlen(err->detail), detail_s,
					   sizeof(detail_s));
	if (err && err->ossl[0])
		ossl = mtk_str_printable(err->ossl, strlen(err->ossl), ossl_s, sizeof(ossl_s));
	if (err && err->code != MTK_OK)
		rc = err->code;
	cli_compose_error(rc, detail, ossl, line, sizeof(line));
	fprintf(stderr, "mtlskit %s: %s\n", c->verb, line);
	if (c->error == NULL) {
		c->error = json_pack("{s:s, s:s, s:i}", "code", mtk_rc_name(rc), "message", line,
				     "exit", mtk_rc_exit(rc));
		if (detail)
			json_object_set_new(c->error, "detail", json_string(detail));
		if (ossl)
			json_object_set_new(c->error, "openssl", json_string(ossl));
	}
	return mtk_rc_exit(rc);
}

void cli_warn(cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	fprintf(stderr, "mtlskit %s: warning: ", c->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_note(cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

mtk_rc cli_prompt_tty(void *ctx, const char *prompt, char *buf, size_t cap);
mtk_rc cli_prompt_tty(void *ctx, const char *prompt, char *buf, size_t cap)
{
	struct termios old, noecho;
	size_t len = 0;
	int fd;
	mtk_rc rc = MTK_OK;

	(void)ctx;
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return MTK_E_PASSWORD_NEEDED;
	if (!isatty(fd) || tcgetattr(fd, &old) != 0) {
		close(fd);
		return MTK_E_PASSWORD_NEEDED;
	}
	noecho = old;
	noecho.c_lflag &= (tcflag_t)~ECHO;
	/* Echo off before the prompt appears: whatever is typed after the
	 * prompt must not be flushed away. */
	(void)tcsetattr(fd, TCSAFLUSH, &noecho);
	(void)!write(fd, prompt, strlen(prompt));
	while (len + 1 < cap) {
		char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || ch == '\n' || ch == '\r')
			break;
		buf[len++] = ch;
	}
	buf[len] = '\0';
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return rc;
}

mtk_rc cli_password(cli *c, enum cli_pass_kind kind, const char *prompt, bool prompt_if_absent,
		    mtk_secret **out, mtk_err *err)
{
	const char *spec = kind == CLI_PASS_IN    ? c->pass_spec
			   : kind == CLI_PASS_KEY ? c->key_pass_spec
						  : c->out_pass_spec;
	const char *flag = kind == CLI_PASS_IN ? "--pass" : kind == CLI_PASS_KEY ? "--key-pass" : "--out-pass";
	unsigned flags = 0;
	mtk_pass_io io = c->pass_io;
	mtk_rc rc;

	*out = NULL;
	if (spec == NULL) {
		if (!prompt_if_absent || !isatty(STDIN_FILENO))
			return MTK_OK;
	}
	if (spec == NULL && kind == CLI_PASS_OUT) {
		/* A new password is typed twice. */
		mtk_secret *a = NULL, *b = NULL;
		rc = mtk_pass_resolve(NULL, prompt, &io, &a, &flags, err);
		if (rc != MTK_OK)
			return rc;
		rc = mtk_pass_resolve(NULL, "Verifying - enter it again: ", &io, &b, &flags, err);
		if (rc != MTK_OK) {
			mtk_secret_free(a);
			return rc;
		}
		if (a->len != b->len || mtk_memcmp_ct(a->s, b->s, a->len) != 0) {
			mtk_secret_free(a);
			mtk_secret_free(b);
			return mtk_err_set(err, MTK_E_USAGE, "the two passwords differ");
		}
		mtk_secret_free(b);
		*out = a;
		return MTK_OK;
	}
	rc = mtk_pass_resolve(spec, prompt, &io, out, &flags, err);
	if (rc != MTK_OK)
		return rc;
	if (flags & MTK_PASS_VISIBLE)
		cli_warn(c, "%s pass:... is visible to other users in the process list; prefer env:VAR, file:PATH or fd:N",
			 flag);
	return MTK_OK;
}

json_t *cli_findings_json(const mtk_findings *fs)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < fs->count; i++) {
		const mtk_finding *f = &fs->items[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", mtk_finding_name(f->id), "severity",
				      mtk_severity_name(f->severity), "message", f->message);
		if (f->file)
			json_object_set_new(o, "file", json_string(f->file));
		if (f->line > 0)
			json_object_set_new(o, "line", json_integer(f->line));
		if (f->where)
			json_object_set_new(o, "where", json_string(f->where));
		json_object_set_new(o, "fix", f->fix ? json_string(f->fix) : json_null());
		json_object_set_new(o, "advice", f->advice ? json_string(f->advice) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

/* cli_printable, cut short rather than overflow. */
static const char *esc(const char *s, char *buf, size_t cap)
{
	return mtk_str_printable(s, strnlen(s, cap / 4 - 1), buf, cap);
}

void cli_print_findings(cli *c, FILE *fp)
{
	char e1[4 * 1024], e2[4 * 2048];
	const mtk_findings *fs = &c->findings;
	bool color = fp == stdout ? c->color : c->color_err;
	bool *done;

	if (fs->count == 0)
		return;
	done = calloc(fs->count, sizeof(*done));
	if (done == NULL)
		return;
	/* Group per file, in order of first appearance. */
	for (size_t i = 0; i < fs->count; i++) {
		const char *file = fs->items[i].file;

		if (done[i])
			continue;
		fprintf(fp, "%s%s%s\n", color ? "\033[1m" : "",
			file ? esc(file, e1, sizeof(e1)) : "(general)", color ? "\033[0m" : "");
		for (size_t j = i; j < fs->count; j++) {
			const mtk_finding *f = &fs->items[j];
			const char *sc;

			if (done[j])
				continue;
			if (!((file == NULL && f->file == NULL) ||
			      (file && f->file && strcmp(file, f->file) == 0)))
				continue;
			done[j] = true;
			sc = f->severity == MTK_SEV_ERROR ? "\033[31m"
			     : f->severity == MTK_SEV_WARNING ? "\033[33m"
							     : "\033[36m";
			fprintf(fp, "  %s%-7s%s %s", color ? sc : "", mtk_severity_name(f->severity),
				color ? "\033[0m" : "", mtk_finding_name(f->id));
			if (f->line > 0)
				fprintf(fp, " (line %ld)", f->line);
			/* Messages quote subjects, aliases and file names:
			 * untrusted, escaped on the terminal. */
			if (f->where)
				fprintf(fp, " [%s]", esc(f->where, e1, sizeof(e1)));
			fprintf(fp, ": %s\n", esc(f->message, e2, sizeof(e2)));
			if (f->fix)
				fprintf(fp, "          fix: %s\n", esc(f->fix, e2, sizeof(e2)));
			if (f->advice)
				fprintf(fp, "          advice: %s\n", esc(f->advice, e2, sizeof(e2)));
		}
	}
	free(done);
}

int cli_findings_exit(const cli *c)
{
	if (mtk_findings_count_at_least(&c->findings, MTK_SEV_ERROR) > 0)
		return MTK_EXIT_FINDINGS;
	for (size_t i = 0; c->within_given && i < c->findings.count; i++)
		if (c->findings.items[i].id == MTK_F_CERT_EXPIRING ||
		    c->findings.items[i].id == MTK_F_CERT_EXPIRED)
			return MTK_EXIT_FINDINGS;
	return MTK_EXIT_OK;
}

void cli_set(cli *c, const char *key, json_t *v)
{
	if (c->result == NULL)
		c->result = json_object();
	json_object_set_new(c->result, key, v);
}

const char *cli_fmt_time(time_t t, char *buf, size_t cap)
{
	return mtk_time_rfc3339((int64_t)t, buf, cap);
}

int cli_duration(cli *c, const char *flag, const char *arg, int64_t bare_unit_ms, int64_t min_ms,
		 int64_t max_ms, int64_t *ms)
{
	int64_t v = 0;

	if (mtk_duration_parse(arg, bare_unit_ms, &v) != MTK_OK || v < min_ms || v > max_ms)
		return cli_usage_error(c, NULL, "%s '%s' is not a duration in range (like 90s, 12h, 30d, 2w)",
				       flag, arg);
	*ms = v;
	return 0;
}

int cli_within_days(cli *c, const char *arg, long *days)
{
	int64_t ms = 0;
	int st = cli_duration(c, "--within", arg, MTK_MS_DAY, 1, 36500 * MTK_MS_DAY, &ms);

	if (st == 0) {
		*days = (long)((ms + MTK_MS_DAY - 1) / MTK_MS_DAY);
		c->within_given = true;
	}
	return st;
}

int cli_dispatch_sub(cli *c, const char *verb, const struct cli_verb *subs, int argc, char **argv)
{
	static char name[64];
	size_t i;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: mtlskit %s <sub-command> [<args>]\n\n", verb);
		for (i = 0; subs[i].name != NULL; i++)
			printf("  %-14s %s\n", subs[i].name, subs[i].summary);
		return -1;
	}
	for (i = 0; argc >= 2 && subs[i].name != NULL; i++) {
		if (strcmp(argv[1], subs[i].name) == 0) {
			snprintf(name, sizeof(name), "%s %s", verb, subs[i].name);
			c->verb = name;
			return subs[i].fn(c, argc - 1, argv + 1);
		}
	}
	if (argc < 2)
		return cli_usage_error(c, NULL, "a sub-command is needed");
	return cli_usage_error(c, NULL, "unknown sub-command '%s'", argv[1]);
}

mtk_rc cli_load_key(cli *c, const char *path, EVP_PKEY **out, mtk_err *err)
{
	mtk_secret *pass = NULL;
	mtk_err e1 = {0};
	mtk_rc rc;

	if (c->pass_spec != NULL) {
		if ((rc = cli_password(c, CLI_PASS_IN, "", false, &pass, err)) != MTK_OK)
			return rc;
		rc = mtk_key_load(path, pass, out, err);
		mtk_secret_free(pass);
		return rc;
	}
	rc = mtk_key_load(path, NULL, out, &e1);
	if (rc == MTK_E_PASSWORD_NEEDED && isatty(STDIN_FILENO)) {
		if ((rc = cli_password(c, CLI_PASS_IN, "Key password: ", true, &pass, err)) != MTK_OK)
			return rc;
		if (pass != NULL) {
			rc = mtk_key_load(path, pass, out, err);
			mtk_secret_free(pass);
			return rc;
		}
	}
	if (rc != MTK_OK)
		*err = e1;
	return rc;
}

const char *cli_printable(const char *s, char *buf, size_t cap)
{
	return mtk_str_printable(s, strlen(s), buf, cap);
}

json_t *cli_json_printable(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0, cap = 4 * n + 1;
	char small[512], *buf = cap <= sizeof(small) ? small : malloc(cap);
	json_t *j;

	if (buf == NULL)
		return NULL;
	j = json_string(mtk_str_printable(s != NULL ? s : "", n, buf, cap));
	if (buf != small)
		free(buf);
	return j;
}

void cli_net_begin(void)
{
	signal(SIGPIPE, SIG_IGN);
}

uint64_t cli_clock_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
