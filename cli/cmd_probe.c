/*
 * cmd_probe.c - `mtlskit probe HOST[:PORT]`: see a TLS server as its clients
 * see it (chain, trust, client CA list), test an mTLS handshake with a given
 * identity, detect TLS interception, and check ServiceNow readiness.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "mtlskit/buf.h"
#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/file.h"
#include "mtlskit/hostport.h"
#include "mtlskit/load.h"
#include "mtlskit/pem.h"
#include "mtlskit/probe.h"

static const char usage[] =
	"Usage: mtlskit probe [options] HOST[:PORT]\n"
	"\n"
	"Connect to a TLS server and show what a client sees: protocol, cipher, ALPN,\n"
	"the certificate chain as sent, its verification, OCSP stapling, whether the\n"
	"server asks for a client certificate and which CAs it accepts.  PORT defaults\n"
	"to 443; an IPv6 address is written [ADDR]:PORT.\n"
	"\n"
	"Connection:\n"
	"  --sni NAME              server name to send (default: HOST when it is a name)\n"
	"  --proxy http://H:P      go through an HTTP CONNECT proxy\n"
	"  --connect-timeout T     per connection attempt (default 10s; T: 5, 5s, 500ms)\n"
	"  --timeout T             the whole probe (default 30s)\n"
	"  --ca FILE               verify the server chain against FILE (default: system store)\n"
	"Client certificate (test an mTLS handshake):\n"
	"  --cert BUNDLE [--key KEY]   PEM/DER bundle (leaf, chain, key)\n"
	"  --pfx FILE              PKCS#12 / PFX\n"
	"  --keystore KS --alias A JKS / JCEKS / PKCS#12 keystore entry\n"
	"  --pass SPEC             password for the PFX, keystore or encrypted key\n"
	"HTTP:\n"
	"  --http PATH             send one HTTP/1.1 request after the handshake\n"
	"  --method HEAD|GET       (default HEAD; a HEAD that gets no answer, 405 or 501 is\n"
	"                          sent again as GET unless --method HEAD was given)\n"
	"  --http-timeout T        the HTTP stage's own limit (default 5s): the TLS result\n"
	"                          is reported even when the HTTP stage fails\n"
	"Checks:\n"
	"  --expect-issuer TEXT    the chain must be issued by a CA whose name contains TEXT\n"
	"  --servicenow            ServiceNow instance readiness for mTLS (ADCv2: HEAD / or GET /,\n"
	"                          /adcv2/supports_tls then /adc/supports_tls, public chain)\n"
	"Output:\n"
	"  --save-chain FILE       write the server chain leaf -> root as PEM\n"
	"  --save-dir DIR          write leaf.pem, intermediate-N.pem, root.pem into DIR\n"
	"  --json, --force         (common options)\n"
	"\n"
	"Exit status: 0 ok, 1 findings with errors, 2 usage, 3 unreadable identity,\n"
	"4 wrong password, 5 network, TLS or HTTP failure, or a deadline passed (also:\n"
	"client certificate rejected).\n";

enum {
	OPT_SNI = CLI_OPT__VERB_BASE,
	OPT_PROXY,
	OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT,
	OPT_CA,
	OPT_CERT,
	OPT_KEY,
	OPT_PFX,
	OPT_KEYSTORE,
	OPT_ALIAS,
	OPT_HTTP,
	OPT_METHOD,
	OPT_EXPECT_ISSUER,
	OPT_SERVICENOW,
	OPT_SAVE_CHAIN,
	OPT_SAVE_DIR,
	OPT_HTTP_TIMEOUT,
};

static const struct option longopts[] = {
	{"sni", required_argument, NULL, OPT_SNI},
	{"proxy", required_argument, NULL, OPT_PROXY},
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"ca", required_argument, NULL, OPT_CA},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"pfx", required_argument, NULL, OPT_PFX},
	{"keystore", required_argument, NULL, OPT_KEYSTORE},
	{"alias", required_argument, NULL, OPT_ALIAS},
	{"http", required_argument, NULL, OPT_HTTP},
	{"method", required_argument, NULL, OPT_METHOD},
	{"expect-issuer", required_argument, NULL, OPT_EXPECT_ISSUER},
	{"servicenow", no_argument, NULL, OPT_SERVICENOW},
	{"save-chain", required_argument, NULL, OPT_SAVE_CHAIN},
	{"save-dir", required_argument, NULL, OPT_SAVE_DIR},
	{"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
	CLI_COMMON_LONGOPTS,
};

typedef struct probe_args {
	const char *sni, *proxy, *ca, *cert, *key, *pfx, *keystore, *alias;
	const char *http, *method, *expect_issuer, *save_chain, *save_dir;
	long connect_timeout_ms, timeout_ms, http_timeout_ms;
	bool servicenow;
} probe_args;

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	probe_args *a = ctx;

	switch (opt) {
	case OPT_SNI: a->sni = arg; break;
	case OPT_PROXY: a->proxy = arg; break;
	case OPT_CA: a->ca = arg; break;
	case OPT_CERT: a->cert = arg; break;
	case OPT_KEY: a->key = arg; break;
	case OPT_PFX: a->pfx = arg; break;
	case OPT_KEYSTORE: a->keystore = arg; break;
	case OPT_ALIAS: a->alias = arg; break;
	case OPT_HTTP: a->http = arg; break;
	case OPT_EXPECT_ISSUER: a->expect_issuer = arg; break;
	case OPT_SERVICENOW: a->servicenow = true; break;
	case OPT_SAVE_CHAIN: a->save_chain = arg; break;
	case OPT_SAVE_DIR: a->save_dir = arg; break;
	case OPT_METHOD:
		if (strcasecmp(arg, "HEAD") != 0 && strcasecmp(arg, "GET") != 0)
			return cli_usage_error(c, usage, "--method must be HEAD or GET");
		a->method = strcasecmp(arg, "HEAD") == 0 ? "HEAD" : "GET";
		break;
	case OPT_CONNECT_TIMEOUT:
	case OPT_HTTP_TIMEOUT:
	case OPT_TIMEOUT: {
		int64_t ms = 0;
		int st = cli_duration(c,
				      opt == OPT_TIMEOUT	  ? "--timeout"
				      : opt == OPT_HTTP_TIMEOUT ? "--http-timeout"
								: "--connect-timeout",
				      arg, MTK_MS_SECOND, 1, MTK_MS_DAY, &ms);

		if (st != 0)
			return st;
		if (opt == OPT_TIMEOUT)
			a->timeout_ms = ms;
		else if (opt == OPT_HTTP_TIMEOUT)
			a->http_timeout_ms = ms;
		else
			a->connect_timeout_ms = ms;
		break;
	}
	default:
		return cli_usage_error(c, usage, "unexpected option");
	}
	return 0;
}

/* ---- the client identity ---- */

