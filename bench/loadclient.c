/*
 * loadclient.c - mTLS load generator for bench/gateway.sh (loopback only).
 *
 *   loadclient --mode handshake|keepalive|idle --port P --cert C --key K
 *              [--concurrency N] [--duration S] [--max-ops N] [--path /]
 *              [--tls 1.2|1.3] [--idle-conns N]
 *
 * handshake: each operation is a new TCP connection, a full TLS handshake
 *            with the client certificate (no resumption), one GET and the
 *            whole response.
 * keepalive: N connections, each sending GETs one after another.
 * idle:      opens --idle-conns handshaken connections, prints "ready", holds
 *            them for --duration seconds (memory per idle connection).
 * Prints one JSON line: ops, seconds, rate, errors, p50_ms, p99_ms.
 * Runs are bounded by --duration and --max-ops; the target is always
 * 127.0.0.1.  The server certificate is not verified (the gateway's and the
 * peers' cost is what is measured, not the client's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *mode = "handshake", *cert, *key, *path = "/";
static int port, concurrency = 4, tls13 = 1, idle_conns = 1000;
static double duration = 5;
static long max_ops = 1000000;
static SSL_CTX *ctx;
static atomic_long ops, errors, started;
static double t_end;

typedef struct {
	double *lat;
	size_t n, cap;
} lat_t;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int tcp_connect(void)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static SSL *tls_connect(int *fdp)
{
	int fd = tcp_connect();
	SSL *ssl;

	*fdp = fd;
	if (fd < 0)
		return NULL;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		*fdp = -1;
		return NULL;
	}
	return ssl;
}

/* Sends a GET and reads one response (Content-Length or until close).
 * Returns 0, or 1 when the server announced "Connection: close" (a well
 * behaved client then reconnects), or -1 on failure. */
static int request(SSL *ssl, int keep)
{
	int closing = 0;
	char req[256], buf[16384];
	int n, len, got = 0, head_end = -1;
	long clen = -1;

	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
		       keep ? "" : "Connection: close\r\n");
	if (SSL_write(ssl, req, len) != len)
		return -1;
	for (;;) {
		n = SSL_read(ssl, buf + got, (int)sizeof(buf) - 1 - got);
		if (n <= 0)
			return (head_end >= 0 && clen < 0) ? 0 : -1;
		got += n;
		buf[got] = '\0';
		if (head_end < 0) {
			char *e = strstr(buf, "\r\n\r\n"), *cl;
			if (e == NULL) {
				if (got >= (int)sizeof(buf) - 1)
					return -1;
				continue;
			}
			if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && strncmp(buf, "HTTP/1.0 200", 12) != 0)
				return -1;
			head_end = (int)(e - buf) + 4;
			cl = strcasestr(buf, "\r\ncontent-length:");
			if (cl != NULL && cl < e)
				clen = strtol(cl + 17, NULL, 10);
			cl = strcasestr(buf, "\r\nconnection: close");
			closing = cl != NULL && cl < e;
		}
		if (clen >= 0 && got - head_end >= clen)
			return closing;
		if (got >= (int)sizeof(buf) - 1) { /* large body: keep counting */
			if (clen >= 0) {
				clen -= got - head_end;
				head_end = 0;
			}
			got = 0;
		}
	}
}

static void lat_add(lat_t *l, double v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->lat = realloc(l->lat, l->cap * sizeof(double));
		if (l->lat == NULL)
			abort();
	}
	l->lat[l->n++] = v;
}

