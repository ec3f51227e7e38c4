/*
 * cmd_track.c - `mtlskit track add|list|status|run|remove`: certificates
 * under management (docs/renewal.md).  The work is lib/renew's; this file
 * parses options, lists the directory and renders results.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mtlskit/buf.h"
#include "mtlskit/ca.h"
#include "mtlskit/file.h"
#include "mtlskit/renew.h"

extern char **environ;

static const char track_usage[] =
    "Usage: mtlskit track add NAME --target T --issuer I [--SETTING VALUE]... [--dir DIR]\n"
    "       mtlskit track list [--dir DIR]\n"
    "       mtlskit track status [--dir DIR] [--now TIME] [--json | --prometheus FILE]\n"
    "       mtlskit track run [NAME...] [--dir DIR] [--now TIME] [--force-renew] [--dry-run]\n"
    "       mtlskit track remove NAME [--dir DIR]\n"
    "\n"
    "Certificates that renew themselves (docs/renewal.md).  One NAME.conf per\n"
    "certificate in DIR (default /etc/mtlskit/track.d, or $MTLSKIT_TRACK_DIR).\n"
    "  add       writes NAME.conf: every --SETTING VALUE is a setting of the\n"
    "            file (--cert, --key, --ca-dir, --verify, --hook, ...), checked\n"
    "            before it is written\n"
    "  run       renews what is due: issue, check, stage, verify with the relying\n"
    "            party, install with a backup, hook, rollback on failure\n"
    "  --now TIME       the time to act at (RFC 3339 or YYYY-MM-DD), for tests\n"
    "  --dry-run        say what would be done, write nothing\n"
    "  --force-renew    renew even when not due\n"
    "  --prometheus FILE  write a node_exporter textfile (atomically)\n"
    "Exit status of run: 0 done, not due, pending or staged; 1 a certificate\n"
    "failed (rejected, check findings, hook rolled back); 2 configuration;\n"
    "3 unreadable managed file; 5 CA or relying party unreachable.\n";

struct topts {
	const char *dir;
	const char *prom;
	bool dry_run, force_renew;
	bool now_set;
};

#define usage_err(c, ...) cli_usage_error(c, track_usage, __VA_ARGS__)

/* Options shared by every sub-verb; returns 1 when argv[*i] was one (and
 * advances *i past its value), 0 when not, an exit status > 1 on error. */
static int common(cli *c, struct topts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	time_t t;

	if (strcmp(a, "--dir") == 0 || strcmp(a, "--now") == 0 ||
	    strcmp(a, "--prometheus") == 0) {
		if (*i + 1 >= argc)
			return usage_err(c, "%s needs a value", a);
		(*i)++;
		if (a[2] == 'd') {
			o->dir = argv[*i];
		} else if (a[2] == 'p') {
			o->prom = argv[*i];
		} else {
			if (mtk_time_parse(argv[*i], &t, NULL) != MTK_OK)
				return usage_err(c, "--now '%s': give RFC 3339 or YYYY-MM-DD",
						 argv[*i]);
			c->now = t;
			o->now_set = true;
		}
		return 1;
	}
	if (strcmp(a, "--json") == 0) {
		c->json = true;
		stdout = c->data; /* after a -q: the document is always printed */
		return 1;
	}
	if (strcmp(a, "--dry-run") == 0) {
		o->dry_run = true;
		return 1;
	}
	if (strcmp(a, "--force-renew") == 0) {
		o->force_renew = true;
		return 1;
	}
	if (strcmp(a, "--force") == 0) {
		c->force = true;
		return 1;
	}
	if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
		c->quiet = true;
		cli_quiet_apply(c);
		return 1;
	}
	if (strcmp(a, "--no-color") == 0) {
		c->color = c->color_err = false;
		return 1;
	}
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
		cli_print_usage(c, stdout, track_usage);
		return -1;
	}
	return 0;
}

