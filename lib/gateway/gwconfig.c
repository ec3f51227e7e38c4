/* gwconfig.c - mtk_gwconfig_*: the gateway's settings from a file or flags. */
#include "mtlskit/gateway.h"
#include "mtlskit/hostport.h"
#include "mtlskit/timeval.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

typedef enum { T_STR, T_LIST, T_BOOL, T_LONG, T_MS, T_SIZE, T_MODE, T_TLS } setting_type;

typedef struct {
	const char *key;
	setting_type type;
	size_t off;
	long min, max; /* for numbers */
} setting;

#define OFF(f) offsetof(mtk_gwconfig, f)

static const setting settings[] = {
	{"listen", T_STR, OFF(listen), 0, 0},
	{"admin_listen", T_STR, OFF(admin_listen), 0, 0},
	{"mode", T_MODE, OFF(mode), 0, 0},
	{"cert", T_LIST, OFF(certs), 0, 0},
	{"key", T_LIST, OFF(keys), 0, 0},
	{"key_pass", T_LIST, OFF(key_passes), 0, 0},
	{"ca", T_LIST, OFF(cas), 0, 0},
	{"crl", T_LIST, OFF(crls), 0, 0},
	{"backend", T_LIST, OFF(backends), 0, 0},
	{"usermap", T_STR, OFF(usermap), 0, 0},
	{"require_role", T_STR, OFF(require_role), 0, 0},
	{"require_client_auth_eku", T_BOOL, OFF(require_client_auth_eku), 0, 0},
	{"session_tickets", T_BOOL, OFF(session_tickets), 0, 0},
	{"forwarded_headers", T_BOOL, OFF(forwarded_headers), 0, 0},
	{"session_cache", T_LONG, OFF(session_cache), 0, 10000000},
	{"verify_cache", T_LONG, OFF(verify_cache), 0, 10000000},
	{"tls_min", T_TLS, OFF(tls_min), 0, 0},
	{"tls_ciphers", T_STR, OFF(tls_ciphers), 0, 0},
	{"tls_ciphersuites", T_STR, OFF(tls_ciphersuites), 0, 0},
	{"workers", T_LONG, OFF(workers), 0, 256},
	{"max_connections", T_LONG, OFF(max_connections), 1, 10000000},
	{"handshake_timeout", T_MS, OFF(handshake_timeout_ms), 1, 3600000},
	{"header_timeout", T_MS, OFF(header_timeout_ms), 1, 3600000},
	{"idle_timeout", T_MS, OFF(idle_timeout_ms), 1, 86400000},
	{"backend_timeout", T_MS, OFF(backend_timeout_ms), 1, 3600000},
	{"drain_timeout", T_MS, OFF(drain_timeout_ms), 0, 3600000},
	{"max_header_size", T_SIZE, OFF(max_header_size), 256, 1 << 20},
	{"max_headers", T_LONG, OFF(max_headers), 1, 10000},
	{"max_body", T_SIZE, OFF(max_body), 0, 1L << 30},
	{"max_buffer", T_SIZE, OFF(max_buffer), 16384, 1L << 30},
	{"max_connections_per_ip", T_LONG, OFF(max_connections_per_ip), 0, 10000000},
	{"user", T_STR, OFF(user), 0, 0},
	{"access_log", T_STR, OFF(access_log), 0, 0},
	{"ready_file", T_STR, OFF(ready_file), 0, 0},
};

void mtk_gwconfig_init(mtk_gwconfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MTK_GW_MODE_HTTP;
	/* Resumption through the session cache, not stateless tickets: the
	 * ticket keys are per process anyway (no resumption across gateways
	 * or restarts either way), and OpenSSL 3.0 builds each stateless
	 * ticket by encoding the session, decoding it again (the client
	 * certificate with it) and fetching a cipher and an HMAC: 12% of a
	 * full handshake (docs/PERFORMANCE.md). */
	cfg->session_tickets = false;
	cfg->session_cache = 20000;
	cfg->verify_cache = 4096;
	cfg->tls_min = 12;
	cfg->workers = 0;
	cfg->max_connections = 10000;
	cfg->handshake_timeout_ms = 10000;
	cfg->header_timeout_ms = 15000;
	cfg->idle_timeout_ms = 60000;
	cfg->backend_timeout_ms = 30000;
	cfg->drain_timeout_ms = 10000;
	cfg->max_header_size = 16384;
	cfg->max_headers = 100;
	cfg->max_body = 8L << 20;
	cfg->max_buffer = 256L << 10;
	cfg->max_connections_per_ip = 256;
	cfg->forwarded_headers = true;
}

