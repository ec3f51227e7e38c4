/*
 * cmd_expiry.c - `mtlskit expiry PATH|HOST:PORT...`: every certificate in
 * files, directories, PFX/keystores and TLS endpoints, soonest expiry first.
 *
 * Exit status: 0; 1 with --within when any certificate has expired or
 * expires within the window; 3 when a named path does not exist, or when
 * no certificate was found and something could not be read (then the first
 * error's status: 4 for a password, 5 for an endpoint); 2 for usage.  Per-file problems are listed
 * and the scan goes on.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mtlskit/expiry.h"
#include "mtlskit/file.h"
#include "mtlskit/gateway.h"

static const char usage[] =
    "Usage: mtlskit expiry [options] PATH|HOST:PORT...\n"
    "\n"
    "Every certificate in files and directories (PEM bundles, DER, PKCS#7, PFX,\n"
    "JKS, JCEKS) and TLS endpoints, soonest expiry first.\n"
    "\n"
    "  --within DUR        mark certificates expiring within DUR (30d, 12h, 2w);\n"
    "                      exit 1 when any has expired or is expiring\n"
    "  --by-issuer         group by issuing CA: its own expiry and its dependents\n"
    "  --prometheus        Prometheus textfile-collector format (to stdout or -o)\n"
    "  -o FILE             write the --prometheus output to FILE atomically\n"
    "                      (--force to replace an existing file)\n"
    "  --follow-symlinks   descend into symlinked directories (loops detected);\n"
    "                      symlinked files are always read\n"
    "  --threads N         worker threads (default: 2)\n"
    "  --timeout T         endpoints: limit for connecting, and again for the TLS\n"
    "                      handshake, each in total (default 5s; T: 5, 5s, 500ms)\n"
    "  --pass SPEC         password for PFX and keystores (agent_keystore.jks:\n"
    "                      'changeit' is tried when no --pass is given)\n"
    "  --json              one JSON document: certificates, errors, summary\n"
    "\n"
    "Endpoints: HOST:PORT, [IPv6]:PORT, tls://HOST[:PORT] (port 443 by default).\n"
    "An operand that exists as a file or directory is always read as one.\n"
    "Exit: 0 ok; 1 expired/expiring with --within; 2 usage; 3 a named path is\n"
    "missing, or no certificate was found and something could not be read (4 for\n"
    "a wrong password, 5 for a network failure, when that was the reason).\n";

enum {
	OPT_WITHIN = CLI_OPT__VERB_BASE,
	OPT_BY_ISSUER,
	OPT_PROMETHEUS,
	OPT_FOLLOW,
	OPT_THREADS,
	OPT_TIMEOUT,
};

struct opts {
	int64_t within;
	bool have_within;
	bool by_issuer;
	bool prometheus;
	bool follow;
	int threads;
	long timeout_ms;
};

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;
	char *end = NULL;
	long v;

	switch (opt) {
	case OPT_WITHIN:
		if (mtk_expiry_parse_duration(arg, &o->within) != MTK_OK)
			return cli_usage_error(
			    c, usage, "--within '%s': give a duration like 30d, 12h or 2w", arg);
		o->have_within = true;
		return 0;
	case OPT_BY_ISSUER:
		o->by_issuer = true;
		return 0;
	case OPT_PROMETHEUS:
		o->prometheus = true;
		return 0;
	case OPT_FOLLOW:
		o->follow = true;
		return 0;
	case OPT_THREADS:
		v = strtol(arg, &end, 10);
		if (end == arg || *end != '\0' || v < 1 || v > 64)
			return cli_usage_error(c, usage, "--threads '%s': give 1 to 64", arg);
		o->threads = (int)v;
		return 0;
	case OPT_TIMEOUT:
		/* The same durations as probe --timeout (gateway.h's parser). */
		if (mtk_parse_duration_ms(arg, &v) != MTK_OK || v < 1 || v > 600000)
			return cli_usage_error(
			    c, usage, "--timeout '%s': give a duration from 1ms to 600s (5, 5s, 500ms)",
			    arg);
		o->timeout_ms = v;
		return 0;
	default:
		return cli_usage_error(c, usage, "unexpected option");
	}
}