static const char *track_dir(const struct topts *o)
{
	const char *d = o->dir ? o->dir : getenv("MTLSKIT_TRACK_DIR");

	return d && d[0] ? d : "/etc/mtlskit/track.d";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAMEs of DIR (files NAME.conf), sorted. */
static int list_names(cli *c, const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t k = 0;
	mtk_err err = {0};

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return cli_error(c,
				 mtk_err_set(&err, errno == ENOENT ? MTK_E_NOENT : MTK_E_PERM, "%s: %s",
					     dir, strerror(errno)),
				 &err);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char **nv;
		if (l <= 5 || strcmp(e->d_name + l - 5, ".conf") != 0)
			continue;
		if ((nv = realloc(v, (k + 1) * sizeof(*v))) == NULL ||
		    (nv[k] = strndup(e->d_name, l - 5)) == NULL) {
			v = nv ? nv : v;
			break;
		}
		v = nv;
		if (!mtk_track_name_valid(v[k])) {
			free(v[k]);
			continue;
		}
		k++;
	}
	closedir(d);
	if (k > 0)
		qsort(v, k, sizeof(*v), cmp_str);
	*out = v;
	*n = k;
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static json_t *time_json(time_t t)
{
	char s[32];
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(s);
}

static void time_text(time_t t, char *s, size_t cap)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(s, cap, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(s, cap, "-");
}

/* ---- add / remove ---- */

static int track_add(cli *c, int argc, char **argv)
{
	struct topts o = {0};
	mtk_buf b = MTK_BUF_INIT;
	mtk_track_conf conf;
	mtk_err err = {0};
	const char *name = NULL;
	char path[4096];
	int r;
	mtk_rc rc = MTK_OK;

	for (int i = 1; i < argc; i++) {
		if ((r = common(c, &o, argc, argv, &i)) != 0) {
			if (r != 1) {
				mtk_buf_free(&b);
				return r < 0 ? 0 : r;
			}
			continue;
		}
		if (strncmp(argv[i], "--", 2) == 0) {
			char key[64];
			size_t l = strlen(argv[i] + 2);
			if (i + 1 >= argc || l == 0 || l >= sizeof(key)) {
				mtk_buf_free(&b);
				return usage_err(c, "%s needs a value", argv[i]);
			}
			for (size_t k = 0; k <= l; k++)
				key[k] = argv[i][2 + k] == '-' ? '_' : argv[i][2 + k];
			if (strchr(argv[i + 1], '\n') != NULL) {
				mtk_buf_free(&b);
				return usage_err(c, "%s: a value is one line", argv[i]);
			}
			if (mtk_buf_printf(&b, "%s %s\n", key, argv[i + 1]) != MTK_OK) {
				mtk_buf_free(&b);
				return cli_error(c, MTK_E_NOMEM, NULL);
			}
			i++;
		} else if (name == NULL) {
			name = argv[i];
		} else {
			mtk_buf_free(&b);
			return usage_err(c, "unexpected operand '%s'", argv[i]);
		}
	}
	if (name == NULL) {
		mtk_buf_free(&b);
		return usage_err(c, "%s", "give the NAME of the certificate to track");
	}
	snprintf(path, sizeof(path), "%s/%s.conf", track_dir(&o), name);
	/* The same parser as every run: a file that would not load is not
	 * written. */
	if ((rc = mtk_track_conf_parse(&conf, name, path, b.data, b.len, &err)) == MTK_OK) {
		mtk_track_conf_free(&conf);
		rc = mtk_file_write(path, b.data, b.len,
				    MTK_WRITE_SECRET | (c->force ? MTK_WRITE_FORCE : 0), &err);
	}
	mtk_buf_free(&b);
	if (rc != MTK_OK)
		return cli_error(c, rc, &err);
	cli_set(c, "name", json_string(name));
	cli_set(c, "config", json_string(path));
	if (!c->json)
		printf("tracking %s (%s)\n", name, path);
	return 0;
}

static int track_remove(cli *c, int argc, char **argv)
{
	struct topts o = {0};
	const char *name = NULL;
	static const char *const ext[] = {"conf", "state", "staged-key.pem", "staged-cert.pem",
					  "journal", "lock"};
	char path[4096];
	mtk_err err = {0};
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = common(c, &o, argc, argv, &i)) != 0) {
			if (r != 1)
				return r < 0 ? 0 : r;
			continue;
		}
		if (name != NULL || argv[i][0] == '-')
			return usage_err(c, "unexpected '%s'", argv[i]);
		name = argv[i];
	}
	if (name == NULL || !mtk_track_name_valid(name))
		return usage_err(c, "%s", "give the NAME to stop tracking");
	snprintf(path, sizeof(path), "%s/%s.journal", track_dir(&o), name);
	if (access(path, F_OK) == 0)
		return cli_error(c,
				 mtk_err_set(&err, MTK_E_LOCKED,
					     "%s: an install was interrupted; run `mtlskit track run %s` first",
					     path, name),
				 &err);
	snprintf(path, sizeof(path), "%s/%s.conf", track_dir(&o), name);
	if (access(path, F_OK) != 0)
		return cli_error(c, mtk_err_set(&err, MTK_E_NOENT, "%s", path), &err);
	for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
		snprintf(path, sizeof(path), "%s/%s.%s", track_dir(&o), name, ext[k]);
		(void)unlink(path);
	}
	cli_set(c, "removed", json_string(name));
	if (!c->json)
		printf("no longer tracking %s (its certificate files are untouched)\n", name);
	return 0;
}