typedef struct identity {
	mtk_set set;
	mtk_chain chain;
	bool loaded;
	const char *source;
} identity;

static void identity_free(identity *id)
{
	if (id->loaded)
		mtk_chain_free(&id->chain);
	mtk_set_free(&id->set);
}

/* Keeps only the objects of set that carry alias (a keystore entry). */
static mtk_rc filter_alias(mtk_set *set, const char *alias, const char *file, mtk_err *err)
{
	mtk_set kept = MTK_SET_INIT;
	bool found = false;

	for (size_t i = 0; i < set->count; i++) {
		mtk_obj o = set->objs[i];
		bool mine = o.alias != NULL && strcasecmp(o.alias, alias) == 0;

		/* CA certificates of a PFX carry no name; the chain builder uses
		 * them only if they issue the entry's certificate. */
		if (!mine && !(o.alias == NULL && o.kind == MTK_OBJ_CERT))
			continue;
		found |= mine;
		if ((o.cert && !X509_up_ref(o.cert)) || (o.key && !EVP_PKEY_up_ref(o.key))) {
			mtk_set_free(&kept);
			return mtk_err_set(err, MTK_E_NOMEM, "%s", file);
		}
		o.csr = NULL;
		o.crl = NULL;
		if (mtk_set_add(&kept, &o) != MTK_OK) {
			X509_free(o.cert);
			EVP_PKEY_free(o.key);
			mtk_set_free(&kept);
			return mtk_err_set(err, MTK_E_NOMEM, "%s", file);
		}
	}
	if (!found) {
		mtk_set_free(&kept);
		return mtk_err_set(err, MTK_E_NOT_FOUND, "%s: no entry with alias '%s'", file, alias);
	}
	mtk_set_free(set);
	*set = kept;
	return MTK_OK;
}

static mtk_rc load_identity(cli *c, const probe_args *a, identity *id, mtk_err *err)
{
	mtk_secret *pass = NULL;
	mtk_load_opts lo = {0};
	const char *main_file = a->cert ? a->cert : a->pfx ? a->pfx : a->keystore;
	mtk_rc rc;

	id->source = main_file;
	rc = cli_password(c, CLI_PASS_IN, "Password: ", a->pfx != NULL || a->keystore != NULL,
			  &pass, err);
	if (rc != MTK_OK)
		return rc;
	lo.pass = pass;
	lo.require_decrypt = true;
	rc = mtk_load_file(&id->set, main_file, &lo, NULL, NULL, err);
	if (rc == MTK_OK && a->key != NULL)
		rc = mtk_load_file(&id->set, a->key, &lo, NULL, NULL, err);
	mtk_secret_free(pass);
	if (rc != MTK_OK)
		return rc;
	if (a->alias != NULL) {
		rc = filter_alias(&id->set, a->alias, main_file, err);
		if (rc != MTK_OK)
			return rc;
	}
	rc = mtk_chain_build(&id->set, NULL, 0, &id->chain, err);
	if (rc != MTK_OK)
		return rc;
	id->loaded = true;
	if (id->chain.key == NULL || !id->chain.key_matches)
		return mtk_err_set(err, id->chain.nkeys ? MTK_E_KEY_MISMATCH : MTK_E_NOT_FOUND,
				   "%s: %s", main_file,
				   id->chain.nkeys ? "the private key does not match the certificate"
						   : "no private key (give it with --key)");
	return MTK_OK;
}

/* How a CA name from the server's list relates to the identity: the leaf's
 * issuer ("issuer"), another CA of its chain ("chain"), or nothing. */
static const char *ca_name_match(const identity *id, const X509_NAME *name)
{
	if (!id->loaded)
		return NULL;
	if (X509_NAME_cmp(name, X509_get_issuer_name(id->chain.leaf)) == 0)
		return "issuer";
	for (int i = 0; i < sk_X509_num(id->chain.cas); i++) {
		X509 *x = sk_X509_value(id->chain.cas, i);
		if (X509_NAME_cmp(name, X509_get_subject_name(x)) == 0 ||
		    X509_NAME_cmp(name, X509_get_issuer_name(x)) == 0)
			return "chain";
	}
	return NULL;
}

/* ---- the server chain ---- */

typedef struct chain_view {
	mtk_set set;
	mtk_chain built;
	bool have_built;
	bool order_ok;
	STACK_OF(X509) *ordered; /* leaf -> root, borrowed refs of built */
} chain_view;

static void chain_view_free(chain_view *v)
{
	if (v->have_built)
		mtk_chain_free(&v->built);
	sk_X509_free(v->ordered);
	mtk_set_free(&v->set);
}

