/*
 * main.c - mtlskit-gateway: startup, worker threads, signals.
 *
 * Startup order matters: read every file and bind every socket first (as
 * root if need be), then announce readiness, then drop privileges, then
 * start the workers.  One worker per CPU, each with its own event base and
 * its own SO_REUSEPORT listener, so the kernel spreads connections and no
 * lock is taken on the hot path (the current state is fetched once per
 * connection under a short mutex).
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include "gw.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/thread.h>

#include "mtlskit/file.h"
#include "mtlskit/thread.h"
#include "version.h"

gw_global gw;

static const char *config_path;
static char **flag_kv; /* key, value, key, value ... from the command line */
static size_t n_flag_kv;
static gw_worker *workers;
static size_t n_workers;
static struct event_base *main_base;
static struct event *drain_timer, *check_timer;
static long generation = 1;

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: mtlskit-gateway --config FILE [--SETTING VALUE ...]\n"
		"       mtlskit-gateway --check --config FILE   (validate and exit)\n"
		"\n"
		"Terminates mutual TLS, maps client certificates to users and forwards\n"
		"the identity to HTTP backends (X-Client-* headers) or TCP backends\n"
		"(PROXY protocol v2).  Every setting of the configuration file is also a\n"
		"flag: --listen 127.0.0.1:8443 --cert server.pem --key server.key\n"
		"--ca clients-ca.pem --usermap users.map --backend 127.0.0.1:8080 ...\n"
		"Flags are applied after the file; list settings (cert, key, ca, crl,\n"
		"backend) append.  --ready-file PATH is written once listening.\n"
		"Signals: SIGHUP reloads certificates, CAs, CRLs and the user map;\n"
		"SIGTERM drains and exits.  See docs/gateway.md.\n");
}

/* Builds the configuration from the file and the flags. */
static mtk_rc load_config(mtk_gwconfig *cfg, mtk_err *err)
{
	mtk_buf b = MTK_BUF_INIT;
	mtk_rc rc;

	mtk_gwconfig_init(cfg);
	if (config_path != NULL) {
		if ((rc = mtk_file_read(config_path, 1 << 20, &b, err)) != MTK_OK)
			return rc;
		rc = mtk_gwconfig_parse(cfg, config_path, b.data, b.len, err);
		mtk_buf_free(&b);
		if (rc != MTK_OK)
			return rc;
	}
	for (size_t i = 0; i + 1 < n_flag_kv; i += 2) {
		mtk_err e = {0};
		if ((rc = mtk_gwconfig_set(cfg, flag_kv[i], flag_kv[i + 1], &e)) != MTK_OK)
			return mtk_err_set(err, rc, "--%s", e.detail);
	}
	return mtk_gwconfig_check(cfg, err);
}