/* Progress on a terminal: after a second, refreshed five times a second. */
struct prog {
	pthread_mutex_t mu;
	struct timespec start, last;
	bool shown;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_progress(void *ctx, uint64_t files, uint64_t certs)
{
	struct prog *p = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pthread_mutex_trylock(&p->mu) != 0)
		return;
	if (since(&p->start, &now) >= 1.0 && since(&p->last, &now) >= 0.2) {
		fprintf(stderr, "\rmtlskit expiry: %llu files, %llu certificates...",
			(unsigned long long)files, (unsigned long long)certs);
		fflush(stderr);
		p->last = now;
		p->shown = true;
	}
	pthread_mutex_unlock(&p->mu);
}

static const char *iso(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)t);
	return buf;
}

static const char *status(const mtk_expiry_cert *ce, const struct opts *o, int64_t now)
{
	if (ce->not_after <= now)
		return "expired";
	if (o->have_within && ce->not_after <= now + o->within)
		return "expiring";
	if (ce->not_before > now)
		return "not-yet-valid";
	return "valid";
}

static void where(const mtk_expiry_cert *ce, char *buf, size_t cap)
{
	if (ce->src == MTK_EXP_SRC_ENDPOINT)
		snprintf(buf, cap, "%s (chain #%d)", ce->path, ce->index);
	else if (ce->alias != NULL)
		snprintf(buf, cap, "%s alias \"%s\"", ce->path, ce->alias);
	else if (ce->line > 0)
		snprintf(buf, cap, "%s:%ld", ce->path, ce->line);
	else if (ce->index > 0)
		snprintf(buf, cap, "%s #%d", ce->path, ce->index + 1);
	else
		snprintf(buf, cap, "%s", ce->path);
}

static json_t *cert_json(const mtk_expiry_cert *ce, const struct opts *o, int64_t now)
{
	char nb[40], na[40];
	json_t *j = json_object();

	json_object_set_new(j, "days_left", json_integer(mtk_expiry_days_left(ce->not_after, now)));
	json_object_set_new(j, "status", json_string(status(ce, o, now)));
	json_object_set_new(j, "not_after", json_string(iso(ce->not_after, na, sizeof(na))));
	json_object_set_new(j, "not_after_epoch", json_integer(ce->not_after));
	json_object_set_new(j, "not_before", json_string(iso(ce->not_before, nb, sizeof(nb))));
	json_object_set_new(j, "subject", json_string(ce->subject));
	json_object_set_new(j, "issuer", json_string(ce->issuer));
	json_object_set_new(j, "serial", json_string(ce->serial));
	if (ce->src == MTK_EXP_SRC_ENDPOINT) {
		json_object_set_new(j, "endpoint", json_string(ce->path));
		json_object_set_new(j, "depth", json_integer(ce->index));
	} else {
		json_object_set_new(j, "path", json_string(ce->path));
		if (ce->line > 0)
			json_object_set_new(j, "line", json_integer(ce->line));
		json_object_set_new(j, "index", json_integer(ce->index));
	}
	if (ce->alias != NULL)
		json_object_set_new(j, "alias", json_string(ce->alias));
	json_object_set_new(j, "source", json_string(mtk_expiry_src_name(ce->src)));
	json_object_set_new(j, "self_issued", json_boolean(ce->self_issued));
	return j;
}

static void print_cert(const mtk_expiry_cert *ce, const struct opts *o, int64_t now,
		       const char *indent, bool color)
{
	char na[40], w[4600], we[4 * sizeof(w)];
	const char *st = status(ce, o, now);
	const char *col = strcmp(st, "expired") == 0	? "\033[31m"
			  : strcmp(st, "expiring") == 0 ? "\033[33m"
							: "";
	struct tm tm;
	time_t tt = (time_t)ce->not_after;

	if (gmtime_r(&tt, &tm) == NULL || strftime(na, sizeof(na), "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(na, sizeof(na), "%lld", (long long)ce->not_after);
	where(ce, w, sizeof(w));
	printf("%s%6lld  %-16s  %s%-13s%s  %s\n", indent,
	       (long long)mtk_expiry_days_left(ce->not_after, now), na, color && *col ? col : "",
	       st, color && *col ? "\033[0m" : "", ce->subject);
	/* The path is a file name someone chose: escaped (subjects and
	 * issuers already are, by the scan). */
	printf("%s%41s%s, issuer %s, serial %s\n", indent, "", cli_printable(w, we, sizeof(we)),
	       ce->issuer, ce->serial);
}

/* --by-issuer: groups of certificates sharing an issuer name. */
struct group {
	const char *issuer;
	size_t first, n;      /* run in by_issuer[] */
	int64_t ca_not_after; /* soonest CA certificate, INT64_MAX if none */
};

static int cmp_issuer(const void *a, const void *b)
{
	const mtk_expiry_cert *x = *(const mtk_expiry_cert *const *)a;
	const mtk_expiry_cert *y = *(const mtk_expiry_cert *const *)b;
	int c = strcmp(x->issuer, y->issuer);

	if (c != 0)
		return c;
	return (x->not_after > y->not_after) - (x->not_after < y->not_after);
}

static int cmp_subject(const void *a, const void *b)
{
	const mtk_expiry_cert *x = *(const mtk_expiry_cert *const *)a;
	const mtk_expiry_cert *y = *(const mtk_expiry_cert *const *)b;
	int c = strcmp(x->subject, y->subject);

	if (c != 0)
		return c;
	return (x->not_after > y->not_after) - (x->not_after < y->not_after);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->ca_not_after != y->ca_not_after)
		return x->ca_not_after < y->ca_not_after ? -1 : 1;
	return strcmp(x->issuer, y->issuer);
}

/* The run of certificates whose subject is name, in by_subject[]. */
static void find_subject(const mtk_expiry_cert **by_subject, size_t n, const char *name,
			 size_t *first, size_t *count)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(by_subject[mid]->subject, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < n && strcmp(by_subject[lo]->subject, name) == 0)
		lo++;
	*count = lo - *first;
}