static mtk_rc analyze_chain(STACK_OF(X509) *sent, const char *where, chain_view *v, mtk_err *err)
{
	mtk_rc rc;

	memset(v, 0, sizeof(*v));
	v->order_ok = true;
	if (sent == NULL || sk_X509_num(sent) == 0)
		return MTK_OK;
	for (int i = 0; i < sk_X509_num(sent); i++) {
		mtk_obj o = {0};

		o.kind = MTK_OBJ_CERT;
		o.source = (char *)where;
		o.index = i;
		o.cert = sk_X509_value(sent, i);
		if (!X509_up_ref(o.cert))
			return mtk_err_set(err, MTK_E_NOMEM, "chain");
		if (mtk_set_add(&v->set, &o) != MTK_OK) {
			X509_free(o.cert);
			return mtk_err_set(err, MTK_E_NOMEM, "chain");
		}
	}
	/* The sent order is right when each certificate is issued by the next. */
	for (int i = 0; i + 1 < sk_X509_num(sent); i++)
		if (!mtk_cert_issued_by(sk_X509_value(sent, i), sk_X509_value(sent, i + 1)))
			v->order_ok = false;
	rc = mtk_chain_build(&v->set, NULL, MTK_CHAIN_NO_KEY_OK, &v->built, err);
	if (rc != MTK_OK)
		return rc;
	v->have_built = true;
	v->ordered = sk_X509_new_null();
	if (v->ordered == NULL || !sk_X509_push(v->ordered, v->built.leaf))
		return mtk_err_set(err, MTK_E_NOMEM, "chain");
	for (int i = 0; i < sk_X509_num(v->built.cas); i++)
		if (!sk_X509_push(v->ordered, sk_X509_value(v->built.cas, i)))
			return mtk_err_set(err, MTK_E_NOMEM, "chain");
	return MTK_OK;
}

