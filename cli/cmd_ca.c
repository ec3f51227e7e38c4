/*
 * cmd_ca.c - `mtlskit ca init|sign|revoke|crl`: a private CA in a directory
 * (layout in docs/ca.md), for teams without a CA and for labs.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli.h"
#include "subverb.h"
#include "mtlskit/ca.h"
#include "mtlskit/pem.h"
#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/csr.h"
#include "mtlskit/file.h"
#include "mtlskit/keygen.h"

enum {
	OPT_NAME = CLI_OPT__VERB_BASE,
	OPT_INTER,
	OPT_KEY_TYPE,
	OPT_DAYS,
	OPT_CRL_URL,
	OPT_PROFILE,
	OPT_CHAIN_OUT,
	OPT_NOT_BEFORE,
	OPT_NOT_AFTER,
	OPT_REASON,
	OPT_SCOPE,
};

struct ca_opts {
	const char *usage;
	const char *name, *inter, *key_type, *crl_url, *profile, *chain_out, *reason_name, *scope_name;
	const char *not_before, *not_after;
	long days;
	bool days_set;

	/* Working state from one phase to the next (subverb.h), freed by
	 * ca_release. */
	mtk_ca *ca;
	X509_REQ *req;
	X509 *cert;
	mtk_ca_sign_opts so;
	mtk_reason reason;
	char serial[130];
	mtk_ca_crl_scope scope;
	mtk_ca_crl_der crls[2];
	size_t ncrls;
};

static void ca_release(void *ctx)
{
	struct ca_opts *o = ctx;

	for (size_t i = 0; i < o->ncrls; i++)
		mtk_buf_free(&o->crls[i].der);
	X509_free(o->cert);
	X509_REQ_free(o->req);
	mtk_ca_close(o->ca);
}

static int ca_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct ca_opts *o = ctx;
	char *end = NULL;

	switch (opt) {
	case OPT_NAME:
		o->name = arg;
		break;
	case OPT_INTER:
		o->inter = arg;
		break;
	case OPT_KEY_TYPE:
		o->key_type = arg;
		break;
	case OPT_CRL_URL:
		o->crl_url = arg;
		break;
	case OPT_PROFILE:
		o->profile = arg;
		break;
	case OPT_CHAIN_OUT:
		o->chain_out = arg;
		break;
	case OPT_REASON:
		o->reason_name = arg;
		break;
	case OPT_SCOPE:
		o->scope_name = arg;
		break;
	case OPT_NOT_BEFORE:
		o->not_before = arg;
		break;
	case OPT_NOT_AFTER:
		o->not_after = arg;
		break;
	case OPT_DAYS:
		o->days = strtol(arg, &end, 10);
		if (end == arg || *end != '\0' || o->days <= 0 || o->days > 36500)
			return cli_usage_error(c, o->usage, "--days: a whole number of days, 1 to 36500");
		o->days_set = true;
		break;
	default:
		return cli_usage_error(c, o->usage, "unexpected option");
	}
	return 0;
}

static const struct option ca_longopts[] = {
	{"name", required_argument, NULL, OPT_NAME},
	{"intermediate", required_argument, NULL, OPT_INTER},
	{"key-type", required_argument, NULL, OPT_KEY_TYPE},
	{"days", required_argument, NULL, OPT_DAYS},
	{"crl-url", required_argument, NULL, OPT_CRL_URL},
	{"profile", required_argument, NULL, OPT_PROFILE},
	{"chain-out", required_argument, NULL, OPT_CHAIN_OUT},
	{"not-before", required_argument, NULL, OPT_NOT_BEFORE},
	{"not-after", required_argument, NULL, OPT_NOT_AFTER},
	{"reason", required_argument, NULL, OPT_REASON},
	{"scope", required_argument, NULL, OPT_SCOPE},
	CLI_COMMON_LONGOPTS,
};