static void strlist_free(mtk_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void mtk_gwconfig_free(mtk_gwconfig *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		void *f = (char *)cfg + settings[i].off;
		if (settings[i].type == T_STR) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (settings[i].type == T_LIST) {
			strlist_free(f);
		}
	}
}

mtk_rc mtk_parse_size(const char *s, long *out)
{
	char *end;
	unsigned long long v;
	unsigned long long mult = 1;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return MTK_E_INVALID_ARG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return MTK_E_INVALID_ARG;
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mult = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mult = 1024ULL * 1024 * 1024, end++;
	if (*end != '\0' || v > (unsigned long long)LONG_MAX / mult)
		return MTK_E_INVALID_ARG;
	*out = (long)(v * mult);
	return MTK_OK;
}

mtk_rc mtk_parse_sockaddr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			  mtk_err *err)
{
	char host[INET6_ADDRSTRLEN], port[8];
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	mtk_err e = {0};
	uint16_t p;

	if (s == NULL)
		return mtk_err_set(err, MTK_E_CONFIG, "missing address");
	/* The split is hostport.h's; a configuration error is MTK_E_CONFIG. */
	if (mtk_hostport_split(s, NULL, MTK_HP_PORT_ZERO | MTK_HP_ANY_HOST, host, sizeof(host),
			       port, sizeof(port), &e) != MTK_OK) {
		mtk_rc rc = mtk_err_set(err, MTK_E_CONFIG, "%s", e.detail);
		mtk_err_clear(&e);
		return rc;
	}
	p = (uint16_t)atoi(port);
	if (host[0] == '\0')
		memcpy(host, "0.0.0.0", sizeof("0.0.0.0"));
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(p);
		*len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(p);
		*len = sizeof(*a6);
	} else {
		return mtk_err_set(err, MTK_E_CONFIG, "%s: not a numeric IP address", s);
	}
	return MTK_OK;
}

static const setting *find_setting(const char *key)
{
	char norm[64];
	size_t n = strlen(key);

	if (n >= sizeof(norm))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = key[i] == '-' ? '_' : key[i];
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].key, norm) == 0)
			return &settings[i];
	return NULL;
}