static mtk_rc pem_of(mtk_buf *out, X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	mtk_rc rc;

	if (len <= 0)
		return MTK_E_CRYPTO;
	rc = mtk_pem_encode(out, "CERTIFICATE", der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

static mtk_rc save_outputs(cli *c, const probe_args *a, const chain_view *v, json_t *saved,
			   mtk_err *err)
{
	unsigned flags = c->force ? MTK_WRITE_FORCE : 0;
	mtk_outset *os = NULL;
	mtk_buf all = MTK_BUF_INIT;
	mtk_rc rc = MTK_OK;
	int n = v->ordered ? sk_X509_num(v->ordered) : 0;

	if (a->save_chain == NULL && a->save_dir == NULL)
		return MTK_OK;
	if (n == 0)
		return mtk_err_set(err, MTK_E_NOT_FOUND, "the server sent no certificate to save");
	os = mtk_outset_new();
	if (os == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "save");
	if (a->save_chain != NULL) {
		for (int i = 0; i < n && rc == MTK_OK; i++)
			rc = pem_of(&all, sk_X509_value(v->ordered, i));
		if (rc == MTK_OK)
			rc = mtk_outset_add(os, a->save_chain, all.data, all.len, flags, err);
		if (rc != MTK_OK)
			goto out;
		json_array_append_new(saved, json_string(a->save_chain));
	}
	if (a->save_dir != NULL) {
		struct stat sb;
		int inter = 0;

		if (mkdir(a->save_dir, 0755) != 0 && errno != EEXIST) {
			rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", a->save_dir, strerror(errno));
			goto out;
		}
		if (stat(a->save_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			rc = mtk_err_set(err, MTK_E_WRITE, "%s: not a directory", a->save_dir);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			X509 *x = sk_X509_value(v->ordered, i);
			mtk_buf one = MTK_BUF_INIT;
			char path[4096];
			bool root = i > 0 && i == n - 1 && v->built.complete;

			if (i == 0)
				snprintf(path, sizeof(path), "%s/leaf.pem", a->save_dir);
			else if (root)
				snprintf(path, sizeof(path), "%s/root.pem", a->save_dir);
			else
				snprintf(path, sizeof(path), "%s/intermediate-%d.pem", a->save_dir, ++inter);
			rc = pem_of(&one, x);
			if (rc == MTK_OK)
				rc = mtk_outset_add(os, path, one.data, one.len, flags, err);
			mtk_buf_free(&one);
			if (rc != MTK_OK)
				goto out;
			json_array_append_new(saved, json_string(path));
		}
	}
	rc = mtk_outset_commit(os, err);
out:
	if (rc != MTK_OK && err->code == MTK_OK)
		mtk_err_set(err, rc, "save");
	mtk_buf_free(&all);
	mtk_outset_free(os);
	return rc;
}

/* ---- JSON of what was seen ---- */

static json_t *cert_json(cli *c, X509 *x, int index, const char *intercept)
{
	mtk_cert_summary s;
	mtk_err e = {0};
	json_t *o;

	if (mtk_cert_summarize(x, &s, &e) != MTK_OK)
		return json_pack("{s:i, s:s}", "index", index, "error", e.detail);
	/* The shared certificate object (render.c), with its place in what
	 * the server sent. */
	if ((o = cli_cert_json(&s, c->now)) == NULL)
		return NULL;
	json_object_set_new(o, "index", json_integer(index));
	if (intercept != NULL)
		json_object_set_new(o, "interception_product", json_string(intercept));
	return o;
}

/* ---- findings about the server ---- */

static void chain_findings(cli *c, const probe_args *a, const mtk_probe_result *r,
			   const chain_view *v, const char *where, json_t *result)
{
	int n = r->chain ? sk_X509_num(r->chain) : 0;
	const char *product = NULL;
	char product_issuer[512] = "";
	bool expect_ok = a->expect_issuer == NULL;

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(r->chain, i);
		mtk_cert_summary s;
		mtk_err e = {0};
		long days;
		const char *p = mtk_intercept_name(X509_get_issuer_name(x));

		if (p != NULL && product == NULL) {
			product = p;
			mtk_name_string(X509_get_issuer_name(x), product_issuer, sizeof(product_issuer));
		}
		if (mtk_cert_summarize(x, &s, &e) != MTK_OK)
			continue;
		if (!expect_ok && strcasestr(s.issuer, a->expect_issuer) != NULL)
			expect_ok = true;
		days = mtk_days_left(s.not_after, c->now);
		if (s.not_before > c->now)
			(void)!mtk_findings_add(&c->findings, MTK_F_CERT_NOT_YET_VALID, MTK_SEV_ERROR, NULL, 0,
						where, NULL, "server certificate %d (%s) is not valid yet", i,
						s.subject);
		else if (days < 0)
			(void)!mtk_findings_add(&c->findings, MTK_F_CERT_EXPIRED, MTK_SEV_ERROR, NULL, 0,
						where, NULL, "server certificate %d (%s) expired %ld days ago",
						i, s.subject, -days);
		else if (days < 30)
			(void)!mtk_findings_add(&c->findings, MTK_F_CERT_EXPIRING, MTK_SEV_WARNING, NULL, 0,
						where, NULL,
						"server certificate %d (%s) expires in %ld days", i,
						s.subject, days);
	}
	if (n > 1 && !v->order_ok)
		(void)!mtk_findings_add(&c->findings, MTK_F_CHAIN_ORDER, MTK_SEV_WARNING, NULL, 0, where,
					NULL,
					"the server sends its chain out of order (each certificate "
					"should be followed by its issuer); strict clients may fail");
	if (n > 0 && !r->verified && r->verify_code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY &&
	    v->have_built && !v->built.complete && product == NULL)
		(void)!mtk_findings_add_advice(&c->findings, MTK_F_CHAIN_INCOMPLETE, MTK_SEV_WARNING, NULL, 0,
					where, NULL, "configure the server to send its intermediate CA certificates "
					"(or, for a private CA, give it with --ca)",
					"the chain the server sends stops at an issuer it does not send and "
					"%s does not hold: an intermediate CA is missing, or the CA is "
					"private", a->ca ? a->ca : "the system trust store");
	if (n > 0 && a->ca != NULL && !r->verified)
		(void)!mtk_findings_add(&c->findings, MTK_F_CHAIN_UNTRUSTED, MTK_SEV_ERROR, NULL, 0, where,
					NULL, "the server chain does not lead to a CA in %s: %s", a->ca,
					r->verify_error);
	if (product != NULL || !expect_ok) {
		char fix[1400];
		json_t *ic;

		snprintf(fix, sizeof(fix),
			 "ask the proxy administrators to exempt %s from TLS inspection (SSL bypass / "
			 "do-not-decrypt rule), then run: mtlskit probe %s%s%s",
			 a->sni ? a->sni : where, where, a->expect_issuer ? " --expect-issuer " : "",
			 a->expect_issuer ? a->expect_issuer : "");
		if (product != NULL)
			(void)!mtk_findings_add_advice(&c->findings, MTK_F_TLS_INTERCEPTED, MTK_SEV_ERROR, NULL, 0,
						where, NULL, fix,
						"the chain is issued by %s (%s), a TLS-inspecting proxy: it "
						"replaces the server's certificate and strips the client "
						"certificate, so mTLS to this host fails",
						product, product_issuer);
		else
			(void)!mtk_findings_add_advice(&c->findings, MTK_F_TLS_INTERCEPTED, MTK_SEV_ERROR, NULL, 0,
						where, NULL, fix,
						"no certificate of the chain is issued by a CA matching '%s': "
						"something between here and the server (a TLS-inspecting "
						"proxy?) presents its own certificate and will strip the "
						"client certificate",
						a->expect_issuer);
		ic = json_pack("{s:b}", "detected", 1);
		json_object_set_new(ic, "product", product ? json_string(product) : json_null());
		if (!expect_ok)
			json_object_set_new(ic, "expected_issuer_missing", json_string(a->expect_issuer));
		json_object_set_new(result, "interception", ic);
	} else {
		json_object_set_new(result, "interception", json_pack("{s:b, s:n}", "detected", 0,
									  "product"));
	}
}

/* ---- the HTTP stage ---- */

/* Runs the probe with an HTTP request.  A failure in the HTTP stage after a
 * good handshake is not the probe's failure: r keeps everything learned
 * (chain, verification, client-certificate view) and *http_error says what
 * went wrong with the request.  A HEAD that gets no answer (timeout, the
 * connection closed) or 405/501 is sent again as GET on a new connection
 * when may_fallback (servers and appliances that ignore HEAD exist);
 * *method_used names the request whose answer r holds. */
static mtk_rc probe_http(const mtk_probe_opts *base, bool may_fallback, mtk_probe_result *r,
			 const char **method_used, char *http_error, size_t cap, mtk_rc *http_rc,
			 mtk_err *err)
{
	mtk_probe_opts o = *base;
	mtk_probe_result r2;
	mtk_err e2 = {0};
	uint64_t t0 = o.clock_ms(o.clock_ctx);
	long total = o.timeout_ms > 0 ? o.timeout_ms : 30000, left;
	mtk_rc rc;
	bool retry;

	http_error[0] = '\0';
	*http_rc = MTK_OK;
	*method_used = o.http_method;
	rc = mtk_probe_run(&o, r, err);
	if (rc != MTK_OK && rc != MTK_E_NOMEM && r->handshake_done && r->stage == MTK_STAGE_HTTP) {
		snprintf(http_error, cap, "%s", err->detail);
		*http_rc = rc;
		mtk_err_clear(err);
		rc = MTK_OK;
	}
	if (rc != MTK_OK || o.http_path == NULL)
		return rc;
	/* The GET gets what is left of the whole probe's time, not more. */
	left = total - (long)(o.clock_ms(o.clock_ctx) - t0);
	retry = may_fallback && strcmp(o.http_method, "HEAD") == 0 && left > 100 &&
		((!r->http_done && r->http.status == 0) || r->http.status == 405 ||
		 r->http.status == 501);
	if (!retry)
		return MTK_OK;
	memset(&r2, 0, sizeof(r2));
	o.http_method = "GET";
	o.timeout_ms = left;
	rc = mtk_probe_run(&o, &r2, &e2);
	if (rc == MTK_OK && r2.http_done) {
		mtk_http_response t = r->http;
		r->http = r2.http;
		r2.http = t;
		r->http_done = true;
		*method_used = "GET";
		http_error[0] = '\0';
		*http_rc = MTK_OK;
	} else if (rc != MTK_OK && http_error[0] == '\0') {
		snprintf(http_error, cap, "%s", e2.detail);
		*http_rc = rc;
	}
	mtk_probe_result_free(&r2);
	return rc == MTK_E_NOMEM ? mtk_err_set(err, rc, "HTTP") : MTK_OK;
}

/* ---- --servicenow ---- */

static void not_ready(cli *c, const char *where, const char *fix, const char *msg)
{
	/* What makes an instance ready is done in the instance (or by
	 * ServiceNow support): advice, never a command. */
	(void)!mtk_findings_add_advice(&c->findings, MTK_F_INSTANCE_NOT_READY, MTK_SEV_ERROR, NULL, 0,
				       where, NULL, fix, "%s", msg);
}

static mtk_rc servicenow_checks(cli *c, const mtk_probe_opts *base, const char *where,
				json_t *out, mtk_err *err)
{
	mtk_probe_opts o = *base;
	static const char *const paths[] = {"/adcv2/supports_tls", "/adc/supports_tls"};
	mtk_probe_result r1, r2;
	const char *server, *m1 = "HEAD", *m2 = "GET", *path = paths[0];
	char body[64] = "", word[64], e1[512], e2[512];
	int status = 0;
	mtk_rc rc, hrc;
	bool adc, tls_ok = false, public_ok;

	/* The readiness checks are about the instance, not the identity. */
	o.cert = NULL;
	o.key = NULL;
	o.chain = NULL;
	o.ca_file = NULL;
	o.http_method = "HEAD";
	o.http_path = "/";
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	/* HEAD / (GET / when HEAD gets no answer): the Server header. */
	rc = probe_http(&o, true, &r1, &m1, e1, sizeof(e1), &hrc, err);
	if (rc != MTK_OK) {
		mtk_probe_result_free(&r1);
		return rc;
	}
	server = r1.http_done ? mtk_http_header_get(&r1.http, "Server") : NULL;
	adc = server != NULL && strcasestr(server, "snow_adc") != NULL;
	public_ok = r1.verified;
	/* The articles name /adcv2/supports_tls; older instances answer on
	 * /adc/supports_tls: the first that says true or mixed wins. */
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]) && !tls_ok; p++) {
		if (p > 0)
			mtk_probe_result_free(&r2);
		memset(&r2, 0, sizeof(r2));
		o.http_method = "GET";
		o.http_path = paths[p];
		rc = probe_http(&o, false, &r2, &m2, e2, sizeof(e2), &hrc, err);
		if (rc != MTK_OK) {
			mtk_probe_result_free(&r1);
			mtk_probe_result_free(&r2);
			return rc;
		}
		word[0] = '\0';
		if (r2.http_done && r2.http.status == 200) {
			mtk_reader rd;
			size_t n = 0;
			uint8_t ch;

			/* The answer is a bare word, maybe quoted or followed by a newline. */
			mtk_reader_init(&rd, r2.http.body.data, r2.http.body.len);
			while (mtk_reader_u8(&rd, &ch) == MTK_OK && n + 1 < sizeof(word))
				if (ch != '"' && ch != ' ' && ch != '\r' && ch != '\n' && ch != '\t')
					word[n++] = (char)ch;
			word[n] = '\0';
		}
		tls_ok = strcasecmp(word, "true") == 0 || strcasecmp(word, "mixed") == 0;
		/* Reported: the answer that says yes, else the first path's. */
		if (p == 0 || tls_ok) {
			snprintf(body, sizeof(body), "%s", word);
			path = paths[p];
			status = r2.http_done ? r2.http.status : 0;
		}
	}
	/* What the server said is kept escaped (cli_json_printable): the text
	 * output prints these strings. */
	json_object_set_new(out, "servicenow",
			    json_pack("{s:b, s:o?, s:s, s:o?, s:i, s:s, s:o, s:o?, s:b, s:b, s:b}", "adcv2",
				      adc, "server", server ? cli_json_printable(server) : NULL,
				      "server_request", m1, "server_error",
				      e1[0] ? cli_json_printable(e1) : NULL, "supports_tls_status",
				      status, "supports_tls_path", path,
				      "supports_tls", cli_json_printable(body), "supports_tls_error",
				      e2[0] ? cli_json_printable(e2) : NULL, "supports_tls_ok", tls_ok,
				      "public_chain", public_ok, "ready", adc && tls_ok && public_ok));
	(void)m2;
	if (!adc)
		not_ready(c, where,
			  "ask ServiceNow support to move the instance to the ADCv2 load balancer "
			  "(needed for MID Server mTLS); check with: curl -sI https://INSTANCE/",
			  server ? "HEAD / answers without 'Server: snow_adc': the instance is not "
				   "behind ADCv2, which mutual TLS needs"
				 : "HEAD / answers with no Server header: the instance is not behind "
				   "ADCv2 (or a proxy rewrote the answer)");
	if (!tls_ok)
		not_ready(c, where,
			  "ask ServiceNow support to enable client-certificate authentication "
			  "(mTLS) on the instance's ADC",
			  "neither GET /adcv2/supports_tls nor /adc/supports_tls answers 'true' or "
			  "'mixed': client certificates are not enabled on the instance");
	if (!public_ok)
		not_ready(c, where,
			  "exempt the instance from TLS inspection, or fix this system's CA store",
			  "the instance's chain does not verify against this system's public CAs "
			  "(a TLS-inspecting proxy or a private CA is in the way)");
	mtk_probe_result_free(&r1);
	mtk_probe_result_free(&r2);
	return MTK_OK;
}