/* Rejects options that belong to another sub-command. */
static int only(cli *c, const struct ca_opts *o, const char *allowed)
{
	static const struct {
		const char *flag;
		size_t off;
	} flags[] = {
		{"name", offsetof(struct ca_opts, name)},
		{"intermediate", offsetof(struct ca_opts, inter)},
		{"key-type", offsetof(struct ca_opts, key_type)},
		{"crl-url", offsetof(struct ca_opts, crl_url)},
		{"profile", offsetof(struct ca_opts, profile)},
		{"chain-out", offsetof(struct ca_opts, chain_out)},
		{"reason", offsetof(struct ca_opts, reason_name)},
		{"not-before", offsetof(struct ca_opts, not_before)},
		{"not-after", offsetof(struct ca_opts, not_after)},
		{"scope", offsetof(struct ca_opts, scope_name)},
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *v = *(const char *const *)((const char *)o + flags[i].off);
		char want[32];

		snprintf(want, sizeof(want), " %s ", flags[i].flag);
		if (v != NULL && strstr(allowed, want) == NULL)
			return cli_usage_error(c, o->usage, "--%s does not apply to '%s'", flags[i].flag, c->verb);
	}
	if (o->days_set && strstr(allowed, " days ") == NULL)
		return cli_usage_error(c, o->usage, "--days does not apply to '%s'", c->verb);
	return 0;
}

static const char init_usage[] =
	"Usage: mtlskit ca init DIR --name NAME [--intermediate NAME] [--key-type TYPE]\n"
	"                       [--days N] [--crl-url URL] [--out-pass SPEC]\n"
	"\n"
	"Creates a private CA in DIR (new or empty): a root, and with --intermediate an\n"
	"issuing CA (pathlen 0) that signs everything.\n"
	"  --key-type TYPE  " MTK_KEY_TYPES " (default rsa:2048)\n"
	"  --days N         validity of the CA certificates (default 3650)\n"
	"  --crl-url URL    CRL distribution point put in every certificate it signs\n"
	"  --out-pass SPEC  encrypt the CA keys (then sign/revoke/crl need --pass)\n";