mtk_rc mtk_gwconfig_set(mtk_gwconfig *cfg, const char *key, const char *value, mtk_err *err)
{
	const setting *st = find_setting(key);
	void *f;
	long v = 0;
	mtk_rc rc = MTK_OK;

	if (st == NULL)
		return mtk_err_set(err, MTK_E_CONFIG, "unknown setting '%s'", key);
	if (value == NULL || value[0] == '\0')
		return mtk_err_set(err, MTK_E_CONFIG, "%s: missing value", st->key);
	f = (char *)cfg + st->off;
	switch (st->type) {
	case T_STR: {
		char *s = strdup(value);
		if (s == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", st->key);
		free(*(char **)f);
		*(char **)f = s;
		return MTK_OK;
	}
	case T_LIST: {
		mtk_strlist *l = f;
		char **nv;
		char *s;
		if (l->n >= 1024)
			return mtk_err_set(err, MTK_E_CONFIG, "%s: too many values", st->key);
		nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (nv == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", st->key);
		l->v = nv;
		if ((s = strdup(value)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", st->key);
		l->v[l->n++] = s;
		return MTK_OK;
	}
	case T_BOOL:
		if (!strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "1"))
			*(bool *)f = true;
		else if (!strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "false") ||
			 !strcmp(value, "0"))
			*(bool *)f = false;
		else
			return mtk_err_set(err, MTK_E_CONFIG, "%s: expected on or off, not '%s'",
					   st->key, value);
		return MTK_OK;
	case T_MODE:
		if (!strcmp(value, "http"))
			*(mtk_gw_mode *)f = MTK_GW_MODE_HTTP;
		else if (!strcmp(value, "tcp"))
			*(mtk_gw_mode *)f = MTK_GW_MODE_TCP;
		else
			return mtk_err_set(err, MTK_E_CONFIG, "mode: expected http or tcp, not '%s'",
					   value);
		return MTK_OK;
	case T_TLS:
		if (!strcmp(value, "1.2"))
			*(int *)f = 12;
		else if (!strcmp(value, "1.3"))
			*(int *)f = 13;
		else
			return mtk_err_set(err, MTK_E_CONFIG, "tls_min: expected 1.2 or 1.3, not '%s'",
					   value);
		return MTK_OK;
	case T_LONG: {
		char *end;
		errno = 0;
		v = isdigit((unsigned char)value[0]) ? strtol(value, &end, 10) : -1;
		if (v < 0 || errno != 0 || *end != '\0')
			rc = MTK_E_INVALID_ARG;
		break;
	}
	case T_MS: {
		int64_t ms = 0;

		rc = mtk_duration_parse(value, MTK_MS_SECOND, &ms);
		v = rc == MTK_OK && ms <= LONG_MAX ? (long)ms : -1;
		break;
	}
	case T_SIZE:
		rc = mtk_parse_size(value, &v);
		break;
	}
	if (rc != MTK_OK || v < st->min || v > st->max)
		return mtk_err_set(err, MTK_E_CONFIG, "%s: bad value '%s'", st->key, value);
	*(long *)f = v;
	return MTK_OK;
}

static mtk_rc set_kv(void *ctx, const char *key, const char *value, mtk_err *err)
{
	return mtk_gwconfig_set(ctx, key, value, err);
}

mtk_rc mtk_gwconfig_parse(mtk_gwconfig *cfg, const char *name, const uint8_t *data, size_t len,
			  mtk_err *err)
{
	return gw_kv_parse(name, data, len, set_kv, cfg, err);
}

mtk_rc mtk_gwconfig_check(const mtk_gwconfig *cfg, mtk_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	mtk_rc rc;

	if (cfg->listen == NULL)
		return mtk_err_set(err, MTK_E_CONFIG, "listen: not set");
	if ((rc = mtk_parse_sockaddr(cfg->listen, &ss, &sl, err)) != MTK_OK)
		return rc;
	if (cfg->admin_listen != NULL &&
	    (rc = mtk_parse_sockaddr(cfg->admin_listen, &ss, &sl, err)) != MTK_OK)
		return rc;
	if (cfg->certs.n == 0)
		return mtk_err_set(err, MTK_E_CONFIG, "cert: no server certificate");
	if (cfg->certs.n != cfg->keys.n)
		return mtk_err_set(err, MTK_E_CONFIG, "cert/key: %zu certificates but %zu keys",
				   cfg->certs.n, cfg->keys.n);
	if (cfg->key_passes.n > 1 && cfg->key_passes.n != cfg->keys.n)
		return mtk_err_set(err, MTK_E_CONFIG,
				   "key_pass: %zu given for %zu keys (give one for all, or one per key)",
				   cfg->key_passes.n, cfg->keys.n);
	for (size_t i = 0; i < cfg->key_passes.n; i++) {
		const char *p = cfg->key_passes.v[i];
		if (!(strncmp(p, "env:", 4) == 0 && p[4] != '\0') &&
		    !(strncmp(p, "file:", 5) == 0 && p[5] != '\0'))
			return mtk_err_set(err, MTK_E_CONFIG,
					   "key_pass (#%zu): expected env:VAR or file:PATH; a password "
					   "is never written in the configuration", i + 1);
	}
	if (cfg->cas.n == 0)
		return mtk_err_set(err, MTK_E_CONFIG, "ca: no client CA chain");
	if (cfg->usermap == NULL)
		return mtk_err_set(err, MTK_E_CONFIG, "usermap: not set");
	if (cfg->backends.n == 0)
		return mtk_err_set(err, MTK_E_CONFIG, "backend: none");
	for (size_t i = 0; i < cfg->backends.n; i++)
		if ((rc = mtk_parse_sockaddr(cfg->backends.v[i], &ss, &sl, err)) != MTK_OK)
			return rc;
	return MTK_OK;
}