/* ---- text output ---- */

static void print_text(cli *c, const json_t *res)
{
	json_t *tls = json_object_get(res, "tls"), *chain = json_object_get(res, "chain");
	json_t *ver = json_object_get(res, "verification"), *hn = json_object_get(res, "hostname");
	json_t *ocsp = json_object_get(res, "ocsp"), *ca = json_object_get(res, "client_auth");
	json_t *http = json_object_get(res, "http"), *sn = json_object_get(res, "servicenow");
	json_t *saved = json_object_get(res, "saved"), *v;
	size_t i;

	printf("Server:     %s (%s)%s%s\n", json_string_value(json_object_get(res, "target")),
	       json_string_value(json_object_get(res, "address")),
	       json_object_get(res, "proxy") ? " via proxy " : "",
	       json_object_get(res, "proxy") ? json_string_value(json_object_get(res, "proxy")) : "");
	if (tls != NULL) {
		const char *alpn = json_string_value(json_object_get(tls, "alpn"));
		printf("TLS:        %s, %s, ALPN %s\n", json_string_value(json_object_get(tls, "protocol")),
		       json_string_value(json_object_get(tls, "cipher")), alpn && alpn[0] ? alpn : "(none)");
	}
	printf("Chain:      %zu certificate(s) sent%s\n", json_array_size(chain),
	       json_is_true(json_object_get(res, "chain_order_ok")) ? "" : ", NOT in leaf -> root order");
	json_array_foreach(chain, i, v) {
		printf("  %zu: %s\n     issuer %s\n     expires %s (%lld days)%s\n", i,
		       json_string_value(json_object_get(v, "subject")),
		       json_string_value(json_object_get(v, "issuer")),
		       json_string_value(json_object_get(v, "not_after")),
		       (long long)json_integer_value(json_object_get(v, "days_left")),
		       json_object_get(v, "interception_product") ? "  [TLS inspection CA]" : "");
	}
	if (ver != NULL)
		printf("Trust:      %s against %s%s%s\n",
		       json_is_true(json_object_get(ver, "verified")) ? "verified" : "NOT verified",
		       json_string_value(json_object_get(ver, "trust")),
		       json_is_true(json_object_get(ver, "verified")) ? "" : ": ",
		       json_is_true(json_object_get(ver, "verified"))
			       ? ""
			       : json_string_value(json_object_get(ver, "error")));
	if (hn != NULL && json_object_get(hn, "match") != NULL)
		printf("Host name:  %s %s the certificate\n",
		       json_string_value(json_object_get(hn, "name")),
		       json_is_true(json_object_get(hn, "match")) ? "matches" : "does NOT match");
	if (ocsp != NULL) {
		if (json_is_true(json_object_get(ocsp, "stapled")))
			printf("OCSP:       stapled, response %s%s%s\n",
			       json_string_value(json_object_get(ocsp, "response_status")),
			       json_object_get(ocsp, "cert_status") ? ", certificate " : "",
			       json_object_get(ocsp, "cert_status")
				       ? json_string_value(json_object_get(ocsp, "cert_status"))
				       : "");
		else
			printf("OCSP:       not stapled\n");
	}
	if (ca != NULL) {
		const char *st = json_string_value(json_object_get(ca, "status"));
		json_t *names = json_object_get(ca, "acceptable_cas"), *alert = json_object_get(ca, "alert");

		printf("Client certificate: %s\n",
		       strcmp(st, "none") == 0	       ? "not requested by the server"
		       : strcmp(st, "requested") == 0 ? "requested (optional: the handshake completes without one)"
		       : strcmp(st, "required") == 0  ? "REQUIRED (the server refuses the handshake without one)"
		       : strcmp(st, "accepted") == 0  ? "sent and ACCEPTED"
						      : "sent and REJECTED");
		if ((v = json_object_get(ca, "identity")) != NULL)
			printf("  Yours: %s\n    issuer %s (%lld days left)\n",
			       json_string_value(json_object_get(v, "subject")),
			       json_string_value(json_object_get(v, "issuer")),
			       (long long)json_integer_value(json_object_get(v, "days_left")));
		if (json_is_true(json_object_get(ca, "requested"))) {
			printf("  Acceptable CA names (%zu):%s\n", json_array_size(names),
			       json_array_size(names) == 0 ? " none listed (any CA)" : "");
			json_array_foreach(names, i, v) {
				const char *m = json_string_value(json_object_get(v, "matches"));
				printf("    %s%s\n", json_string_value(json_object_get(v, "name")),
				       m == NULL ? "" : strcmp(m, "issuer") == 0 ? "   <- issuer of your certificate"
										: "   <- CA of your chain");
			}
		}
		if (json_object_get(ca, "note") != NULL)
			printf("  Note: %s\n", json_string_value(json_object_get(ca, "note")));
		if (alert != NULL)
			printf("  Alert from the server: %s\n  Meaning: %s\n",
			       json_string_value(json_object_get(alert, "name")),
			       json_string_value(json_object_get(alert, "explanation")));
	}
	if (http != NULL) {
		json_t *h = json_object_get(http, "headers");
		const char *k;

		const char *sl = json_string_value(json_object_get(http, "status_line"));

		printf("HTTP:       %s -> %s\n", json_string_value(json_object_get(http, "request")),
		       sl ? sl : json_string_value(json_object_get(http, "error")));
		json_object_foreach(h, k, v)
			printf("  %s: %s\n", k, json_string_value(v));
	}
	if (sn != NULL)
		printf("ServiceNow: ADCv2 %s, supports_tls '%s' (%s), public chain %s -> %s\n",
		       json_is_true(json_object_get(sn, "adcv2")) ? "yes" : "NO",
		       json_string_value(json_object_get(sn, "supports_tls")),
		       json_string_value(json_object_get(sn, "supports_tls_path")),
		       json_is_true(json_object_get(sn, "public_chain")) ? "yes" : "NO",
		       json_is_true(json_object_get(sn, "ready")) ? "ready" : "NOT READY");
	json_array_foreach(saved, i, v)
		printf("Saved:      %s\n", json_string_value(v));
	if (c->findings.count > 0) {
		printf("\n");
		cli_print_findings(c, stdout);
	}
}

