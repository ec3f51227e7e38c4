/* acme.c - trk_acme_issue: the `acme` issuer, an RFC 8555 client.  HTTP
 * through libcurl, JSON through jansson, JWS (ES256 account key, HS256 for
 * External Account Binding) through OpenSSL; the http-01 answer comes from a
 * responder on acme_http_listen (libevent's evhttp, driven between polls in
 * this thread) or a file under acme_webroot. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509v3.h>

#include "mtlskit/bundle.h"
#include "mtlskit/file.h"
#include "mtlskit/gateway.h"
#include "mtlskit/keygen.h"
#include "mtlskit/load.h"

#include "internal.h"

#define MAX_BODY (1u << 20)

/* libcurl is loaded when an acme issuer first runs, not linked: linked, its
 * dependencies (GSSAPI, LDAP, SSH, HTTP/2, IDN...) are mapped and relocated
 * by every mtlskit command, which measured 2.6 times the start-up time of
 * `mtlskit --version` on the reference VM. */
static struct {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	bool ok;
} cu;

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void cu_load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return;
	*(void **)&cu.easy_init = dlsym(h, "curl_easy_init");
	*(void **)&cu.easy_cleanup = dlsym(h, "curl_easy_cleanup");
	*(void **)&cu.easy_reset = dlsym(h, "curl_easy_reset");
	*(void **)&cu.easy_setopt = dlsym(h, "curl_easy_setopt");
	*(void **)&cu.easy_perform = dlsym(h, "curl_easy_perform");
	*(void **)&cu.easy_getinfo = dlsym(h, "curl_easy_getinfo");
	*(void **)&cu.easy_strerror = dlsym(h, "curl_easy_strerror");
	*(void **)&cu.slist_append = dlsym(h, "curl_slist_append");
	*(void **)&cu.slist_free_all = dlsym(h, "curl_slist_free_all");
	cu.ok = cu.easy_init && cu.easy_cleanup && cu.easy_reset && cu.easy_setopt &&
		cu.easy_perform && cu.easy_getinfo && cu.easy_strerror && cu.slist_append &&
		cu.slist_free_all;
}
#define POLLS 60

typedef struct acme {
	const mtk_track_conf *c;
	const mtk_track_env *env;
	CURL *curl;
	EVP_PKEY *key;
	char jwk[256];   /* {"crv":"P-256","kty":"EC","x":"..","y":".."} */
	char thumb[64];  /* base64url SHA-256 of jwk */
	char nonce[256];
	char location[1024];
	char kid[1024];
	json_t *dir;
	mtk_buf body;
	long status;
	/* http-01 */
	struct event_base *base;
	struct evhttp *http;
	char token[256];
	char keyauth[512];
} acme;

/* ---- encoding ---- */

static void b64url(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = 4 * ((n + 2) / 3) + 1, k = 0;
	unsigned char *tmp = malloc(need);

	out[0] = '\0';
	if (tmp == NULL)
		return;
	EVP_EncodeBlock(tmp, in, (int)n);
	for (size_t i = 0; tmp[i] != '\0' && tmp[i] != '=' && k + 1 < cap; i++)
		out[k++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
	out[k] = '\0';
	free(tmp);
}

static char *b64url_dup(const uint8_t *in, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 2;
	char *s = malloc(cap);

	if (s != NULL)
		b64url(in, n, s, cap);
	return s;
}

/* base64url (no padding) -> bytes; -1 on a bad character. */
static long b64url_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), k = 0;
	char *t = malloc(n + 4);
	int len;

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4 != 0)
		t[n++] = '=';
	t[n] = '\0';
	if (3 * n / 4 > cap) {
		free(t);
		return -1;
	}
	len = EVP_DecodeBlock(out, (unsigned char *)t, (int)n);
	if (len >= 0)
		for (size_t i = n; i > 0 && t[i - 1] == '='; i--)
			k++;
	free(t);
	return len < 0 ? -1 : (long)len - (long)k;
}