/* ---- list / status ---- */

struct row {
	char *name;
	mtk_track_conf conf;
	bool conf_ok;
	mtk_track_state st;
	time_t nb, na, due;
	char serial[80];
	char error[384];
};

static mtk_rc prom_line(mtk_buf *b, const char *metric, const struct row *rw, double v)
{
	/* names and targets are [A-Za-z0-9._-]: no label escaping needed */
	return mtk_buf_printf(b, "%s{name=\"%s\",target=\"%s\",issuer=\"%s\"} %.0f\n", metric,
			     rw->name, rw->conf_ok ? mtk_trk_target_name(rw->conf.target) : "unknown",
			     rw->conf_ok ? mtk_trk_issuer_name(rw->conf.issuer) : "unknown", v);
}

static int track_status(cli *c, int argc, char **argv, bool list_only)
{
	struct topts o = {0};
	char **names = NULL;
	size_t n = 0;
	struct row *rows = NULL;
	json_t *arr = NULL;
	mtk_track_env env = {0};
	mtk_pass_io pio = c->pass_io;
	int r, worst = 0;

	for (int i = 1; i < argc; i++) {
		if ((r = common(c, &o, argc, argv, &i)) != 0) {
			if (r != 1)
				return r < 0 ? 0 : r;
			continue;
		}
		return usage_err(c, "unexpected '%s'", argv[i]);
	}
	if ((r = list_names(c, track_dir(&o), &names, &n)) != 0)
		return r;
	env.now = c->now;
	env.pass_io = &pio;
	rows = calloc(n ? n : 1, sizeof(*rows));
	arr = json_array();
	if (rows == NULL || arr == NULL) {
		free_names(names, n);
		free(rows);
		json_decref(arr);
		return cli_error(c, MTK_E_NOMEM, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		struct row *rw = &rows[i];
		mtk_err err = {0};
		json_t *j = json_object();

		rw->name = names[i];
		rw->conf_ok = mtk_track_conf_load(track_dir(&o), names[i], &rw->conf, &err) == MTK_OK;
		if (!rw->conf_ok)
			snprintf(rw->error, sizeof(rw->error), "%s", err.detail);
		if (mtk_track_state_load(track_dir(&o), names[i], &rw->st, &err) != MTK_OK &&
		    rw->error[0] == '\0')
			snprintf(rw->error, sizeof(rw->error), "%s", err.detail);
		if (rw->conf_ok && !list_only) {
			mtk_err_clear(&err);
			if (mtk_track_installed(&rw->conf, &env, &rw->nb, &rw->na, rw->serial,
						sizeof(rw->serial), &err) == MTK_OK)
				rw->due = mtk_track_due(&rw->conf, rw->nb, rw->na);
			else
				snprintf(rw->error, sizeof(rw->error), "%s", err.detail);
		}
		if (rw->error[0] == '\0' && rw->st.last_error[0] != '\0')
			snprintf(rw->error, sizeof(rw->error), "%s", rw->st.last_error);
		if (rw->error[0] != '\0')
			worst = MTK_EXIT_FINDINGS;
		json_object_set_new(j, "name", json_string(rw->name));
		json_object_set_new(j, "target",
				    json_string(rw->conf_ok ? mtk_trk_target_name(rw->conf.target) : "unknown"));
		json_object_set_new(j, "issuer",
				    json_string(rw->conf_ok ? mtk_trk_issuer_name(rw->conf.issuer) : "unknown"));
		if (!list_only) {
			json_object_set_new(j, "serial", rw->serial[0] ? json_string(rw->serial) : json_null());
			json_object_set_new(j, "not_after", time_json(rw->na));
			json_object_set_new(j, "next_renewal", time_json(rw->due));
			json_object_set_new(j, "last_attempt", time_json(rw->st.last_attempt));
			json_object_set_new(j, "last_success", time_json(rw->st.last_success));
			json_object_set_new(j, "staged", json_boolean(rw->st.staged));
			json_object_set_new(j, "pending", json_boolean(rw->st.pending));
			json_object_set_new(j, "last_error",
					    rw->error[0] ? cli_json_printable(rw->error) : json_null());
		}
		json_array_append_new(arr, j);
	}
	cli_set(c, "certificates", arr);
	if (o.prom != NULL) {
		mtk_buf b = MTK_BUF_INIT;
		mtk_err err = {0};
		mtk_rc rc = MTK_OK;
		static const char *const help[][2] = {
		    {"mtlskit_track_not_after_seconds", "notAfter of the installed certificate"},
		    {"mtlskit_track_next_renewal_seconds", "when the next renewal is due"},
		    {"mtlskit_track_last_attempt_seconds", "the last run that tried to renew"},
		    {"mtlskit_track_last_success_seconds", "the last successful renewal"},
		    {"mtlskit_track_last_error", "1 when the last run of this certificate failed"},
		};
		for (size_t m = 0; m < 5; m++) {
			if (rc == MTK_OK)
				rc = mtk_buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n", help[m][0],
						    help[m][1], help[m][0]);
			for (size_t i = 0; i < n; i++) {
				const struct row *rw = &rows[i];
				double v[5] = {(double)rw->na, (double)rw->due,
					       (double)rw->st.last_attempt,
					       (double)rw->st.last_success,
					       rw->error[0] ? 1.0 : 0.0};
				/* an unknown time is left out, not reported as 1970 */
				if (m < 4 && v[m] == 0)
					continue;
				if (rc == MTK_OK)
					rc = prom_line(&b, help[m][0], rw, v[m]);
			}
		}
		if (rc == MTK_OK)
			rc = mtk_file_write(o.prom, b.data, b.len, MTK_WRITE_FORCE, &err);
		mtk_buf_free(&b);
		if (rc != MTK_OK) {
			worst = cli_error(c, rc, &err);
			goto out;
		}
	}
	if (!c->json) {
		char a[24], d[24], la[24], ls[24];
		if (list_only)
			printf("%-24s %-9s %s\n", "NAME", "TARGET", "ISSUER");
		else
			printf("%-20s %-8s %-7s %-16s %-16s %-16s %-16s %s\n", "NAME", "TARGET",
			       "ISSUER", "NOT AFTER", "NEXT RENEWAL", "LAST ATTEMPT", "LAST SUCCESS",
			       "STATE");
		for (size_t i = 0; i < n; i++) {
			const struct row *rw = &rows[i];
			const char *tg = rw->conf_ok ? mtk_trk_target_name(rw->conf.target) : "?";
			const char *is = rw->conf_ok ? mtk_trk_issuer_name(rw->conf.issuer) : "?";
			if (list_only) {
				printf("%-24s %-9s %s\n", rw->name, tg, is);
				continue;
			}
			time_text(rw->na, a, sizeof(a));
			time_text(rw->due, d, sizeof(d));
			time_text(rw->st.last_attempt, la, sizeof(la));
			time_text(rw->st.last_success, ls, sizeof(ls));
			printf("%-20s %-8s %-7s %-16s %-16s %-16s %-16s %s\n", rw->name, tg, is, a, d,
			       la, ls,
			       rw->error[0]  ? "error"
			       : rw->st.staged ? "staged"
			       : rw->st.pending ? "pending"
			       : c->now >= rw->due ? "due"
						    : "ok");
			if (rw->error[0]) {
				json_t *e = cli_json_printable(rw->error);
				printf("  last error: %s\n", e ? json_string_value(e) : "");
				json_decref(e);
			}
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		if (rows[i].conf_ok)
			mtk_track_conf_free(&rows[i].conf);
	free(rows);
	free_names(names, n);
	return list_only ? 0 : worst;
}

/* ---- run ---- */

static int track_run(cli *c, int argc, char **argv)
{
	struct topts o = {0};
	char **names = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	mtk_track_env env = {0};
	mtk_pass_io pio = c->pass_io;
	int r, worst = 0;
	bool given = false;

	if (arr == NULL)
		return cli_error(c, MTK_E_NOMEM, NULL);
	for (int i = 1; i < argc; i++) {
		if ((r = common(c, &o, argc, argv, &i)) != 0) {
			if (r != 1) {
				json_decref(arr);
				free_names(names, n);
				return r < 0 ? 0 : r;
			}
			continue;
		}
		char **nv;
		if (argv[i][0] == '-' || !mtk_track_name_valid(argv[i])) {
			json_decref(arr);
			free_names(names, n);
			return usage_err(c, "unexpected '%s'", argv[i]);
		}
		if ((nv = realloc(names, (n + 1) * sizeof(*nv))) == NULL ||
		    (nv[n] = strdup(argv[i])) == NULL) {
			free_names(nv ? nv : names, n);
			json_decref(arr);
			return cli_error(c, MTK_E_NOMEM, NULL);
		}
		names = nv;
		n++;
		given = true;
	}
	if (!given && (r = list_names(c, track_dir(&o), &names, &n)) != 0) {
		json_decref(arr);
		return r;
	}
	cli_net_begin(); /* the CA (ACME), the relying party */
	env.now = c->now;
	env.clock_ms = cli_clock_ms;
	env.pass_io = &pio;
	env.envp = environ;
	env.dry_run = o.dry_run;
	env.force = o.force_renew;
	for (size_t i = 0; i < n; i++) {
		mtk_track_result res;
		mtk_err err = {0};
		mtk_rc rc = mtk_track_run(track_dir(&o), names[i], &env, &res, &err);
		json_t *j = json_object();
		int ex = rc == MTK_OK ? 0 : mtk_rc_exit(rc);

		if (ex > worst)
			worst = ex;
		json_object_set_new(j, "name", json_string(names[i]));
		json_object_set_new(j, "outcome", json_string(mtk_track_outcome_name(res.outcome)));
		json_object_set_new(j, "message", cli_json_printable(res.message));
		json_object_set_new(j, "serial", res.serial[0] ? json_string(res.serial) : json_null());
		json_object_set_new(j, "new_serial",
				    res.new_serial[0] ? json_string(res.new_serial) : json_null());
		json_object_set_new(j, "not_after", time_json(res.not_after));
		json_object_set_new(j, "due", time_json(res.due));
		json_object_set_new(j, "expired", json_boolean(res.expired));
		json_object_set_new(j, "rolled_back", json_boolean(res.rolled_back));
		json_object_set_new(j, "findings", cli_findings_json(&res.findings));
		json_object_set_new(j, "exit", json_integer(ex));
		json_array_append_new(arr, j);
		if (!c->json) {
			json_t *m = cli_json_printable(res.message);
			FILE *fp = rc == MTK_OK ? stdout : stderr;
			fprintf(fp, "%s: %s: %s\n", names[i], mtk_track_outcome_name(res.outcome),
				m ? json_string_value(m) : "");
			json_decref(m);
			if (res.expired && res.outcome != MTK_TRK_NOT_DUE)
				fprintf(stderr,
					"%s: warning: the installed certificate had already expired\n",
					names[i]);
			if (res.rolled_back)
				fprintf(stderr, "%s: the previous files were restored from backup\n",
					names[i]);
		}
		mtk_track_result_free(&res);
	}
	cli_set(c, "certificates", arr);
	free_names(names, n);
	return worst;
}

int cmd_track(cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2)
			return usage_err(c, "%s", "give a sub-command: add, list, status, run, remove");
		fputs(track_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "add") == 0) {
		c->verb = "track add";
		return track_add(c, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		c->verb = "track list";
		return track_status(c, argc - 1, argv + 1, true);
	}
	if (strcmp(argv[1], "status") == 0) {
		c->verb = "track status";
		return track_status(c, argc - 1, argv + 1, false);
	}
	if (strcmp(argv[1], "run") == 0) {
		c->verb = "track run";
		return track_run(c, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "remove") == 0) {
		c->verb = "track remove";
		return track_remove(c, argc - 1, argv + 1);
	}
	return usage_err(c, "unknown sub-command '%s'", argv[1]);
}