/* ---- the verb ---- */

static const char *const shown_headers[] = {"Server", "Content-Type", "Content-Length",
					    "Location", "Strict-Transport-Security", "Date",
					    "Connection", "Transfer-Encoding", NULL};

int cmd_probe(cli *c, int argc, char **argv)
{
	probe_args a = {0};
	identity id = {0};
	chain_view cv = {0};
	mtk_probe_opts o = {0};
	mtk_probe_result r;
	const char *http_method = NULL;
	char http_error[512] = "";
	mtk_rc http_rc = MTK_OK;
	mtk_err err = {0};
	char host[256], port[16], phost[256], pport[16], where[300];
	json_t *res = NULL, *chain = NULL, *saved = NULL;
	int first = 0, rcode, nsrc;
	bool have_r = false;
	mtk_rc rc;

	memset(&r, 0, sizeof(r));
	cli_net_begin();
	rcode = cli_parse(c, argc, argv, "", longopts, on_opt, &a, usage, &first);
	if (rcode != 0)
		return rcode;
	if (first != argc - 1)
		return cli_usage_error(c, usage, first >= argc ? "HOST[:PORT] is needed"
							      : "only one HOST[:PORT] at a time");
	nsrc = (a.cert != NULL) + (a.pfx != NULL) + (a.keystore != NULL);
	if (nsrc > 1)
		return cli_usage_error(c, usage, "give one of --cert, --pfx, --keystore");
	if (a.key != NULL && a.cert == NULL)
		return cli_usage_error(c, usage, "--key goes with --cert");
	if (a.alias != NULL && a.keystore == NULL && a.pfx == NULL)
		return cli_usage_error(c, usage, "--alias goes with --keystore or --pfx");
	if (a.keystore != NULL && a.alias == NULL)
		return cli_usage_error(c, usage, "--keystore needs --alias");
	if (a.method != NULL && a.http == NULL)
		return cli_usage_error(c, usage, "--method goes with --http");
	rc = mtk_hostport_parse(argv[first], "443", host, sizeof(host), port, sizeof(port), &err);
	if (rc != MTK_OK)
		return cli_usage_error(c, usage, "%s", err.detail);
	if (a.proxy != NULL) {
		rc = mtk_proxy_url_parse(a.proxy, phost, sizeof(phost), pport, sizeof(pport), &err);
		if (rc != MTK_OK)
			return cli_usage_error(c, usage, "%s", err.detail);
		o.proxy_host = phost;
		o.proxy_port = pport;
	}
	snprintf(where, sizeof(where), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);

	if (nsrc == 1) {
		rc = load_identity(c, &a, &id, &err);
		if (rc != MTK_OK) {
			rcode = cli_error(c, rc, &err);
			goto out;
		}
	}

	o.host = host;
	o.port = port;
	o.sni = a.sni;
	o.connect_timeout_ms = a.connect_timeout_ms;
	o.timeout_ms = a.timeout_ms;
	o.clock_ms = cli_clock_ms;
	o.now = c->now;
	o.ca_file = a.ca;
	o.http_path = a.http;
	o.http_method = a.method ? a.method : "HEAD";
	o.http_timeout_ms = a.http_timeout_ms;
	if (id.loaded) {
		o.cert = id.chain.leaf;
		o.key = id.chain.key;
		o.chain = id.chain.cas;
	}

	res = json_object();
	c->result = res;
	json_object_set_new(res, "target", json_string(where));
	if (a.proxy)
		json_object_set_new(res, "proxy", json_string(a.proxy));
	/* What the handshake learned is reported even when the HTTP stage
	 * fails (timeout, no answer): that failure becomes "http.error". */
	rc = probe_http(&o, a.method == NULL, &r, &http_method, http_error, sizeof(http_error), &http_rc,
			&err);
	have_r = true;
	json_object_set_new(res, "address", json_string(r.address[0] ? r.address : ""));
	json_object_set_new(res, "stage", json_string(mtk_stage_name(r.stage)));
	if (rc != MTK_OK) {
		rcode = cli_error(c, rc, &err);
		goto out;
	}

	if (r.handshake_done)
		json_object_set_new(res, "tls",
				    json_pack("{s:s, s:s, s:s, s:I}", "protocol", r.protocol, "cipher",
					      r.cipher, "alpn", r.alpn, "handshake_ms",
					      (json_int_t)r.handshake_ms));
	rc = analyze_chain(r.chain, where, &cv, &err);
	if (rc != MTK_OK) {
		rcode = cli_error(c, rc, &err);
		goto out;
	}
	chain = json_array();
	for (int i = 0; r.chain && i < sk_X509_num(r.chain); i++) {
		X509 *x = sk_X509_value(r.chain, i);
		json_array_append_new(chain, cert_json(c, x, i, mtk_intercept_name(X509_get_issuer_name(x))));
	}
	json_object_set_new(res, "chain", chain);
	json_object_set_new(res, "chain_order_ok", json_boolean(cv.order_ok));
	json_object_set_new(res, "verification",
			    json_pack("{s:s, s:b, s:I, s:s}", "trust", a.ca ? a.ca : "system",
				      "verified", r.verified, "code", (json_int_t)r.verify_code,
				      "error", r.verify_error));
	if (r.host_match >= 0)
		json_object_set_new(res, "hostname", json_pack("{s:s, s:b}", "name", r.host_checked,
							       "match", r.host_match == 1));
	if (r.handshake_done) {
		json_t *oc = json_pack("{s:b}", "stapled", r.ocsp_stapled);
		if (r.ocsp_stapled) {
			json_object_set_new(oc, "response_status", json_string(r.ocsp_status));
			if (r.ocsp_cert_status[0])
				json_object_set_new(oc, "cert_status", json_string(r.ocsp_cert_status));
		}
		json_object_set_new(res, "ocsp", oc);
	}

	/* client certificate view */
	{
		json_t *ca = json_pack("{s:b, s:s, s:b}", "requested", r.cert_requested, "status",
				       mtk_client_auth_name(r.client_auth), "certificate_sent",
				       r.cert_sent);
		json_t *names = json_array();
		bool any_match = false;
		int nn = r.ca_names ? sk_X509_NAME_num(r.ca_names) : 0;

		for (int i = 0; i < nn; i++) {
			const X509_NAME *nm = sk_X509_NAME_value(r.ca_names, i);
			char buf[512];
			const char *m = ca_name_match(&id, nm);

			mtk_name_string(nm, buf, sizeof(buf));
			any_match |= m != NULL;
			json_array_append_new(names, json_pack("{s:o, s:s?}", "name",
							       cli_json_printable(buf), "matches", m));
		}
		json_object_set_new(ca, "acceptable_cas", names);
		if (id.loaded) {
			mtk_cert_summary s;
			mtk_err e = {0};

			json_t *idj;

			if (mtk_cert_summarize(id.chain.leaf, &s, &e) == MTK_OK &&
			    (idj = cli_cert_json(&s, c->now)) != NULL) {
				json_object_set_new(idj, "file", cli_json_printable(id.source));
				json_object_set_new(ca, "identity", idj);
			}
			if (r.cert_requested && nn > 0 && !any_match)
				json_object_set_new(ca, "note",
						    json_string("the issuer of your certificate is not in the "
								"server's acceptable CA list: Java clients such "
								"as the MID Server send no certificate at all in "
								"that case, and the server will not accept it"));
			if (!r.cert_requested)
				json_object_set_new(ca, "note",
						    json_string("the server did not ask for a client "
								"certificate, so it was not sent"));
		}
		if (r.alert_received >= 0) {
			json_t *al = json_pack("{s:i, s:s, s:s}", "code", r.alert_received, "name",
					       r.alert_text, "explanation",
					       mtk_alert_explain(r.alert_received, r.cert_sent));
			if (id.loaded && r.cert_requested && nn > 0 && !any_match)
				json_object_set_new(al, "likely_cause",
						    json_string("no CA of your certificate's chain is in the "
								"server's acceptable CA list"));
			json_object_set_new(ca, "alert", al);
		}
		json_object_set_new(res, "client_auth", ca);
	}

	if (r.http_done) {
		json_t *h = json_object(), *hj;
		char line[200];

		/* The server's words (reason phrase, header values) are stored
		 * escaped: the text output prints them, and jansson would drop a
		 * string that is not UTF-8. */
		for (size_t i = 0; shown_headers[i] != NULL; i++) {
			const char *val = mtk_http_header_get(&r.http, shown_headers[i]);
			if (val != NULL)
				json_object_set_new(h, shown_headers[i], cli_json_printable(val));
		}
		snprintf(line, sizeof(line), "HTTP/%d.%d %d %s", r.http.major, r.http.minor,
			 r.http.status, r.http.reason);
		hj = json_pack("{s:s+++, s:i, s:o, s:o, s:I}", "request", http_method, " ",
			       a.http, "", "status", r.http.status, "status_line",
			       cli_json_printable(line), "headers", h, "body_bytes",
			       (json_int_t)r.http.body_len);
		json_object_set_new(res, "http", hj);
	} else if (http_error[0] != '\0') {
		json_object_set_new(res, "http",
				    json_pack("{s:s+++, s:o}", "request", http_method, " ", a.http, "",
					      "error", cli_json_printable(http_error)));
	}

	chain_findings(c, &a, &r, &cv, where, res);
	if (a.servicenow) {
		rc = servicenow_checks(c, &o, where, res, &err);
		if (rc != MTK_OK) {
			rcode = cli_error(c, rc, &err);
			goto out;
		}
	}
	saved = json_array();
	json_object_set_new(res, "saved", saved);
	rc = save_outputs(c, &a, &cv, saved, &err);
	if (rc != MTK_OK) {
		rcode = cli_error(c, rc, &err);
		goto out;
	}
	json_object_set_new(res, "findings", cli_findings_json(&c->findings));
	if (!c->json)
		print_text(c, res);

	if (id.loaded && r.client_auth == MTK_CLIENT_AUTH_REJECTED) {
		mtk_err_set(&err, MTK_E_TLS, "TLS handshake: %s rejected the client certificate (alert '%s': %s)",
			    where, r.alert_text, mtk_alert_explain(r.alert_received, true));
		rcode = cli_error(c, MTK_E_TLS, &err);
		goto out;
	}
	if (http_rc != MTK_OK) {
		/* Everything above was reported; the request's failure is still
		 * the exit status (5), with its reason. */
		mtk_err_set(&err, http_rc, "%s", http_error);
		rcode = cli_error(c, http_rc, &err);
		goto out;
	}
	rcode = cli_findings_exit(c);
out:
	if (have_r)
		mtk_probe_result_free(&r);
	chain_view_free(&cv);
	identity_free(&id);
	return rcode;
}