/* The library creates the directory: nothing to open. */
static int ca_init(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ca_opts *o = run->ctx;
	const char *dir = run->target;
	mtk_ca_init_opts io = {0};
	mtk_secret *pass = NULL;
	bool encrypted;
	mtk_err err = {0};
	mtk_rc rc;

	if (c->out != NULL)
		return cli_usage_error(c, init_usage, "-o does not apply; the CA is written to DIR");
	if (o->name == NULL)
		return cli_usage_error(c, init_usage, "--name NAME is required (e.g. \"Example Lab Root CA\")");
	if (o->key_type != NULL && !mtk_key_type_valid(o->key_type))
		return cli_usage_error(c, init_usage, "--key-type '%s': use %s", o->key_type, MTK_KEY_TYPES);
	if ((rc = cli_password(c, CLI_PASS_OUT, "Password for the CA keys: ", false, &pass, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	io.name = o->name;
	io.intermediate = o->inter;
	io.key_type = o->key_type;
	io.days = o->days;
	io.crl_url = o->crl_url;
	io.out_pass = pass;
	io.now = c->now;
	rc = mtk_ca_init(dir, &io, &err);
	encrypted = pass != NULL;
	mtk_secret_free(pass);
	if (rc != MTK_OK)
		return cli_error(c, rc, &err);
	cli_set(c, "dir", json_string(dir));
	cli_set(c, "root", json_string(o->name));
	cli_set(c, "issuing", o->inter ? json_string(o->inter) : json_null());
	cli_set(c, "key_type", json_string(o->key_type ? o->key_type : "rsa:2048"));
	cli_set(c, "encrypted", json_boolean(encrypted));
	if (!c->json) {
		printf("created CA in %s: root \"%s\"%s%s%s\n", dir, o->name,
		       o->inter ? ", issuing CA \"" : "", o->inter ? o->inter : "", o->inter ? "\"" : "");
		printf("  %s/root.crt is the trust anchor to upload or install%s\n", dir,
		       o->inter ? "; issuing.crt goes with it in the chain" : "");
	}
	return 0;
}

/* Opens the CA with its key, asking for the key's password on a terminal
 * when it is encrypted and --pass was not given. */
static mtk_rc open_ca(cli *c, const char *dir, unsigned keys, mtk_ca **ca, mtk_err *err)
{
	mtk_secret *pass = NULL;
	mtk_err e1 = {0};
	mtk_rc rc;

	if (c->pass_spec != NULL) {
		if ((rc = cli_password(c, CLI_PASS_IN, "", false, &pass, err)) != MTK_OK)
			return rc;
		rc = mtk_ca_open(dir, pass, keys, ca, err);
		mtk_secret_free(pass);
		return rc;
	}
	rc = mtk_ca_open(dir, NULL, keys, ca, &e1);
	if (rc == MTK_E_PASSWORD_NEEDED && isatty(STDIN_FILENO)) {
		if ((rc = cli_password(c, CLI_PASS_IN, "CA key password: ", true, &pass, err)) != MTK_OK)
			return rc;
		if (pass != NULL) {
			rc = mtk_ca_open(dir, pass, keys, ca, err);
			mtk_secret_free(pass);
			return rc;
		}
	}
	if (rc != MTK_OK)
		*err = e1;
	return rc;
}

/* An open flag beside MTK_CA_KEY_*: the index alone, no key, and no
 * password read (ca list ignores --pass). */
#define CA_OPEN_INDEX (1u << 16)

/* CLI_SUB_OPEN_VERB: the CA of DIR with the keys the row (or prepare) asks
 * for. */
static int ca_open(struct cli_sub_run *run)
{
	struct ca_opts *o = run->ctx;
	mtk_err err = {0};
	mtk_rc rc;

	if (run->open_flags & CA_OPEN_INDEX)
		rc = mtk_ca_open(run->target, NULL, 0, &o->ca, &err);
	else
		rc = open_ca(run->c, run->target, run->open_flags, &o->ca, &err);
	if (rc != MTK_OK)
		return cli_error(run->c, rc, &err);
	return 0;
}

static mtk_rc append_pem(mtk_buf *b, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	mtk_rc rc = MTK_E_CRYPTO;

	if (bio != NULL && PEM_write_bio_X509(bio, x) == 1 && (n = BIO_get_mem_data(bio, &p)) > 0)
		rc = mtk_buf_append(b, p, (size_t)n);
	BIO_free(bio);
	return rc;
}

static const char sign_usage[] =
	"Usage: mtlskit ca sign DIR CSR --profile client|server -o CERT [--days N]\n"
	"                       [--not-before TIME] [--not-after TIME] [--chain-out FILE] [--pass SPEC]\n"
	"\n"
	"Signs CSR with the CA in DIR (the issuing CA when there is one).\n"
	"  --profile P      client (clientAuth; default) or server (serverAuth, needs a SAN)\n"
	"  --days N         validity from now (default 365)\n"
	"  --not-before T   --not-after T: explicit validity, e.g. 2024-01-01T00:00:00Z,\n"
	"                   2024-01-01 or 20240101000000Z (backdating, tests)\n"
	"  --chain-out FILE the issuing chain: issuing CA then root\n"
	"  --pass SPEC      password of the CA key, if it was encrypted at init\n";

static int sign_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ca_opts *o = run->ctx;
	mtk_ca_sign_opts *so = &o->so;
	mtk_err err = {0};
	mtk_rc rc;

	if (c->out == NULL)
		return cli_usage_error(c, sign_usage, "-o CERT is required");
	if (mtk_ca_profile_parse(o->profile ? o->profile : "client", &so->profile, NULL) != MTK_OK)
		return cli_usage_error(c, sign_usage, "--profile must be client or server");
	if (o->days_set && o->not_after != NULL)
		return cli_usage_error(c, sign_usage, "give --days or --not-after, not both");
	so->not_before = c->now;
	if (o->not_before != NULL && mtk_time_parse(o->not_before, &so->not_before, &err) != MTK_OK)
		return cli_usage_error(c, sign_usage, "--not-before: %s", err.detail);
	so->not_after = so->not_before + (o->days_set ? o->days : 365) * 86400L;
	if (o->not_after != NULL && mtk_time_parse(o->not_after, &so->not_after, &err) != MTK_OK)
		return cli_usage_error(c, sign_usage, "--not-after: %s", err.detail);
	if (so->not_after <= so->not_before)
		return cli_usage_error(c, sign_usage, "notAfter must be later than notBefore");
	if (o->chain_out != NULL && strcmp(o->chain_out, c->out) == 0)
		return cli_usage_error(c, sign_usage, "--chain-out and -o name the same file");
	/* Nothing is issued if the outputs cannot be written. */
	if (!c->force) {
		const char *outs[] = {c->out, o->chain_out};
		for (size_t i = 0; i < 2; i++)
			if (outs[i] != NULL && strcmp(outs[i], "-") != 0 && access(outs[i], F_OK) == 0)
				return cli_error(c, mtk_err_set(&err, MTK_E_EXISTS, "%s", outs[i]),
						 &err);
	}
	if ((rc = mtk_csr_load(run->argv[run->first + 1], &o->req, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

/* Issues the certificate and writes it (and the chain) as one set. */
static int sign_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ca_opts *o = run->ctx;
	const char *csr = run->argv[run->first + 1];
	mtk_buf cb = MTK_BUF_INIT, chb = MTK_BUF_INIT;
	mtk_outset *os = NULL;
	mtk_err err = {0};
	unsigned wf = c->force ? MTK_WRITE_FORCE : 0;
	int r;
	mtk_rc rc;

	if ((rc = mtk_ca_sign(o->ca, o->req, &o->so, &o->cert, &err)) != MTK_OK) {
		if (rc == MTK_E_CSR_SIGNATURE || rc == MTK_E_CSR_POLICY || rc == MTK_E_MALFORMED) {
			/* name the request file in the message */
			mtk_err e2 = {0};
			mtk_err_set(&e2, rc, "%s: %s", csr, err.detail);
			memcpy(e2.ossl, err.ossl, sizeof(e2.ossl));
			err = e2;
		}
		goto fail;
	}
	if (append_pem(&cb, o->cert) != MTK_OK) {
		rc = mtk_err_set(&err, MTK_E_NOMEM, "certificate");
		goto fail;
	}
	for (int i = 0; o->chain_out && i < sk_X509_num(mtk_ca_chain(o->ca)); i++)
		if (append_pem(&chb, sk_X509_value(mtk_ca_chain(o->ca), i)) != MTK_OK) {
			rc = mtk_err_set(&err, MTK_E_NOMEM, "chain");
			goto fail;
		}
	if ((os = mtk_outset_new()) == NULL) {
		rc = mtk_err_set(&err, MTK_E_NOMEM, "outputs");
		goto fail;
	}
	if ((rc = mtk_outset_add(os, c->out, cb.data, cb.len, wf, &err)) != MTK_OK ||
	    (o->chain_out && (rc = mtk_outset_add(os, o->chain_out, chb.data, chb.len, wf, &err)) != MTK_OK) ||
	    (rc = mtk_outset_commit(os, &err)) != MTK_OK)
		goto fail;
	r = 0;
	goto out;
fail:
	r = cli_error(c, rc, &err);
out:
	mtk_outset_free(os);
	mtk_buf_free(&cb);
	mtk_buf_free(&chb);
	return r;
}

static int sign_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ca_opts *o = run->ctx;
	const mtk_ca_sign_opts *so = &o->so;
	mtk_cert_summary sum;
	mtk_err err = {0};
	const char *k;
	json_t *cj, *v;
	mtk_rc rc;

	if ((rc = mtk_cert_summarize(o->cert, &sum, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	/* The shared certificate object (render.c), flat in the result as
	 * before; the text is printed from it (subject and issuer escaped). */
	if ((cj = cli_cert_json(&sum, c->now)) == NULL)
		return cli_error(c, MTK_E_NOMEM, NULL);
	cli_set(c, "certificate", json_string(c->out));
	json_object_foreach(cj, k, v)
		cli_set(c, k, json_incref(v));
	cli_set(c, "profile", json_string(so->profile == MTK_PROFILE_SERVER ? "server" : "client"));
	cli_set(c, "chain", o->chain_out ? json_string(o->chain_out) : json_null());
	if (!c->json) {
		printf("wrote %s: %s, serial %s\n", c->out, json_string_value(json_object_get(cj, "subject")),
		       json_string_value(json_object_get(cj, "serial")));
		printf("  issued by %s, %s profile, valid %s to %s\n",
		       json_string_value(json_object_get(cj, "issuer")),
		       so->profile == MTK_PROFILE_SERVER ? "server" : "client",
		       json_string_value(json_object_get(cj, "not_before")),
		       json_string_value(json_object_get(cj, "not_after")));
		if (o->chain_out)
			printf("wrote %s: the issuing chain (%d certificates)\n", o->chain_out,
			       sk_X509_num(mtk_ca_chain(o->ca)));
	}
	json_decref(cj);
	return 0;
}

static const char revoke_usage[] =
	"Usage: mtlskit ca revoke DIR CERT|SERIAL [--reason R] [--pass SPEC]\n"
	"\n"
	"Marks a certificate issued by the CA in DIR as revoked (the next `ca crl` lists it).\n"
	"CERT may also be the issuing CA itself (DIR/issuing.crt): the root's CRL then lists\n"
	"it, and every certificate it signed is refused by a relying party checking the chain.\n"
	"  --reason R  unspecified (default), keyCompromise, CACompromise, affiliationChanged,\n"
	"              superseded, cessationOfOperation, certificateHold, privilegeWithdrawn\n";

/* The serial, from a certificate file or as given; the certificate is
 * kept to check its issuer once the CA is open. */
static int revoke_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ca_opts *o = run->ctx;
	const char *what = run->argv[run->first + 1];
	mtk_err err = {0};
	mtk_rc rc;

	o->reason = MTK_REASON_UNSPECIFIED;
	if (o->reason_name != NULL && mtk_reason_parse(o->reason_name, &o->reason, &err) != MTK_OK)
		return cli_usage_error(c, revoke_usage, "%s", err.detail);
	if (access(what, F_OK) == 0) {
		mtk_cert_summary sum;
		if ((rc = mtk_cert_load_first(what, NULL, &o->cert, &err)) != MTK_OK ||
		    (rc = mtk_cert_summarize(o->cert, &sum, &err)) != MTK_OK ||
		    (rc = mtk_serial_normalize(sum.serial, o->serial, sizeof(o->serial), &err)) !=
			MTK_OK)
			return cli_error(c, rc, &err);
	} else if (mtk_serial_normalize(what, o->serial, sizeof(o->serial), &err) != MTK_OK) {
		return cli_usage_error(c, revoke_usage, "'%s' is neither a certificate file nor a serial number", what);
	}
	return 0;
}

/* The key is not needed to mark an entry (the row opens none); the CRL is
 * signed later. */
static int revoke_apply(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ca_opts *o = run->ctx;
	const char *what = run->argv[run->first + 1];
	mtk_err err = {0};
	mtk_rc rc;

	/* What the signing CA issued, or the issuing CA itself (the root's
	 * CRL lists it: `ca crl` with the default chain scope). */
	if (o->cert != NULL && !mtk_cert_issued_by(o->cert, mtk_ca_signer(o->ca)) &&
	    !(sk_X509_num(mtk_ca_chain(o->ca)) > 1 && X509_cmp(o->cert, mtk_ca_signer(o->ca)) == 0))
		return cli_error(c,
				 mtk_err_set(&err, MTK_E_NOT_FOUND, "%s was not issued by the CA in %s",
					     what, run->target),
				 &err);
	if ((rc = mtk_ca_revoke(o->ca, o->serial, o->reason, c->now, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int revoke_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ca_opts *o = run->ctx;

	cli_set(c, "serial", json_string(o->serial));
	cli_set(c, "reason", json_string(mtk_reason_name(o->reason)));
	if (!c->json)
		printf("revoked serial %s (%s); run `mtlskit ca crl %s -o crl.pem` to publish it\n",
		       o->serial, mtk_reason_name(o->reason), run->target);
	return 0;
}

static const char crl_usage[] =
	"Usage: mtlskit ca crl DIR -o CRL [--scope chain|leaf] [--days N] [--pass SPEC]\n"
	"\n"
	"Writes the CA's CRLs (PEM), each with its own CRL number.\n"
	"  --scope chain  (default) one CRL per CA of the chain: the issuing CA's, listing\n"
	"                 every revoked certificate, then the root's, which covers the\n"
	"                 issuing CA; what a server that checks CRLs for the whole chain\n"
	"                 (mtlskit-gateway `crl`, openssl -crl_check_all) needs\n"
	"  --scope leaf   only the issuing CA's CRL (needs only the issuing CA's key)\n"
	"  --days N       until the next update (default 30)\n";

/* The chain scope needs the root's key too. */
static int crl_prepare(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ca_opts *o = run->ctx;
	mtk_err err = {0};

	if (c->out == NULL)
		return cli_usage_error(c, crl_usage, "-o CRL is required");
	if (o->days_set && o->days > 3650)
		return cli_usage_error(c, crl_usage, "--days: at most 3650");
	o->scope = MTK_CRL_SCOPE_CHAIN;
	if (o->scope_name != NULL && strcmp(o->scope_name, "leaf") == 0)
		o->scope = MTK_CRL_SCOPE_LEAF;
	else if (o->scope_name != NULL && strcmp(o->scope_name, "chain") != 0)
		return cli_usage_error(c, crl_usage, "--scope must be chain or leaf");
	if (!c->force && strcmp(c->out, "-") != 0 && access(c->out, F_OK) == 0)
		return cli_error(c, mtk_err_set(&err, MTK_E_EXISTS, "%s", c->out), &err);
	run->open_flags = MTK_CA_KEY_SIGNER | (o->scope == MTK_CRL_SCOPE_CHAIN ? MTK_CA_KEY_ROOT : 0u);
	return 0;
}

static int crl_report(struct cli_sub_run *run)
{
	cli *c = run->c;
	struct ca_opts *o = run->ctx;
	mtk_ca_crl_scope scope = o->scope;
	const mtk_ca_conf *conf;
	mtk_ca *ca = o->ca;
	mtk_buf pem = MTK_BUF_INIT;
	char nb[64], nj[32];
	long days = o->days_set ? o->days : 30;
	mtk_err err = {0};
	json_t *arr = NULL;
	size_t total = 0;
	int r;
	mtk_rc rc;

	if ((rc = mtk_ca_crls(ca, scope, c->now, days, o->crls, &o->ncrls, &err)) != MTK_OK)
		goto fail;
	for (size_t i = 0; i < o->ncrls; i++)
		if ((rc = mtk_pem_encode(&pem, "X509 CRL", o->crls[i].der.data,
					 o->crls[i].der.len)) != MTK_OK) {
			mtk_err_set(&err, rc, "encoding the CRL");
			goto fail;
		}
	if ((rc = mtk_file_write(c->out, pem.data, pem.len, c->force ? MTK_WRITE_FORCE : 0,
				 &err)) != MTK_OK)
		goto fail;
	conf = mtk_ca_get_conf(ca);
	arr = json_array();
	cli_fmt_time(c->now + days * 86400L, nb, sizeof(nb));
	cli_fmt_time(c->now + days * 86400L, nj, sizeof(nj));
	if (!c->json)
		printf("wrote %s (next update %s):\n", c->out, nb);
	for (size_t i = 0; i < o->ncrls; i++) {
		const mtk_ca_crl_der *crl = &o->crls[i];
		/* mtk_ca_crls: the signing CA's first, then the root's. */
		const char *issuer = i == 0 && conf->issuing[0] ? conf->issuing : conf->name;

		total += crl->revoked;
		json_array_append_new(arr,
				      json_pack("{s:s, s:I, s:I, s:s}", "issuer", issuer,
						"crl_number", (json_int_t)crl->number, "revoked",
						(json_int_t)crl->revoked, "next_update", nj));
		if (!c->json)
			printf("  CRL of %s: number %lld, %zu revoked certificate%s\n", issuer,
			       crl->number, crl->revoked, crl->revoked == 1 ? "" : "s");
	}
	cli_set(c, "crl", json_string(c->out));
	cli_set(c, "scope", json_string(scope == MTK_CRL_SCOPE_CHAIN ? "chain" : "leaf"));
	cli_set(c, "revoked", json_integer((json_int_t)total));
	cli_set(c, "crl_number", json_integer((json_int_t)o->crls[0].number));
	cli_set(c, "crls", arr);
	arr = NULL;
	r = 0;
	goto out;
fail:
	r = cli_error(c, rc, &err);
out:
	json_decref(arr);
	mtk_buf_free(&pem);
	return r;
}

static const char list_usage[] =
	"Usage: mtlskit ca list DIR\n"
	"\n"
	"Lists the certificates the CA in DIR issued: status, serial, expiry, profile, subject.\n";

static int ca_list(struct cli_sub_run *run)
{
	cli *c = run->c;
	const struct ca_opts *o = run->ctx;
	const mtk_ca_index *idx;
	mtk_err err = {0};
	json_t *arr;
	char tb[64], rb[64];
	mtk_rc rc;

	if ((rc = mtk_ca_get_index(o->ca, &idx, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	arr = json_array();
	if (!c->json)
		printf("%-7s  %-32s  %-23s  %-6s  %s\n", "STATUS", "SERIAL", "NOT AFTER", "USE", "SUBJECT");
	for (size_t i = 0; i < idx->count; i++) {
		const mtk_ca_entry *e = &idx->items[i];
		bool revoked = e->status == 'R';
		json_t *o1 = json_pack("{s:s, s:s, s:s, s:s, s:s}", "status", revoked ? "revoked" : "valid",
				       "serial", e->serial, "not_after", cli_fmt_time(e->not_after, tb, sizeof(tb)),
				       "profile", e->profile, "subject", e->subject ? e->subject : "");
		if (revoked) {
			json_object_set_new(o1, "revoked_at", json_string(cli_fmt_time(e->revoked_at, rb, sizeof(rb))));
			json_object_set_new(o1, "reason", json_string(mtk_reason_name(e->reason)));
		}
		json_array_append_new(arr, o1);
		if (!c->json)
			printf("%-7s  %-32s  %-23s  %-6s  %s\n", revoked ? "revoked" : "valid", e->serial,
			       cli_fmt_time(e->not_after, tb, sizeof(tb)), e->profile, e->subject ? e->subject : "");
	}
	cli_set(c, "dir", json_string(run->target));
	cli_set(c, "certificates", arr);
	return 0;
}

/* After the options, every sub-verb: an option of another sub-verb is a
 * usage error. */
static int ca_check(struct cli_sub_run *run)
{
	static const struct {
		const char *sub, *allowed;
	} allow[] = {
		{"init", " name intermediate key-type days crl-url "},
		{"sign", " profile days chain-out not-before not-after "},
		{"revoke", " reason "},
		{"crl", " days scope "},
		{"list", " "},
	};
	struct ca_opts *o = run->ctx;

	o->usage = run->sub->usage;
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if (strcmp(run->sub->name, allow[i].sub) == 0)
			return only(run->c, o, allow[i].allowed);
	return 0;
}

/* The sub-verbs: parse, prepare, open, apply, save, report (subverb.h).
 * A CA directory is written by the library (mtk_ca_*), not saved here. */
static const struct cli_sub subs[] = {
    {"init", "Create a CA in a directory: root and optional issuing intermediate", init_usage, 1,
     1, "one directory is needed", CLI_SUB_OPEN_NONE, 0, CLI_SUB_SAVE_NONE, NULL, NULL, ca_init},
    {"sign", "Sign a CSR with the client or server profile", sign_usage, 2, 2,
     "DIR and CSR are needed", CLI_SUB_OPEN_VERB, MTK_CA_KEY_SIGNER, CLI_SUB_SAVE_NONE,
     sign_prepare, sign_apply, sign_report},
    {"revoke", "Revoke a certificate the CA issued", revoke_usage, 2, 2,
     "DIR and CERT or SERIAL are needed", CLI_SUB_OPEN_VERB, 0, CLI_SUB_SAVE_NONE,
     revoke_prepare, revoke_apply, revoke_report},
    {"crl", "Write the CRLs of the CA chain (issuing CA and root)", crl_usage, 1, 1,
     "one CA directory is needed", CLI_SUB_OPEN_VERB, MTK_CA_KEY_SIGNER, CLI_SUB_SAVE_NONE,
     crl_prepare, NULL, crl_report},
    {"list", "List the certificates the CA issued", list_usage, 1, 1,
     "one CA directory is needed", CLI_SUB_OPEN_VERB, CA_OPEN_INDEX, CLI_SUB_SAVE_NONE, NULL,
     NULL, ca_list},
    {NULL, NULL, NULL, 0, 0, NULL, CLI_SUB_OPEN_NONE, 0, CLI_SUB_SAVE_NONE, NULL, NULL, NULL},
};

static const struct cli_subverbs ca_verb = {
    "ca", "", ca_longopts, ca_opt, ca_check, ca_open, ca_release, subs,
};

int cmd_ca(cli *c, int argc, char **argv)
{
	struct ca_opts o;

	memset(&o, 0, sizeof(o));
	return cli_run_sub(c, &ca_verb, &o, argc, argv);
}