static void *worker(void *arg)
{
	lat_t *l = arg;
	int keep = strcmp(mode, "keepalive") == 0;
	SSL *ssl = NULL;
	int fd = -1;

	while (now() < t_end && atomic_fetch_add(&started, 1) < max_ops) {
		double t0 = now();
		if (ssl == NULL && (ssl = tls_connect(&fd)) == NULL) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		int r = request(ssl, keep);
		if (r < 0) {
			atomic_fetch_add(&errors, 1);
			SSL_free(ssl);
			close(fd);
			ssl = NULL;
			continue;
		}
		lat_add(l, now() - t0);
		atomic_fetch_add(&ops, 1);
		if (!keep || r == 1) {
			SSL_shutdown(ssl);
			SSL_free(ssl);
			close(fd);
			ssl = NULL;
		}
	}
	if (ssl != NULL) {
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int idle_mode(void)
{
	SSL **s = calloc((size_t)idle_conns, sizeof(SSL *));
	int *fds = calloc((size_t)idle_conns, sizeof(int)), ok = 0;

	if (s == NULL || fds == NULL)
		return 1;
	for (int i = 0; i < idle_conns; i++) {
		s[i] = tls_connect(&fds[i]);
		if (s[i] != NULL) {
			/* TLS 1.3 sends tickets after the handshake: read them now so
			 * both sides are truly idle */
			char b;
			SSL_set_mode(s[i], SSL_MODE_AUTO_RETRY);
			struct timeval tv = {0, 20000};
			setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			(void)SSL_peek(s[i], &b, 1);
			ERR_clear_error();
			ok++;
		}
	}
	printf("{\"mode\":\"idle\",\"open\":%d}\n", ok);
	fflush(stdout);
	sleep((unsigned)duration);
	for (int i = 0; i < idle_conns; i++) {
		if (s[i] != NULL) {
			SSL_free(s[i]);
			close(fds[i]);
		}
	}
	free(s);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"mode", 1, 0, 'm'}, {"port", 1, 0, 'p'},     {"cert", 1, 0, 'c'},
		{"key", 1, 0, 'k'},  {"concurrency", 1, 0, 'n'}, {"duration", 1, 0, 'd'},
		{"max-ops", 1, 0, 'o'}, {"path", 1, 0, 'P'},  {"tls", 1, 0, 't'},
		{"idle-conns", 1, 0, 'i'}, {0, 0, 0, 0}};
	int o;
	pthread_t *th;
	lat_t *lats;
	double t0, secs;
	size_t total = 0;
	double *all;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'm': mode = optarg; break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'n': concurrency = (int)strtol(optarg, NULL, 10); break;
		case 'd': duration = strtod(optarg, NULL); break;
		case 'o': max_ops = strtol(optarg, NULL, 10); break;
		case 'P': path = optarg; break;
		case 't': tls13 = strcmp(optarg, "1.2") != 0; break;
		case 'i': idle_conns = (int)strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (port <= 0 || cert == NULL || key == NULL || duration <= 0 || duration > 120 ||
	    concurrency < 1 || concurrency > 512 || idle_conns < 1 || idle_conns > 20000) {
		fprintf(stderr, "usage: loadclient --mode M --port P --cert C --key K [...] (see source)\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* every handshake is full */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "loadclient: cannot load %s / %s\n", cert, key);
		return 2;
	}
	if (strcmp(mode, "idle") == 0)
		return idle_mode();
	th = calloc((size_t)concurrency, sizeof(*th));
	lats = calloc((size_t)concurrency, sizeof(*lats));
	t0 = now();
	t_end = t0 + duration;
	for (int i = 0; i < concurrency; i++)
		pthread_create(&th[i], NULL, worker, &lats[i]);
	for (int i = 0; i < concurrency; i++) {
		pthread_join(th[i], NULL);
		total += lats[i].n;
	}
	secs = now() - t0;
	all = malloc((total ? total : 1) * sizeof(double));
	for (int i = 0, k = 0; i < concurrency; i++) {
		memcpy(all + k, lats[i].lat, lats[i].n * sizeof(double));
		k += (int)lats[i].n;
		free(lats[i].lat);
	}
	qsort(all, total, sizeof(double), cmp);
	printf("{\"mode\":\"%s\",\"ops\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rate\":%.1f,"
	       "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
	       mode, atomic_load(&ops), atomic_load(&errors), secs, (double)atomic_load(&ops) / secs,
	       total ? all[total / 2] * 1e3 : 0.0, total ? all[(size_t)((double)total * 0.99)] * 1e3 : 0.0);
	free(all);
	free(th);
	free(lats);
	SSL_CTX_free(ctx);
	return 0;
}