static int by_issuer_view(cli *c, const mtk_expiry *x, const struct opts *o, int64_t now)
{
	size_t n = mtk_expiry_count(x), ng = 0;
	const mtk_expiry_cert **bi = calloc(n ? n : 1, sizeof(*bi));
	const mtk_expiry_cert **bs = calloc(n ? n : 1, sizeof(*bs));
	struct group *g = calloc(n ? n : 1, sizeof(*g));
	json_t *arr = c->json ? json_array() : NULL;

	if (bi == NULL || bs == NULL || g == NULL) {
		free(bi);
		free(bs);
		free(g);
		json_decref(arr);
		return cli_error(c, MTK_E_NOMEM, NULL);
	}
	for (size_t i = 0; i < n; i++)
		bi[i] = bs[i] = mtk_expiry_get(x, i);
	qsort(bi, n, sizeof(*bi), cmp_issuer);
	qsort(bs, n, sizeof(*bs), cmp_subject);
	for (size_t i = 0; i < n;) {
		size_t j = i, f, k;

		while (j < n && strcmp(bi[j]->issuer, bi[i]->issuer) == 0)
			j++;
		g[ng].issuer = bi[i]->issuer;
		g[ng].first = i;
		g[ng].n = j - i;
		find_subject(bs, n, bi[i]->issuer, &f, &k);
		g[ng].ca_not_after = k > 0 ? bs[f]->not_after : INT64_MAX;
		ng++;
		i = j;
	}
	qsort(g, ng, sizeof(*g), cmp_group);
	for (size_t gi = 0; gi < ng; gi++) {
		size_t f, k, deps = 0;
		json_t *jg = NULL, *jca = NULL, *jdep = NULL;

		find_subject(bs, n, g[gi].issuer, &f, &k);
		for (size_t i = g[gi].first; i < g[gi].first + g[gi].n; i++)
			deps += !bi[i]->self_issued;
		if (arr != NULL) {
			jg = json_object();
			jca = json_array();
			jdep = json_array();
			json_object_set_new(jg, "issuer", json_string(g[gi].issuer));
			json_object_set_new(jg, "ca_found", json_boolean(k > 0));
			if (k > 0)
				json_object_set_new(
				    jg, "ca_days_left",
				    json_integer(mtk_expiry_days_left(bs[f]->not_after, now)));
		} else {
			printf("%sIssuer %s%s\n", gi ? "\n" : "", g[gi].issuer, "");
			if (k == 0)
				printf("  CA certificate: not found in the scan\n");
		}
		for (size_t i = f; i < f + k; i++) {
			if (jca != NULL)
				json_array_append_new(jca, cert_json(bs[i], o, now));
			else {
				printf("  CA certificate:\n");
				print_cert(bs[i], o, now, "  ", c->color);
			}
		}
		if (arr == NULL)
			printf("  %zu certificate%s depend%s on it%s\n", deps, deps == 1 ? "" : "s",
			       deps == 1 ? "s" : "", deps ? ":" : "");
		for (size_t i = g[gi].first; i < g[gi].first + g[gi].n; i++) {
			if (bi[i]->self_issued)
				continue;
			if (jdep != NULL)
				json_array_append_new(jdep, cert_json(bi[i], o, now));
			else
				print_cert(bi[i], o, now, "    ", c->color);
		}
		if (jg != NULL) {
			json_object_set_new(jg, "ca_certificates", jca);
			json_object_set_new(jg, "dependents", jdep);
			json_array_append_new(arr, jg);
		}
	}
	if (arr != NULL)
		cli_set(c, "issuers", arr);
	free(bi);
	free(bs);
	free(g);
	return 0;
}