/* The account key's JWK (RFC 7638 member order) and its thumbprint. */
static mtk_rc jwk_of(acme *a, mtk_err *err)
{
	uint8_t x[32], y[32], h[32];
	char xs[64], ys[64];
	BIGNUM *bx = NULL, *by = NULL;
	mtk_rc rc = MTK_OK;

	if (!EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
	    BN_bn2binpad(bx, x, 32) != 32 || BN_bn2binpad(by, y, 32) != 32) {
		rc = mtk_err_set(err, MTK_E_UNSUPPORTED, "acme_account_key: an EC P-256 key is needed");
		goto out;
	}
	b64url(x, 32, xs, sizeof(xs));
	b64url(y, 32, ys, sizeof(ys));
	snprintf(a->jwk, sizeof(a->jwk), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 xs, ys);
	SHA256((const unsigned char *)a->jwk, strlen(a->jwk), h);
	b64url(h, 32, a->thumb, sizeof(a->thumb));
out:
	BN_free(bx);
	BN_free(by);
	return rc;
}

/* ES256 over "protected.payload": the DER signature turned into r||s. */
static mtk_rc es256(EVP_PKEY *key, const char *input, char *out, size_t cap, mtk_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128], rs[64];
	size_t dl = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	mtk_rc rc = MTK_OK;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dl, (const unsigned char *)input, strlen(input)) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)dl)) == NULL) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "acme: signing the request");
		goto out;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, rs, 32) != 32 || BN_bn2binpad(s, rs + 32, 32) != 32) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "acme: signature size");
		goto out;
	}
	b64url(rs, 64, out, cap);
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

/* A flattened JWS: {"protected":..,"payload":..,"signature":..}.  hmac set:
 * HS256 with that key (External Account Binding). */
static json_t *jws(const char *protected_json, const char *payload, EVP_PKEY *key,
		   const uint8_t *hmac, size_t hmac_len, mtk_err *err)
{
	char *ph = b64url_dup((const uint8_t *)protected_json, strlen(protected_json));
	char *pl = b64url_dup((const uint8_t *)payload, strlen(payload));
	char sig[128] = "", *input = NULL;
	json_t *o = NULL;
	size_t n;

	if (ph == NULL || pl == NULL)
		goto out;
	n = strlen(ph) + strlen(pl) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", ph, pl);
	if (hmac != NULL) {
		unsigned char mac[32];
		unsigned int ml = sizeof(mac);
		if (HMAC(EVP_sha256(), hmac, (int)hmac_len, (const unsigned char *)input,
			 strlen(input), mac, &ml) == NULL) {
			mtk_err_set(err, MTK_E_CRYPTO, "acme: HMAC");
			goto out;
		}
		b64url(mac, ml, sig, sizeof(sig));
	} else if (es256(key, input, sig, sizeof(sig), err) != MTK_OK) {
		goto out;
	}
	o = json_pack("{s:s, s:s, s:s}", "protected", ph, "payload", pl, "signature", sig);
out:
	free(ph);
	free(pl);
	free(input);
	return o;
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	acme *a = ctx;

	if (a->body.len + size * n > MAX_BODY || mtk_buf_append(&a->body, p, size * n) != MTK_OK)
		return 0;
	return size * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), k = 0;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	for (; k < n && k + 1 < cap; k++)
		out[k] = (unsigned char)line[k] < 0x20 ? ' ' : line[k];
	out[k] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	acme *a = ctx;

	header_value(p, size * n, "Replay-Nonce", a->nonce, sizeof(a->nonce));
	header_value(p, size * n, "Location", a->location, sizeof(a->location));
	return size * n;
}

/* One request; body (may be NULL: GET, or HEAD when head) is sent as
 * application/jose+json.  a->body, a->status, a->nonce, a->location. */