static void tv_ms(struct timeval *tv, long ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static int bind_socket(const char *addr, int port_override, int *port_out, mtk_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (mtk_parse_sockaddr(addr, &ss, &sl, err) != MTK_OK)
		return -1;
	if (port_override > 0) {
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port_override);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port_override);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 4096) != 0) {
		mtk_err_set(err, MTK_E_NETWORK, "%s: cannot listen: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (port_out != NULL) {
		sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return fd;
}

/*
 * systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ('@' = abstract
 * namespace).  Nothing happens when the variable is unset; a failure to
 * send is not an error (systemd then times the start out and says why).
 */
static void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

static void reload(void)
{
	mtk_gwconfig cfg;
	mtk_err err = {0};
	gw_state *st = NULL;
	mtk_rc rc;
	json_t *o = json_object();
	char msg[64];
	struct timespec now;

	/* systemd >= 253 wants the reload's start time with RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
		 (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000);
	notify(msg);
	rc = load_config(&cfg, &err);
	if (rc == MTK_OK)
		rc = gw_state_new(&cfg, generation + 1, &st, &err);
	mtk_gwconfig_free(&cfg);
	if (rc != MTK_OK) {
		atomic_fetch_add(&gw_m.reloads_failed, 1);
		json_object_set_new(o, "result", json_string("refused"));
		json_object_set_new(o, "error", json_string(err.detail[0] ? err.detail : mtk_rc_message(rc)));
		if (err.ossl[0])
			json_object_set_new(o, "openssl", json_string(err.ossl));
		json_object_set_new(o, "generation", json_integer(generation));
		gw_log("reload", o);
		notify("READY=1\nSTATUS=reload refused; serving the previous configuration");
		return;
	}
	generation++;
	gw_state_warn(st, NULL);
	gw_state_install(st);
	atomic_fetch_add(&gw_m.reloads_ok, 1);
	json_object_set_new(o, "result", json_string("ok"));
	json_object_set_new(o, "generation", json_integer(generation));
	gw_log("reload", o);
	notify("READY=1\nSTATUS=serving");
}

static void check_done_cb(evutil_socket_t fd, short what, void *arg)
{
	for (size_t i = 0; i < n_workers; i++)
		if (!atomic_load(&workers[i].done))
			return;
	event_base_loopexit(main_base, NULL);
}

static void drain_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	json_t *o = json_object();

	json_object_set_new(o, "active", json_integer(atomic_load(&gw_m.active)));
	gw_log("drain_timeout", o);
	for (size_t i = 0; i < n_workers; i++)
		event_base_loopexit(workers[i].base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv, poll = {0, 50000};
	json_t *o;

	if (sig == SIGHUP) {
		reload();
		return;
	}
	if (atomic_exchange(&gw.draining, true))
		return;
	o = json_object();
	json_object_set_new(o, "signal", json_string(sig == SIGTERM ? "TERM" : "INT"));
	json_object_set_new(o, "active", json_integer(atomic_load(&gw_m.active)));
	gw_log("draining", o);
	notify("STOPPING=1");
	for (size_t i = 0; i < n_workers; i++)
		event_active(workers[i].ctl, EV_READ, 0);
	tv_ms(&tv, gw.cfg.drain_timeout_ms);
	drain_timer = evtimer_new(main_base, drain_expired_cb, NULL);
	evtimer_add(drain_timer, &tv);
	check_timer = event_new(main_base, -1, EV_PERSIST, check_done_cb, NULL);
	evtimer_add(check_timer, &poll);
}

static void ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_worker_drain(arg);
}

static void *worker_main(void *arg)
{
	gw_worker *w = arg;

	if (gw_accept_guard_init(&w->guard, w->base, w) == 0 &&
	    gw_accept_guard_listen(&w->guard, w->base, gw_accept, w->listen_fd) == 0)
		w->listener = w->guard.l;
	if (w->listener != NULL)
		event_base_dispatch(w->base);
	else
		close(w->listen_fd);
	if (w->listener != NULL)
		evconnlistener_free(w->listener);
	w->listener = NULL;
	gw_accept_guard_free(&w->guard);
	gw_worker_close_all(w);
	gw_worker_free_pool(w);
	atomic_store(&w->done, true);
	return NULL;
}

static int drop_privileges(const char *user, mtk_err *err)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		mtk_err_set(err, MTK_E_CONFIG, "user: no such user '%s'", user);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		mtk_err_set(err, MTK_E_INTERNAL, "user: cannot become '%s': %s", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		mtk_err_set(err, MTK_E_INTERNAL, "user: root could be regained");
		return -1;
	}
	return 0;
}

static int fail(mtk_rc rc, const mtk_err *err)
{
	fprintf(stderr, "mtlskit-gateway: %s%s%s%s%s\n", err->detail[0] ? err->detail : mtk_rc_message(rc),
		err->detail[0] ? " (" : "", err->detail[0] ? mtk_rc_message(rc) : "",
		err->detail[0] ? ")" : "", "");
	if (err->ossl[0])
		fprintf(stderr, "mtlskit-gateway: openssl: %s\n", err->ossl);
	return mtk_rc_exit(rc);
}

int main(int argc, char **argv)
{
	mtk_err err = {0};
	gw_state *st = NULL;
	mtk_rc rc;
	bool check_only = false;
	int port = 0, admin_fd = -1, status = 0;
	struct event *sig_hup = NULL, *sig_term = NULL, *sig_int = NULL;

	/* The server keys live in this process: no core dump (and no same-user
	 * ptrace) may carry them away. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	flag_kv = calloc((size_t)argc * 2 + 2, sizeof(char *));
	if (flag_kv == NULL)
		return MTK_EXIT_INTERNAL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--version")) {
			printf("mtlskit-gateway %s (%s, libevent %s)\n", MTK_VERSION,
			       OpenSSL_version(OPENSSL_VERSION), event_get_version());
			return 0;
		}
		if (!strcmp(a, "--check")) {
			check_only = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			fprintf(stderr, "mtlskit-gateway: unexpected argument '%s'\n", a);
			usage(stderr);
			return MTK_EXIT_USAGE;
		}
		a += 2;
		eq = strchr(a, '=');
		char *key = eq ? strndup(a, (size_t)(eq - a)) : strdup(a);
		const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (key == NULL)
			return MTK_EXIT_INTERNAL;
		if (val == NULL) {
			fprintf(stderr, "mtlskit-gateway: --%s needs a value\n", key);
			return MTK_EXIT_USAGE;
		}
		if (!strcmp(key, "config")) {
			config_path = val;
			free(key);
			continue;
		}
		flag_kv[n_flag_kv++] = key;
		flag_kv[n_flag_kv++] = (char *)val;
	}
	if ((rc = load_config(&gw.cfg, &err)) != MTK_OK)
		return fail(rc, &err);
	if ((rc = gw_state_new(&gw.cfg, generation, &st, &err)) != MTK_OK)
		return fail(rc, &err);
	if (check_only) {
		printf("configuration ok: %zu CA file(s), %zu user map entries, %zu backend(s)\n",
		       gw.cfg.cas.n, mtk_usermap_count(st->map), gw.cfg.backends.n);
		gw_state_warn(st, stderr);
		gw_state_unref(st);
		mtk_gwconfig_free(&gw.cfg);
		return 0;
	}
	gw_state_install(st);
	gw.n_backends = gw.cfg.backends.n;
	gw.backends = calloc(gw.n_backends, sizeof(*gw.backends));
	for (size_t i = 0; gw.backends && i < gw.n_backends; i++) {
		gw.backends[i].name = gw.cfg.backends.v[i];
		if (mtk_parse_sockaddr(gw.cfg.backends.v[i], &gw.backends[i].ss, &gw.backends[i].len,
				       &err) != MTK_OK)
			return fail(MTK_E_CONFIG, &err);
	}
	tv_ms(&gw.hs_timeout, gw.cfg.handshake_timeout_ms);
	tv_ms(&gw.header_timeout, gw.cfg.header_timeout_ms);
	tv_ms(&gw.idle_timeout, gw.cfg.idle_timeout_ms);
	tv_ms(&gw.backend_timeout, gw.cfg.backend_timeout_ms);
	event_set_log_callback(gw_libevent_log);
	if (gw_log_open(gw.cfg.access_log) != 0) {
		mtk_err_set(&err, MTK_E_WRITE, "access_log: cannot open %s: %s", gw.cfg.access_log,
			    strerror(errno));
		return fail(MTK_E_WRITE, &err);
	}
	gw_state_warn(st, NULL); /* installed above: current until a reload */
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();

	n_workers = gw.cfg.workers > 0 ? (size_t)gw.cfg.workers : (size_t)sysconf(_SC_NPROCESSORS_ONLN);
	if (n_workers < 1)
		n_workers = 1;
	workers = calloc(n_workers, sizeof(*workers));
	if (workers == NULL)
		return MTK_EXIT_INTERNAL;
	for (size_t i = 0; i < n_workers; i++) {
		gw_worker *w = &workers[i];
		w->id = (int)i;
		w->listen_fd = bind_socket(gw.cfg.listen, i ? port : 0, i ? NULL : &port, &err);
		if (w->listen_fd < 0)
			return fail(MTK_E_NETWORK, &err);
		w->base = event_base_new();
		w->pool = calloc(gw.n_backends, sizeof(*w->pool));
		if (w->base == NULL || w->pool == NULL)
			return MTK_EXIT_INTERNAL;
		w->ctl = event_new(w->base, -1, 0, ctl_cb, w);
		atomic_init(&w->done, false);
	}
	main_base = event_base_new();
	if (main_base == NULL)
		return MTK_EXIT_INTERNAL;
	int admin_port = 0;
	if (gw.cfg.admin_listen != NULL) {
		if ((admin_fd = bind_socket(gw.cfg.admin_listen, 0, &admin_port, &err)) < 0)
			return fail(MTK_E_NETWORK, &err);
		if (gw_admin_start(main_base, admin_fd) != 0) {
			mtk_err_set(&err, MTK_E_INTERNAL, "admin listener");
			return fail(MTK_E_INTERNAL, &err);
		}
	}

	/* Listening: tell scripts (ready file) and the log, then drop root. */
	{
		json_t *o = json_object();
		char *doc;
		char la[160];

		snprintf(la, sizeof(la), "%.*s:%d",
			 (int)(strrchr(gw.cfg.listen, ':') - gw.cfg.listen), gw.cfg.listen, port);
		json_object_set_new(o, "pid", json_integer(getpid()));
		json_object_set_new(o, "listen", json_string(la));
		json_object_set_new(o, "port", json_integer(port));
		if (admin_fd >= 0)
			json_object_set_new(o, "admin_port", json_integer(admin_port));
		json_object_set_new(o, "workers", json_integer((json_int_t)n_workers));
		json_object_set_new(o, "mode", json_string(gw.cfg.mode == MTK_GW_MODE_TCP ? "tcp" : "http"));
		doc = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		if (gw.cfg.ready_file != NULL && doc != NULL &&
		    (rc = mtk_file_write(gw.cfg.ready_file, doc, strlen(doc), MTK_WRITE_FORCE, &err)) !=
			    MTK_OK)
			return fail(rc, &err);
		free(doc);
		if (drop_privileges(gw.cfg.user, &err) != 0)
			return fail(MTK_E_CONFIG, &err);
		gw_log("ready", o);
	}

	/* Workers run with every signal blocked; the main thread handles them. */
	for (size_t i = 0; i < n_workers; i++)
		if (mtk_thread_spawn(&workers[i].thread, worker_main, &workers[i]) != 0)
			return MTK_EXIT_INTERNAL;
	sig_hup = evsignal_new(main_base, SIGHUP, signal_cb, NULL);
	sig_term = evsignal_new(main_base, SIGTERM, signal_cb, NULL);
	sig_int = evsignal_new(main_base, SIGINT, signal_cb, NULL);
	evsignal_add(sig_hup, NULL);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	/* Ready for systemd only now: listening, workers accepting, and a
	 * SIGHUP from ExecReload= handled instead of killing the process. */
	notify("READY=1\nSTATUS=serving");

	event_base_dispatch(main_base);

	for (size_t i = 0; i < n_workers; i++) {
		pthread_join(workers[i].thread, NULL);
		event_free(workers[i].ctl);
		event_base_free(workers[i].base);
		free(workers[i].pool);
	}
	gw_log("stopped", json_object());
	gw_admin_stop();
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	if (drain_timer)
		event_free(drain_timer);
	if (check_timer)
		event_free(check_timer);
	event_base_free(main_base);
	gw_state_install(NULL);
	free(workers);
	free(gw.backends);
	for (size_t i = 0; i < n_flag_kv; i += 2)
		free(flag_kv[i]);
	free(flag_kv);
	mtk_gwconfig_free(&gw.cfg);
	libevent_global_shutdown();
	return status;
}