int cmd_expiry(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"within", required_argument, NULL, OPT_WITHIN},
	    {"by-issuer", no_argument, NULL, OPT_BY_ISSUER},
	    {"prometheus", no_argument, NULL, OPT_PROMETHEUS},
	    {"follow-symlinks", no_argument, NULL, OPT_FOLLOW},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    CLI_COMMON_LONGOPTS,
	};
	struct opts o = {0};
	mtk_expiry_opts eo = {0};
	mtk_expiry_stats st;
	mtk_expiry *x = NULL;
	mtk_secret *pass = NULL;
	struct prog prog;
	bool missing = false;
	int first = 0, r, ret = 0;
	int64_t now = (int64_t)c->now;
	size_t n, expired = 0, expiring = 0;
	mtk_err err = {0};
	mtk_rc rc;

	r = cli_parse(c, argc, argv, "", longopts, on_opt, &o, usage, &first);
	if (r != 0)
		return r;
	if (first >= argc)
		return cli_usage_error(c, usage, "give at least one PATH or HOST:PORT");
	if (o.prometheus && c->json)
		return cli_usage_error(
		    c, usage, "--prometheus and --json are two different outputs; pick one");
	if (c->out != NULL && !o.prometheus)
		return cli_usage_error(c, usage, "-o is for --prometheus output");
	if (o.prometheus && o.by_issuer)
		return cli_usage_error(c, usage,
				       "--by-issuer is a text or JSON view, not --prometheus");
	rc = cli_password(c, CLI_PASS_IN, "PFX/keystore password: ", false, &pass, &err);
	if (rc != MTK_OK)
		return cli_error(c, rc, &err);

	memset(&prog, 0, sizeof(prog));
	pthread_mutex_init(&prog.mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	eo.follow_symlinks = o.follow;
	eo.threads = o.threads;
	eo.pass = pass;
	eo.connect_timeout_ms = eo.handshake_timeout_ms = (int)(o.timeout_ms ? o.timeout_ms : 5000);
	eo.clock_ms = cli_clock_ms;
	if (isatty(STDERR_FILENO)) {
		eo.progress = on_progress;
		eo.progress_ctx = &prog;
	}

	x = mtk_expiry_new();
	if (x == NULL) {
		ret = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		char host[256], port[8];
		struct stat sb;

		mtk_err_clear(&err);
		if (lstat(a, &sb) != 0 &&
		    mtk_expiry_parse_endpoint(a, host, sizeof(host), port, sizeof(port))) {
			/* A failure is recorded in x and listed with the others. */
			rc = mtk_expiry_scan_endpoint(x, host, port, &eo, &err);
			if (rc == MTK_E_NOMEM) {
				ret = cli_error(c, rc, &err);
				goto out;
			}
			continue;
		}
		rc = mtk_expiry_scan_path(x, a, &eo, &err);
		if (rc == MTK_E_NOMEM) {
			ret = cli_error(c, rc, &err);
			goto out;
		}
		if (rc != MTK_OK)
			missing = true; /* a named operand that cannot be reached */
	}
	if (prog.shown)
		fprintf(stderr, "\r\033[K");
	if ((rc = mtk_expiry_finish(x)) != MTK_OK) {
		ret = cli_error(c, rc, NULL);
		goto out;
	}
	mtk_expiry_get_stats(x, &st);
	n = mtk_expiry_count(x);
	for (size_t i = 0; i < n; i++) {
		const mtk_expiry_cert *ce = mtk_expiry_get(x, i);
		if (ce->not_after <= now)
			expired++;
		else if (o.have_within && ce->not_after <= now + o.within)
			expiring++;
	}

	if (o.prometheus) {
		mtk_buf b = MTK_BUF_INIT;

		rc = mtk_expiry_prometheus(x, now, o.have_within ? o.within : 30 * 86400, &b);
		if (rc == MTK_OK && c->out != NULL && strcmp(c->out, "-") != 0)
			rc = mtk_file_write(c->out, b.data, b.len, c->force ? MTK_WRITE_FORCE : 0,
					    &err);
		else if (rc == MTK_OK && b.len > 0 && fwrite(b.data, 1, b.len, stdout) != b.len)
			rc = MTK_E_WRITE;
		mtk_buf_free(&b);
		if (rc != MTK_OK) {
			ret = cli_error(c, rc, &err);
			goto out;
		}
	} else if (c->json) {
		json_t *certs = json_array(), *errs = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(certs, cert_json(mtk_expiry_get(x, i), &o, now));
		cli_set(c, "certificates", certs);
		for (size_t i = 0; i < mtk_expiry_error_count(x); i++) {
			const mtk_expiry_error *e = mtk_expiry_error_get(x, i);
			json_t *je = json_pack("{s:s, s:s, s:s, s:i}", "path", e->path, "code",
					       mtk_rc_name(e->code), "message", e->detail, "exit",
					       mtk_rc_exit(e->code));
			if (e->line > 0)
				json_object_set_new(je, "line", json_integer(e->line));
			json_array_append_new(errs, je);
		}
		cli_set(c, "errors", errs);
	} else if (!o.by_issuer) {
		if (n > 0)
			printf("%6s  %-16s  %-13s  %s\n", "DAYS", "NOT AFTER (UTC)", "STATUS",
			       "SUBJECT / WHERE, ISSUER, SERIAL");
		for (size_t i = 0; i < n; i++)
			print_cert(mtk_expiry_get(x, i), &o, now, "", c->color);
	}
	if (o.by_issuer)
		(void)by_issuer_view(c, x, &o, now);
	if (!c->json && !o.prometheus) {
		char wbuf[32] = "";

		if (o.have_within)
			snprintf(wbuf, sizeof(wbuf), ", %zu expiring", expiring);
		printf("%s%zu certificate%s in %llu file%s%s%s (%zu expired%s), %llu error%s\n",
		       n ? "\n" : "", n, n == 1 ? "" : "s", (unsigned long long)st.cert_files,
		       st.cert_files == 1 ? "" : "s", st.endpoints ? " and endpoints" : "", "",
		       expired, wbuf, (unsigned long long)mtk_expiry_error_count(x),
		       mtk_expiry_error_count(x) == 1 ? "" : "s");
	}
	if (!c->json) {
		for (size_t i = 0; i < mtk_expiry_error_count(x); i++) {
			const mtk_expiry_error *e = mtk_expiry_error_get(x, i);
			char p[4 * 1024], d[4 * 512];

			/* File names and endpoint answers are not ours: escaped. */
			cli_printable(e->path, p, sizeof(p));
			cli_printable(e->detail, d, sizeof(d));
			if (e->line > 0)
				fprintf(stderr, "mtlskit expiry: %s:%ld: %s [%s]\n", p, e->line, d,
					mtk_rc_name(e->code));
			else
				fprintf(stderr, "mtlskit expiry: %s: %s [%s]\n", p, d,
					mtk_rc_name(e->code));
		}
	}
	{
		char win[32];
		json_t *sum;

		snprintf(win, sizeof(win), "%lld", (long long)(o.have_within ? o.within : 0));
		sum = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "certificates",
				(json_int_t)n, "files", (json_int_t)st.files, "certificate_files",
				(json_int_t)st.cert_files, "skipped_files",
				(json_int_t)st.skipped_files, "endpoints", (json_int_t)st.endpoints,
				"errors", (json_int_t)mtk_expiry_error_count(x), "expired",
				(json_int_t)expired, "expiring", (json_int_t)expiring);
		if (o.have_within)
			json_object_set_new(sum, "within_seconds", json_integer(o.within));
		json_object_set_new(sum, "decoded_by_openssl",
				    json_integer((json_int_t)st.slow_path));
		if (c->json)
			cli_set(c, "summary", sum);
		else
			json_decref(sum);
	}

	if (missing) {
		ret = MTK_EXIT_INPUT;
	} else if (n == 0 && mtk_expiry_error_count(x) > 0) {
		/* No certificate found, and something could not be read: the
		 * first error says why (3 input, 4 password, 5 network). */
		ret = mtk_rc_exit(mtk_expiry_error_get(x, 0)->code);
	} else if (o.have_within && (expired + expiring) > 0) {
		ret = MTK_EXIT_FINDINGS;
	}
out:
	pthread_mutex_destroy(&prog.mu);
	mtk_secret_free(pass);
	mtk_expiry_free(x);
	return ret;
}