static mtk_rc http(acme *a, const char *url, const char *body, bool head, mtk_err *err)
{
	struct curl_slist *h = NULL;
	CURLcode cc;

	mtk_buf_free(&a->body);
	a->location[0] = '\0';
	a->status = 0;
	cu.easy_reset(a->curl);
	cu.easy_setopt(a->curl, CURLOPT_URL, url);
	cu.easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "https");
	cu.easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	cu.easy_setopt(a->curl, CURLOPT_TIMEOUT, 30L);
	cu.easy_setopt(a->curl, CURLOPT_USERAGENT, "mtlskit-track");
	cu.easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(a->curl, CURLOPT_WRITEDATA, a);
	cu.easy_setopt(a->curl, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(a->curl, CURLOPT_HEADERDATA, a);
	if (a->c->acme_ca != NULL)
		cu.easy_setopt(a->curl, CURLOPT_CAINFO, a->c->acme_ca);
	if (head)
		cu.easy_setopt(a->curl, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		h = cu.slist_append(h, "Content-Type: application/jose+json");
		cu.easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
		cu.easy_setopt(a->curl, CURLOPT_POSTFIELDS, body);
	}
	cc = cu.easy_perform(a->curl);
	cu.slist_free_all(h);
	if (cc != CURLE_OK)
		return mtk_err_set(err, MTK_E_UNREACHABLE, "ACME server %s: %s", url,
				   cu.easy_strerror(cc));
	cu.easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->status);
	return MTK_OK;
}

/* The body as JSON (NULL when it is not). */
static json_t *body_json(acme *a)
{
	return json_loadb((const char *)a->body.data, a->body.len, 0, NULL);
}

/* An ACME problem document as an error. */
static mtk_rc problem(acme *a, const char *what, mtk_err *err)
{
	json_t *j = body_json(a);
	const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
	const char *detail = j ? json_string_value(json_object_get(j, "detail")) : NULL;
	char d[200] = "";
	mtk_rc rc;

	/* the server's words, one printable line */
	snprintf(d, sizeof(d), "%s", detail ? detail : "");
	for (char *p = d; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	rc = mtk_err_set(err, a->status >= 500 ? MTK_E_UNREACHABLE : MTK_E_REJECTED,
			 "ACME %s: HTTP %ld %s%s%s", what, a->status, type ? type : "",
			 d[0] ? ": " : "", d);
	json_decref(j);
	return rc;
}

static const char *dir_url(acme *a, const char *name)
{
	return json_string_value(json_object_get(a->dir, name));
}

/* POST a JWS of payload to url (a "" payload is POST-as-GET), signed with
 * the account's kid, or its jwk before there is one; one retry on
 * badNonce. */
static mtk_rc post(acme *a, const char *url, const char *payload, mtk_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		json_t *prot, *msg;
		char *ps, *ms;
		mtk_rc rc;

		if (a->nonce[0] == '\0' &&
		    (rc = http(a, dir_url(a, "newNonce"), NULL, true, err)) != MTK_OK)
			return rc;
		if (a->nonce[0] == '\0')
			return mtk_err_set(err, MTK_E_MALFORMED, "ACME: no Replay-Nonce");
		if (a->kid[0] != '\0')
			prot = json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "kid", a->kid, "nonce",
					 a->nonce, "url", url);
		else
			prot = json_pack("{s:s, s:o, s:s, s:s}", "alg", "ES256", "jwk",
					 json_loads(a->jwk, 0, NULL), "nonce", a->nonce, "url", url);
		a->nonce[0] = '\0';
		ps = prot ? json_dumps(prot, JSON_COMPACT) : NULL;
		json_decref(prot);
		msg = ps ? jws(ps, payload, a->key, NULL, 0, err) : NULL;
		free(ps);
		ms = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
		json_decref(msg);
		if (ms == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "ACME request");
		rc = http(a, url, ms, false, err);
		free(ms);
		if (rc != MTK_OK)
			return rc;
		if (a->status == 400 && attempt == 0) {
			json_t *j = body_json(a);
			const char *t = j ? json_string_value(json_object_get(j, "type")) : NULL;
			bool bad_nonce = t && strcmp(t, "urn:ietf:params:acme:error:badNonce") == 0;
			json_decref(j);
			if (bad_nonce)
				continue;
		}
		return MTK_OK;
	}
	return MTK_OK;
}

/* ---- http-01 ---- */

static void on_challenge(struct evhttp_request *req, void *ctx)
{
	acme *a = ctx;
	const char *uri = evhttp_request_get_uri(req);
	static const char prefix[] = "/.well-known/acme-challenge/";
	struct evbuffer *b;

	if (a->token[0] == '\0' || strncmp(uri, prefix, sizeof(prefix) - 1) != 0 ||
	    strcmp(uri + sizeof(prefix) - 1, a->token) != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	b = evhttp_request_get_output_buffer(req);
	evbuffer_add(b, a->keyauth, strlen(a->keyauth));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/octet-stream");
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

/* Serves for ms milliseconds (also the wait between polls). */
static void serve(acme *a, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(a->base, &tv);
	event_base_dispatch(a->base);
}

static mtk_rc responder_start(acme *a, mtk_err *err)
{
	char host[128];
	const char *colon;
	long port;

	if ((a->base = event_base_new()) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "event base");
	if (a->c->acme_http_listen == NULL)
		return MTK_OK;
	colon = strrchr(a->c->acme_http_listen, ':');
	if (colon == NULL || (size_t)(colon - a->c->acme_http_listen) >= sizeof(host))
		return mtk_err_set(err, MTK_E_CONFIG, "acme_http_listen: expected ADDRESS:PORT");
	memcpy(host, a->c->acme_http_listen, (size_t)(colon - a->c->acme_http_listen));
	host[colon - a->c->acme_http_listen] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if ((a->http = evhttp_new(a->base)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "evhttp");
	evhttp_set_gencb(a->http, on_challenge, a);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET);
	if (port <= 0 || port > 65535 || evhttp_bind_socket(a->http, host, (uint16_t)port) != 0)
		return mtk_err_set(err, MTK_E_CONNECT, "acme_http_listen %s: cannot listen",
				   a->c->acme_http_listen);
	return MTK_OK;
}

static mtk_rc webroot_file(acme *a, bool create, mtk_err *err)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/.well-known/acme-challenge/%s", a->c->acme_webroot, a->token);
	if (!create) {
		(void)unlink(p);
		return MTK_OK;
	}
	return mtk_file_write(p, a->keyauth, strlen(a->keyauth), MTK_WRITE_FORCE, err);
}

/* ---- the order ---- */

/* Polls url (POST-as-GET) until its status is not one of the waiting ones;
 * *out is the last JSON. */
static mtk_rc poll_status(acme *a, const char *url, const char *what, json_t **out,
			  mtk_err *err)
{
	for (int i = 0; i < POLLS; i++) {
		json_t *j;
		const char *st;
		mtk_rc rc;

		if ((rc = post(a, url, "", err)) != MTK_OK)
			return rc;
		if (a->status != 200)
			return problem(a, what, err);
		if ((j = body_json(a)) == NULL)
			return mtk_err_set(err, MTK_E_MALFORMED, "ACME %s: not JSON", what);
		st = json_string_value(json_object_get(j, "status"));
		if (st == NULL || (strcmp(st, "pending") != 0 && strcmp(st, "processing") != 0)) {
			*out = j;
			return MTK_OK;
		}
		json_decref(j);
		serve(a, i < 5 ? 200 : 1000);
	}
	return mtk_err_set(err, MTK_E_TIMEOUT, "ACME %s: still pending after %d polls", what, POLLS);
}

static mtk_rc account(acme *a, mtk_err *err)
{
	json_t *payload = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	char *ps = NULL;
	mtk_rc rc;

	if (payload == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "ACME account");
	if (a->c->acme_eab_kid != NULL) {
		/* External Account Binding (RFC 8555 7.3.4): the account key, signed
		 * with the CA's MAC key. */
		mtk_secret *mac = NULL;
		unsigned fl = 0;
		uint8_t key[256];
		long kl;
		json_t *prot, *eab;
		char *prs;

		if (a->c->acme_eab_hmac == NULL) {
			json_decref(payload);
			return mtk_err_set(err, MTK_E_CONFIG, "acme_eab_kid needs acme_eab_hmac");
		}
		if ((rc = mtk_pass_resolve(a->c->acme_eab_hmac, NULL, a->env->pass_io, &mac, &fl,
					   err)) != MTK_OK) {
			json_decref(payload);
			return rc;
		}
		kl = b64url_decode(mac->s, key, sizeof(key));
		mtk_secret_free(mac);
		if (kl <= 0) {
			json_decref(payload);
			return mtk_err_set(err, MTK_E_CONFIG, "acme_eab_hmac: not base64url");
		}
		prot = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", a->c->acme_eab_kid, "url",
				 dir_url(a, "newAccount"));
		prs = prot ? json_dumps(prot, JSON_COMPACT) : NULL;
		json_decref(prot);
		eab = prs ? jws(prs, a->jwk, NULL, key, (size_t)kl, err) : NULL;
		mtk_cleanse(key, sizeof(key));
		free(prs);
		if (eab == NULL) {
			json_decref(payload);
			return mtk_err_set(err, MTK_E_CRYPTO, "acme: external account binding");
		}
		json_object_set_new(payload, "externalAccountBinding", eab);
	}
	ps = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (ps == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "ACME account");
	rc = post(a, dir_url(a, "newAccount"), ps, err);
	free(ps);
	if (rc != MTK_OK)
		return rc;
	if (a->status != 200 && a->status != 201)
		return problem(a, "newAccount", err);
	if (a->location[0] == '\0')
		return mtk_err_set(err, MTK_E_MALFORMED, "ACME newAccount: no Location");
	snprintf(a->kid, sizeof(a->kid), "%s", a->location);
	return MTK_OK;
}

/* The DNS names to order: the old certificate's DNS SANs, else its CN. */
static json_t *identifiers(X509 *old)
{
	json_t *ids = json_array();
	GENERAL_NAMES *gens = X509_get_ext_d2i(old, NID_subject_alt_name, NULL, NULL);
	char cn[256];

	for (int i = 0; ids && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS)
			json_array_append_new(
			    ids, json_pack("{s:s, s:s%}", "type", "dns", "value",
					   (const char *)ASN1_STRING_get0_data(g->d.dNSName),
					   (size_t)ASN1_STRING_length(g->d.dNSName)));
	}
	GENERAL_NAMES_free(gens);
	if (ids && json_array_size(ids) == 0 &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(old), NID_commonName, cn, sizeof(cn)) > 0)
		json_array_append_new(ids, json_pack("{s:s, s:s}", "type", "dns", "value", cn));
	return ids;
}

static mtk_rc authorize(acme *a, const char *authz_url, mtk_err *err)
{
	json_t *az = NULL, *ch = NULL, *fin = NULL;
	const char *st, *curl_s = NULL, *tok = NULL;
	size_t i;
	mtk_rc rc;

	if ((rc = post(a, authz_url, "", err)) != MTK_OK)
		return rc;
	if (a->status != 200 || (az = body_json(a)) == NULL)
		return problem(a, "authorization", err);
	st = json_string_value(json_object_get(az, "status"));
	if (st != NULL && strcmp(st, "valid") == 0)
		goto out; /* authorized before: nothing to prove */
	json_array_foreach(json_object_get(az, "challenges"), i, ch)
	{
		const char *t = json_string_value(json_object_get(ch, "type"));
		if (t != NULL && strcmp(t, "http-01") == 0) {
			curl_s = json_string_value(json_object_get(ch, "url"));
			tok = json_string_value(json_object_get(ch, "token"));
		}
	}
	if (curl_s == NULL || tok == NULL || strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(tok) ||
	    strlen(tok) >= sizeof(a->token)) {
		rc = mtk_err_set(err, MTK_E_REJECTED, "ACME: the server offers no usable http-01 challenge");
		goto out;
	}
	snprintf(a->token, sizeof(a->token), "%s", tok);
	snprintf(a->keyauth, sizeof(a->keyauth), "%s.%s", tok, a->thumb);
	if (a->c->acme_webroot != NULL && (rc = webroot_file(a, true, err)) != MTK_OK)
		goto out;
	if ((rc = post(a, curl_s, "{}", err)) != MTK_OK)
		goto out;
	if (a->status != 200) {
		rc = problem(a, "challenge", err);
		goto out;
	}
	if ((rc = poll_status(a, authz_url, "authorization", &fin, err)) != MTK_OK)
		goto out;
	st = json_string_value(json_object_get(fin, "status"));
	if (st == NULL || strcmp(st, "valid") != 0) {
		json_t *c2 = NULL, *e = NULL;
		json_array_foreach(json_object_get(fin, "challenges"), i, c2)
			if (json_object_get(c2, "error"))
				e = json_object_get(c2, "error");
		const char *d = e ? json_string_value(json_object_get(e, "detail")) : NULL;
		char dd[200];
		snprintf(dd, sizeof(dd), "%s", d ? d : "");
		for (char *p = dd; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		rc = mtk_err_set(err, MTK_E_REJECTED, "ACME: authorization %s%s%s", st ? st : "?",
				 dd[0] ? ": " : "", dd);
	}
out:
	if (a->c->acme_webroot != NULL && a->token[0] != '\0')
		(void)webroot_file(a, false, NULL);
	a->token[0] = '\0';
	json_decref(az);
	json_decref(fin);
	return rc;
}

static mtk_rc load_account_key(acme *a, mtk_err *err)
{
	mtk_buf b = MTK_BUF_SECRET_INIT;
	mtk_rc rc;

	if (a->c->acme_account_key == NULL)
		return mtk_err_set(err, MTK_E_CONFIG, "issuer acme needs acme_account_key");
	rc = mtk_key_load(a->c->acme_account_key, NULL, &a->key, err);
	if (rc != MTK_E_NOENT)
		return rc;
	/* the first run creates the account key, 0600 */
	mtk_err_clear(err);
	if ((rc = mtk_key_generate("ec:P-256", &a->key, err)) != MTK_OK ||
	    (rc = mtk_key_pkcs8_pem(a->key, &b, err)) != MTK_OK ||
	    (rc = mtk_file_write(a->c->acme_account_key, b.data, b.len, MTK_WRITE_SECRET, err)) !=
		MTK_OK) {
		EVP_PKEY_free(a->key);
		a->key = NULL;
	}
	mtk_buf_free(&b);
	return rc;
}

mtk_rc trk_acme_issue(const mtk_track_conf *c, const mtk_track_env *env, X509_REQ *csr,
		      X509 *old, X509 **leaf, STACK_OF(X509) **cas, mtk_err *err)
{
	acme a;
	json_t *order = NULL, *ids = NULL, *fin = NULL, *p = NULL;
	unsigned char *der = NULL;
	char order_url[1024] = "", *csr_b64 = NULL, *ps = NULL;
	const char *st, *cert_url;
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	size_t i;
	json_t *az;
	int dl;
	mtk_rc rc;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.env = env;
	(void)pthread_once(&cu_once, cu_load);
	if (!cu.ok)
		return mtk_err_set(err, MTK_E_UNSUPPORTED,
				   "issuer acme needs libcurl (libcurl.so.4, Debian package libcurl4)");
	if ((a.curl = cu.easy_init()) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "curl");
	if ((rc = load_account_key(&a, err)) != MTK_OK || (rc = jwk_of(&a, err)) != MTK_OK ||
	    (rc = responder_start(&a, err)) != MTK_OK)
		goto out;
	if ((rc = http(&a, c->acme_directory, NULL, false, err)) != MTK_OK)
		goto out;
	if (a.status != 200 || (a.dir = body_json(&a)) == NULL || dir_url(&a, "newNonce") == NULL ||
	    dir_url(&a, "newAccount") == NULL || dir_url(&a, "newOrder") == NULL) {
		rc = mtk_err_set(err, MTK_E_MALFORMED, "%s: not an ACME directory (HTTP %ld)",
				 c->acme_directory, a.status);
		goto out;
	}
	if ((rc = account(&a, err)) != MTK_OK)
		goto out;
	/* the order */
	ids = identifiers(old);
	p = ids ? json_pack("{s:O}", "identifiers", ids) : NULL;
	ps = p ? json_dumps(p, JSON_COMPACT) : NULL;
	if (ps == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "ACME order");
		goto out;
	}
	if ((rc = post(&a, dir_url(&a, "newOrder"), ps, err)) != MTK_OK)
		goto out;
	if (a.status != 201 || (order = body_json(&a)) == NULL || a.location[0] == '\0') {
		rc = problem(&a, "newOrder", err);
		goto out;
	}
	snprintf(order_url, sizeof(order_url), "%s", a.location);
	json_array_foreach(json_object_get(order, "authorizations"), i, az)
	{
		if (json_string_value(az) == NULL) {
			rc = mtk_err_set(err, MTK_E_MALFORMED, "ACME order: bad authorization");
			goto out;
		}
		if ((rc = authorize(&a, json_string_value(az), err)) != MTK_OK)
			goto out;
	}
	/* finalize with our CSR */
	if ((dl = i2d_X509_REQ(csr, &der)) <= 0 || (csr_b64 = b64url_dup(der, (size_t)dl)) == NULL) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "CSR");
		goto out;
	}
	json_decref(p);
	free(ps);
	p = json_pack("{s:s}", "csr", csr_b64);
	ps = p ? json_dumps(p, JSON_COMPACT) : NULL;
	if (ps == NULL || json_string_value(json_object_get(order, "finalize")) == NULL) {
		rc = mtk_err_set(err, MTK_E_MALFORMED, "ACME order: no finalize URL");
		goto out;
	}
	if ((rc = post(&a, json_string_value(json_object_get(order, "finalize")), ps, err)) !=
	    MTK_OK)
		goto out;
	if (a.status != 200) {
		rc = problem(&a, "finalize", err);
		goto out;
	}
	if ((rc = poll_status(&a, order_url, "order", &fin, err)) != MTK_OK)
		goto out;
	st = json_string_value(json_object_get(fin, "status"));
	cert_url = json_string_value(json_object_get(fin, "certificate"));
	if (st == NULL || strcmp(st, "valid") != 0 || cert_url == NULL) {
		rc = mtk_err_set(err, MTK_E_REJECTED, "ACME order: %s", st ? st : "no status");
		goto out;
	}
	if ((rc = post(&a, cert_url, "", err)) != MTK_OK)
		goto out;
	if (a.status != 200) {
		rc = problem(&a, "certificate", err);
		goto out;
	}
	if ((rc = mtk_load_mem(&set, "ACME certificate", a.body.data, a.body.len, &lo, NULL, NULL,
			       err)) != MTK_OK ||
	    (rc = mtk_set_certs(&set, cas, err)) != MTK_OK)
		goto out;
	if (sk_X509_num(*cas) == 0) {
		sk_X509_free(*cas);
		*cas = NULL;
		rc = mtk_err_set(err, MTK_E_NOT_FOUND, "ACME: the certificate URL gave no certificate");
		goto out;
	}
	*leaf = sk_X509_shift(*cas); /* RFC 8555 7.4.2: the end-entity first */
out:
	mtk_set_free(&set);
	OPENSSL_free(der);
	free(csr_b64);
	free(ps);
	json_decref(p);
	json_decref(ids);
	json_decref(order);
	json_decref(fin);
	json_decref(a.dir);
	mtk_buf_free(&a.body);
	if (a.http != NULL)
		evhttp_free(a.http);
	if (a.base != NULL)
		event_base_free(a.base);
	EVP_PKEY_free(a.key);
	cu.easy_cleanup(a.curl);
	return rc;
}
