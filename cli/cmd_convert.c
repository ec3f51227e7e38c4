/*
 * cmd_convert.c - `mtlskit convert`: any key, certificate, bundle, PKCS#7,
 * PFX (every flavour) or keystore in; PEM, DER, PKCS#8, PFX (modern, legacy
 * or Java flavour) or the three files of a PFX split out.
 *
 * Flow: load every input (load.h), sort out key / leaf / chain
 * (mtk_conv_select), encode for the target (one switch: encode_target), and
 * commit every output file together (mtk_outset) - all or nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "cli.h"
#include "mtlskit/keystore.h"
#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/convert.h"
#include "mtlskit/file.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"
#include "mtlskit/pkcs12.h"

static const char usage[] =
    "Usage: mtlskit convert INPUT... --to pem|der|pkcs8|pkcs12 -o OUT [options]\n"
    "       mtlskit convert INPUT... --split-out PREFIX [options]\n"
    "\n"
    "Converts keys, certificates, PKCS#7 bundles and PFX files of every flavour\n"
    "(modern AES, legacy RC2/3DES from Windows certutil or old Java, no MAC, empty\n"
    "password: read with no extra flag).  Inputs may come in any order; the leaf is\n"
    "the certificate that matches the private key and the chain is put in order.\n"
    "\n"
    "Targets:\n"
    "  pem     certificates leaf -> root (unrelated ones after, with a warning), then\n"
    "          the private key as PKCS#8 (BEGIN PRIVATE KEY, or encrypted with --out-pass)\n"
    "  der     one object: the private key (PKCS#8) or one certificate\n"
    "  pkcs8   the private key only: unencrypted PKCS#8 (what the MID Server needs),\n"
    "          or with --out-pass PBES2 PBKDF2-HMAC-SHA256 / AES-256-CBC\n"
    "  pkcs12  a PFX from the key, its certificate and the chain (password: --out-pass,\n"
    "          asked on a terminal)\n"
    "\n"
    "Options:\n"
    "  --to FORMAT          output format (above)\n"
    "  -o, --out FILE       output file ('-' for standard output)\n"
    "  --split-out PREFIX   write PREFIX.key (PKCS#8), PREFIX.crt (the key's certificate)\n"
    "                       and PREFIX-chain.pem (the rest, leaf side first): all or none\n"
    "  --compat PROFILE     pkcs12: modern (default; AES-256-CBC, SHA-256 MAC),\n"
    "                       legacy (3DES keys and certificates, SHA-1 MAC: Windows Server\n"
    "                       2016, older macOS, appliances), java (as Java 17 keytool writes)\n"
    "  --alias NAME         pkcs12: the entry's name (friendlyName); with several keys in\n"
    "                       the input, picks the key with that alias\n"
    "  --trusted CERT       pkcs12: add CERT's certificates as trusted-certificate entries\n"
    "                       (Java trustedCertEntry); repeatable\n"
    "  --pass SPEC          password of the inputs (PFX, encrypted key, keystore)\n"
    "  --key-pass SPEC      keystore entry password, if it differs\n"
    "  --out-pass SPEC      password of the output (PFX; encrypts a pem/der/pkcs8 key)\n"
    "  --force              replace existing output files\n"
    "  --json               one JSON document on standard output\n"
    "SPEC: env:VAR, file:PATH, fd:N or pass:TEXT.\n"
    "Exit: 0 written; 1 key-missing / key-mismatch (nothing written); 2 usage, or the\n"
    "inputs lack what the target needs (e.g. --to pkcs8 with only certificates);\n"
    "3 unreadable input; 4 wrong password or damaged PFX (MAC).\n";

enum {
	OPT_TO = CLI_OPT__VERB_BASE,
	OPT_SPLIT,
	OPT_COMPAT,
	OPT_ALIAS,
	OPT_TRUSTED,
};

struct opts {
	const char *to;
	const char *split;
	const char *compat;
	const char *alias;
	const char **trusted;
	size_t ntrusted;
};

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (opt) {
	case OPT_TO:
		o->to = arg;
		return 0;
	case OPT_SPLIT:
		o->split = arg;
		return 0;
	case OPT_COMPAT:
		o->compat = arg;
		return 0;
	case OPT_ALIAS:
		o->alias = arg;
		return 0;
	case OPT_TRUSTED: {
		const char **p = realloc(o->trusted, (o->ntrusted + 1) * sizeof(*p));
		if (p == NULL)
			return cli_error(c, MTK_E_NOMEM, NULL);
		o->trusted = p;
		o->trusted[o->ntrusted++] = arg;
		return 0;
	}
	default:
		return cli_usage_error(c, usage, "unexpected option");
	}
}

/* Everything one run holds, released in one place. */
struct run {
	mtk_set set;
	mtk_set trusted_set;
	mtk_conv_sel sel;
	mtk_secret *pass;
	mtk_secret *key_pass;
	mtk_secret *out_pass;
	mtk_outset *outs;
	mtk_buf bufs[3];
	mtk_p12_trusted *trusted;
	char (*trusted_alias)[128];
	size_t ntrusted;
	json_t *outputs;
};

static void run_free(struct run *r)
{
	mtk_set_free(&r->set);
	mtk_set_free(&r->trusted_set);
	mtk_conv_sel_free(&r->sel);
	mtk_secret_free(r->pass);
	mtk_secret_free(r->key_pass);
	mtk_secret_free(r->out_pass);
	mtk_outset_free(r->outs);
	for (size_t i = 0; i < sizeof(r->bufs) / sizeof(r->bufs[0]); i++)
		mtk_buf_free(&r->bufs[i]);
	free(r->trusted);
	free(r->trusted_alias);
	json_decref(r->outputs);
}

/* The shared certificate object (render.c); null when it cannot be read. */
static json_t *cert_json(X509 *x, time_t now)
{
	mtk_cert_summary s;
	json_t *o;

	if (mtk_cert_summarize(x, &s, NULL) != MTK_OK || (o = cli_cert_json(&s, now)) == NULL)
		return json_null();
	return o;
}

static json_t *certs_json(STACK_OF(X509) * sk, time_t now)
{
	json_t *a = json_array();

	for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++)
		json_array_append_new(a, cert_json(sk_X509_value(sk, i), now));
	return a;
}

/* Loads one input, asking for its password on a terminal when it needs one
 * and none was given. */
static mtk_rc load_input(cli *c, struct run *r, const char *path, mtk_container_info *info,
			 mtk_err *err)
{
	mtk_load_opts lo = {.pass = r->pass,
			    .key_pass = r->key_pass,
			    .default_pass = mtk_mid_default_for(MTK_MID_READ, path),
			    .require_decrypt = true};
	mtk_rc rc;

	rc = mtk_load_file(&r->set, path, &lo, info, NULL, err);
	if (rc == MTK_E_PASSWORD_NEEDED && c->pass_spec == NULL && r->pass == NULL) {
		char prompt[512];
		mtk_err perr = {0};

		snprintf(prompt, sizeof(prompt), "Password for %s: ", path);
		if (cli_password(c, CLI_PASS_IN, prompt, true, &r->pass, &perr) == MTK_OK &&
		    r->pass != NULL) {
			mtk_err_clear(err);
			lo.pass = r->pass;
			rc = mtk_load_file(&r->set, path, &lo, info, NULL, err);
		}
	}
	return rc;
}

/* Lower-cased CN, else "trusted-N"; made distinct from every alias so far. */
static void trusted_alias(struct run *r, size_t i, const char *key_alias)
{
	char base[100] = "";
	char *a = r->trusted_alias[i];
	X509_NAME *n = X509_get_subject_name(r->trusted[i].cert);

	bool ascii = X509_NAME_get_text_by_NID(n, NID_commonName, base, sizeof(base)) > 0;

	/* Java lower-cases aliases with Unicode rules: keep to printable ASCII. */
	for (const char *p = base; ascii && *p; p++)
		ascii = *p >= 0x20 && *p <= 0x7e;
	if (!ascii)
		snprintf(base, sizeof(base), "trusted-%zu", i + 1);
	for (char *p = base; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	snprintf(a, 128, "%s", base);
	for (int k = 2;; k++) {
		bool clash = key_alias != NULL && strcasecmp(a, key_alias) == 0;
		for (size_t j = 0; j < i && !clash; j++)
			clash = strcmp(a, r->trusted_alias[j]) == 0;
		if (!clash)
			break;
		snprintf(a, 128, "%s-%d", base, k);
	}
	r->trusted[i].alias = a;
}

static mtk_rc add_out(struct run *r, const char *path, mtk_buf *b, unsigned flags, const char *what,
		      bool force, mtk_err *err)
{
	mtk_rc rc = mtk_outset_add(r->outs, path, b->data, b->len,
				   flags | (force ? MTK_WRITE_FORCE : 0), err);
	if (rc == MTK_OK)
		json_array_append_new(
		    r->outputs, json_pack("{s:s, s:s, s:s}", "path", path, "content", what, "mode",
					  (flags & MTK_WRITE_SECRET) ? "0600" : "0644"));
	return rc;
}

/* The output password for a PFX/keystore: --out-pass, or asked twice on a
 * terminal; never optional. */
static mtk_rc need_out_pass(cli *c, struct run *r, mtk_err *err)
{
	mtk_rc rc;

	if (r->out_pass != NULL)
		return MTK_OK;
	rc = cli_password(c, CLI_PASS_OUT, "Password for the new file: ", true, &r->out_pass, err);
	if (rc != MTK_OK)
		return rc;
	if (r->out_pass == NULL)
		return mtk_err_set(
		    err, MTK_E_USAGE,
		    "the output needs a password: give --out-pass SPEC (env:VAR, file:PATH, fd:N)");
	return MTK_OK;
}

/*
 * The one switch on the target: every writer turns the sorted-out inputs
 * (r->sel: key, leaf, chain, unrelated; r->trusted; alias; passwords) into
 * bytes added to r->outs.  A keystore writer plugs in at MTK_CONV_JKS /
 * MTK_CONV_JCEKS with the same inputs (keystore.h mtk_keystore_write_key:
 * type, alias, r->sel.key, leaf + chain, c->now * 1000, r->out_pass,
 * r->key_pass, then mtk_keystore_add_trusted for r->trusted).
 */
static mtk_rc encode_target(cli *c, struct run *r, mtk_conv_target to, mtk_p12_compat compat,
			    const char *alias, mtk_err *err)
{
	mtk_conv_sel *s = &r->sel;
	mtk_buf *b = &r->bufs[0];
	STACK_OF(X509) *all = NULL;
	mtk_rc rc = MTK_OK;

	b->secret = true;
	switch (to) {
	case MTK_CONV_PEM:
		if ((all = mtk_conv_sel_certs(s)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "convert");
		rc = mtk_certs_to_pem(all, b, err);
		sk_X509_pop_free(all, X509_free);
		if (rc == MTK_OK && s->key != NULL)
			rc = mtk_key_to_pkcs8(s->key, r->out_pass, true, b, err);
		if (rc == MTK_OK)
			rc = add_out(r, c->out, b, s->key ? MTK_WRITE_SECRET : 0,
				     s->key ? "certificates and private key" : "certificates",
				     c->force, err);
		return rc;
	case MTK_CONV_DER:
		if (s->key != NULL && s->ncerts > 0)
			return mtk_err_set(
			    err, MTK_E_USAGE,
			    "DER holds one object, and the inputs hold a key and %zu "
			    "certificate%s: "
			    "use --to pkcs8 for the key, --to pkcs12, or --split-out",
			    s->ncerts, s->ncerts == 1 ? "" : "s");
		if (s->key != NULL) {
			if ((rc = mtk_key_to_pkcs8(s->key, r->out_pass, false, b, err)) == MTK_OK)
				rc = add_out(r, c->out, b, MTK_WRITE_SECRET,
					     "private key (PKCS#8 DER)", c->force, err);
			return rc;
		}
		if (s->ncerts != 1)
			return mtk_err_set(
			    err, MTK_E_USAGE,
			    "DER holds one certificate and the inputs hold %zu: use --to pem",
			    s->ncerts);
		if ((rc = mtk_cert_to_der(s->leaf, b, err)) == MTK_OK)
			rc = add_out(r, c->out, b, 0, "certificate (DER)", c->force, err);
		return rc;
	case MTK_CONV_PKCS8:
		if (s->ncerts > 0)
			cli_warn(c, "only the private key is written; %zu certificate%s not",
				 s->ncerts, s->ncerts == 1 ? " is" : "s are");
		if ((rc = mtk_key_to_pkcs8(s->key, r->out_pass, true, b, err)) == MTK_OK)
			rc = add_out(r, c->out, b, MTK_WRITE_SECRET, "private key (PKCS#8)",
				     c->force, err);
		return rc;
	case MTK_CONV_PKCS12: {
		mtk_p12_spec spec = {0};
		STACK_OF(X509) *chain = NULL;

		if ((rc = need_out_pass(c, r, err)) != MTK_OK)
			return rc;
		chain = mtk_conv_sel_certs(s);
		if (chain == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "convert");
		X509_free(sk_X509_shift(chain)); /* the leaf has its own bag */
		spec.compat = compat;
		spec.key = s->key;
		spec.leaf = s->leaf;
		spec.chain = chain;
		spec.trusted = r->trusted;
		spec.ntrusted = r->ntrusted;
		spec.alias = alias;
		spec.pass = r->out_pass;
		spec.now_ms = (int64_t)c->now * 1000;
		rc = mtk_p12_write(&spec, b, err);
		sk_X509_pop_free(chain, X509_free);
		if (rc == MTK_OK)
			rc = add_out(r, c->out, b, MTK_WRITE_SECRET, "PKCS#12", c->force, err);
		return rc;
	}
	case MTK_CONV_JKS:
	case MTK_CONV_JCEKS: {
		mtk_ks_type t = to == MTK_CONV_JKS ? MTK_KS_JKS : MTK_KS_JCEKS;
		int64_t now_ms = (int64_t)c->now * 1000;
		mtk_keystore *ks = NULL;
		STACK_OF(X509) *chain = NULL;

		if ((rc = need_out_pass(c, r, err)) != MTK_OK)
			return rc;
		/* Leaf first, then its issuers, as Java stores it: only the key's
		 * own chain (keytool counts every certificate of the entry). */
		if ((chain = sk_X509_new_null()) != NULL && !mtk_sk_x509_push_ref(chain, s->leaf))
			sk_X509_pop_free(chain, X509_free), chain = NULL;
		for (int i = 0; chain != NULL && s->chain && i < sk_X509_num(s->chain); i++)
			if (!mtk_sk_x509_push_ref(chain, sk_X509_value(s->chain, i)))
				sk_X509_pop_free(chain, X509_free), chain = NULL;
		ks = mtk_keystore_new(t);
		if (chain == NULL || ks == NULL)
			rc = mtk_err_set(err, MTK_E_NOMEM, "convert");
		if (rc == MTK_OK)
			rc = mtk_keystore_add_key(ks, alias ? alias : "mykey", s->key, chain, now_ms, err);
		for (size_t i = 0; rc == MTK_OK && i < r->ntrusted; i++)
			rc = mtk_keystore_add_trusted(ks, r->trusted[i].alias, r->trusted[i].cert, now_ms,
						      err);
		if (rc == MTK_OK)
			rc = mtk_keystore_encode(ks, t, r->out_pass, NULL, b, err);
		mtk_keystore_free(ks);
		sk_X509_pop_free(chain, X509_free);
		if (rc == MTK_OK)
			rc = add_out(r, c->out, b, MTK_WRITE_SECRET,
				     t == MTK_KS_JKS ? "JKS keystore" : "JCEKS keystore", c->force, err);
		return rc;
	}
	}
	return mtk_err_set(err, MTK_E_INTERNAL, "convert: unknown target");
}

/*
 * JKS/JCEKS → any keystore type, PKCS12 → JKS/JCEKS: the keystore module
 * converts the whole store (every key, trusted and secret-key entry).
 * Returns -1 when the input is not such a store (the caller goes on with the
 * per-object path), else the exit status; *rcp holds a failure to report.
 */
static int convert_whole_store(cli *c, struct run *r, const char *path, mtk_conv_target to,
			       mtk_err *err, mtk_rc *rcp)
{
	mtk_ks_type t = to == MTK_CONV_JKS ? MTK_KS_JKS : to == MTK_CONV_JCEKS ? MTK_KS_JCEKS : MTK_KS_PKCS12;
	mtk_buf in = MTK_BUF_SECRET_INIT, out = MTK_BUF_SECRET_INIT;
	mtk_keystore *ks = NULL;
	mtk_format f;
	int ret = -1;
	mtk_rc rc;

	if ((rc = mtk_file_read(path, 0, &in, err)) != MTK_OK)
		goto out;
	f = mtk_detect(in.data, in.len);
	if (!(f == MTK_FMT_JKS || f == MTK_FMT_JCEKS || (f == MTK_FMT_PKCS12 && t != MTK_KS_PKCS12)))
		goto out; /* not a whole-store conversion */
	if (r->pass == NULL && f == MTK_FMT_PKCS12) {
		/* The empty password (or none) opens it with no flag. */
		mtk_err probe = {0};
		rc = mtk_keystore_decode(in.data, in.len, path, NULL, r->key_pass, 0, &ks, &probe);
		if (rc == MTK_OK) {
			if ((rc = need_out_pass(c, r, err)) != MTK_OK)
				goto out;
			goto decoded;
		}
		if (rc != MTK_E_PASSWORD_NEEDED) {
			*err = probe;
			goto out;
		}
	}
	if (r->pass == NULL && (rc = cli_password(c, CLI_PASS_IN, "Keystore password: ", true,
						  &r->pass, err)) != MTK_OK)
		goto out;
	if (r->pass == NULL) {
		rc = mtk_err_set(err, MTK_E_PASSWORD_NEEDED, "%s: give the store password with --pass",
				 path);
		goto out;
	}
	if ((rc = need_out_pass(c, r, err)) != MTK_OK)
		goto out;
	if ((rc = mtk_keystore_decode(in.data, in.len, path, r->pass, r->key_pass, 0, &ks, err)) !=
	    MTK_OK)
		goto out;
decoded:
	if ((rc = mtk_keystore_convert(ks, t, r->out_pass, NULL, &out, err)) != MTK_OK)
		goto out;
	if ((rc = mtk_file_write(c->out, out.data, out.len,
				 MTK_WRITE_SECRET | (c->force ? MTK_WRITE_FORCE : 0), err)) != MTK_OK)
		goto out;
	cli_set(c, "to", json_string(mtk_conv_target_name(to)));
	cli_set(c, "whole_store", json_true());
	cli_set(c, "entries", json_integer((json_int_t)ks->count));
	cli_set(c, "outputs", json_pack("[{s:s, s:s}]", "path", c->out, "what", "keystore"));
	if (!c->json)
		printf("%s: %zu entr%s converted to %s\n", c->out, ks->count,
		       ks->count == 1 ? "y" : "ies", mtk_conv_target_name(to));
	ret = 0;
out:
	mtk_keystore_free(ks);
	mtk_buf_free(&in);
	mtk_buf_free(&out);
	*rcp = rc;
	return rc == MTK_OK ? ret : -1;
}

/* --split-out PREFIX: PREFIX.key, PREFIX.crt, PREFIX-chain.pem. */
static mtk_rc encode_split(cli *c, struct run *r, const char *prefix, mtk_err *err)
{
	mtk_conv_sel *s = &r->sel;
	STACK_OF(X509) *one = NULL, *rest = NULL;
	char path[3][4096];
	mtk_rc rc = MTK_OK;

	snprintf(path[0], sizeof(path[0]), "%s.key", prefix);
	snprintf(path[1], sizeof(path[1]), "%s.crt", prefix);
	snprintf(path[2], sizeof(path[2]), "%s-chain.pem", prefix);
	for (int i = 0; i < 3; i++)
		r->bufs[i].secret = true;
	one = sk_X509_new_null();
	rest = mtk_conv_sel_certs(s);
	if (one == NULL || rest == NULL || !sk_X509_push(one, s->leaf)) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "convert");
		goto out;
	}
	X509_free(sk_X509_shift(rest));
	if ((rc = mtk_key_to_pkcs8(s->key, r->out_pass, true, &r->bufs[0], err)) != MTK_OK ||
	    (rc = mtk_certs_to_pem(one, &r->bufs[1], err)) != MTK_OK ||
	    (rc = add_out(r, path[0], &r->bufs[0], MTK_WRITE_SECRET, "private key (PKCS#8)",
			  c->force, err)) != MTK_OK ||
	    (rc = add_out(r, path[1], &r->bufs[1], 0, "certificate", c->force, err)) != MTK_OK)
		goto out;
	if (sk_X509_num(rest) > 0) {
		if ((rc = mtk_certs_to_pem(rest, &r->bufs[2], err)) != MTK_OK ||
		    (rc = add_out(r, path[2], &r->bufs[2], 0, "chain", c->force, err)) != MTK_OK)
			goto out;
	} else {
		cli_warn(c, "no chain certificates in the input: %s not written", path[2]);
	}
out:
	sk_X509_free(one); /* borrowed leaf */
	sk_X509_pop_free(rest, X509_free);
	return rc;
}

static void print_summary(cli *c, struct run *r, mtk_conv_target to, const char *split,
			  mtk_p12_compat compat)
{
	FILE *fp = (c->out != NULL && strcmp(c->out, "-") == 0) ? stderr : stdout;
	mtk_cert_summary cs;

	for (size_t i = 0; i < json_array_size(r->outputs); i++) {
		json_t *o = json_array_get(r->outputs, i);
		fprintf(fp, "wrote %s: %s", json_string_value(json_object_get(o, "path")),
			json_string_value(json_object_get(o, "content")));
		if (!split && to == MTK_CONV_PKCS12)
			fprintf(fp, " (--compat %s)", mtk_p12_compat_name(compat));
		fprintf(fp, ", mode %s\n", json_string_value(json_object_get(o, "mode")));
	}
	if (r->sel.key != NULL) {
		char desc[64];
		mtk_key_describe(r->sel.key, desc, sizeof(desc));
		fprintf(fp, "  key:   %s\n", desc);
	}
	if (r->sel.leaf != NULL && mtk_cert_summarize(r->sel.leaf, &cs, NULL) == MTK_OK)
		fprintf(fp, "  %s  %s\n", r->sel.key ? "leaf: " : "first:", cs.subject);
	for (int i = 0; r->sel.chain && i < sk_X509_num(r->sel.chain); i++)
		if (mtk_cert_summarize(sk_X509_value(r->sel.chain, i), &cs, NULL) == MTK_OK)
			fprintf(fp, "  chain: %s\n", cs.subject);
}

int cmd_convert(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"to", required_argument, NULL, OPT_TO},
						 {"split-out", required_argument, NULL, OPT_SPLIT},
						 {"compat", required_argument, NULL, OPT_COMPAT},
						 {"alias", required_argument, NULL, OPT_ALIAS},
						 {"trusted", required_argument, NULL, OPT_TRUSTED},
						 CLI_COMMON_LONGOPTS};
	struct opts o = {0};
	struct run r;
	mtk_conv_target to = MTK_CONV_PEM;
	mtk_p12_compat compat = MTK_P12_MODERN;
	mtk_err err = {0};
	json_t *inputs = NULL;
	unsigned flags = 0;
	const char *alias;
	int first = 0, ret;
	mtk_rc rc = MTK_OK;

	memset(&r, 0, sizeof(r));
	ret = cli_parse(c, argc, argv, "", longopts, on_opt, &o, usage, &first);
	if (ret != 0)
		goto done;
	if (first >= argc) {
		ret = cli_usage_error(c, usage, "no input file");
		goto done;
	}
	if ((o.to == NULL) == (o.split == NULL)) {
		ret = cli_usage_error(c, usage,
				      "give exactly one of --to FORMAT and --split-out PREFIX");
		goto done;
	}
	if (o.to != NULL && mtk_conv_target_from_name(o.to, &to) != MTK_OK) {
		ret = cli_usage_error(c, usage, "unknown format '%s' (pem, der, pkcs8, pkcs12)",
				      o.to);
		goto done;
	}
	if (o.to != NULL && c->out == NULL) {
		ret = cli_usage_error(c, usage, "--to needs -o OUT ('-' for standard output)");
		goto done;
	}
	if (o.split != NULL && (c->out != NULL || o.split[0] == '\0')) {
		ret = cli_usage_error(c, usage,
				      "--split-out PREFIX names its own three files; drop -o");
		goto done;
	}
	if (o.compat != NULL && mtk_p12_compat_from_name(o.compat, &compat) != MTK_OK) {
		ret = cli_usage_error(c, usage, "unknown --compat '%s' (modern, legacy, java)",
				      o.compat);
		goto done;
	}
	if (o.compat != NULL && (o.split != NULL || to != MTK_CONV_PKCS12)) {
		ret = cli_usage_error(c, usage, "--compat applies to --to pkcs12");
		goto done;
	}
	if (o.ntrusted > 0 && (o.split != NULL || (to != MTK_CONV_PKCS12 && to != MTK_CONV_JKS &&
						   to != MTK_CONV_JCEKS))) {
		ret = cli_usage_error(c, usage, "--trusted applies to --to pkcs12, jks and jceks");
		goto done;
	}

	/* Passwords given on the command line (prompts come later, when needed). */
	if ((rc = cli_password(c, CLI_PASS_IN, "Input password: ", false, &r.pass, &err)) !=
		MTK_OK ||
	    (rc = cli_password(c, CLI_PASS_KEY, "Key password: ", false, &r.key_pass, &err)) !=
		MTK_OK ||
	    (rc = cli_password(c, CLI_PASS_OUT, "", false, &r.out_pass, &err)) != MTK_OK)
		goto fail;

	/* One keystore in, another keystore type out, nothing to select: the
	 * whole store is converted, every entry kept. */
	if (o.split == NULL && o.alias == NULL && o.ntrusted == 0 && o.compat == NULL &&
	    argc - first == 1 && (to == MTK_CONV_JKS || to == MTK_CONV_JCEKS || to == MTK_CONV_PKCS12)) {
		int r2 = convert_whole_store(c, &r, argv[first], to, &err, &rc);
		if (r2 >= 0) {
			ret = r2;
			goto done;
		}
		if (rc != MTK_OK)
			goto fail;
	}

	inputs = json_array();
	cli_set(c, "inputs", inputs); /* borrowed from here on */
	for (int i = first; i < argc; i++) {
		mtk_container_info info = {0};
		json_t *ij;

		if ((rc = load_input(c, &r, argv[i], &info, &err)) != MTK_OK)
			goto fail;
		ij = json_pack("{s:s, s:s}", "path", argv[i], "format",
			       mtk_format_name(info.format));
		if (info.format == MTK_FMT_PKCS12) {
			json_object_set_new(
			    ij, "mac", json_string(info.p12_has_mac ? info.p12_mac_alg : "none"));
			json_object_set_new(ij, "key_encryption", json_string(info.p12_key_enc));
			json_object_set_new(ij, "cert_encryption", json_string(info.p12_cert_enc));
			json_object_set_new(ij, "legacy", json_boolean(info.p12_legacy));
		}
		json_array_append_new(inputs, ij);
	}
	for (size_t i = 0; i < o.ntrusted; i++) {
		mtk_load_opts lo = {.pass = r.pass};
		if ((rc = mtk_load_file(&r.trusted_set, o.trusted[i], &lo, NULL, NULL, &err)) !=
		    MTK_OK)
			goto fail;
	}

	if (o.split != NULL || to == MTK_CONV_PKCS12 || to == MTK_CONV_JKS || to == MTK_CONV_JCEKS)
		flags = MTK_CONV_NEED_KEY_AND_CERT;
	else if (to == MTK_CONV_PKCS8)
		flags = MTK_CONV_KEY_ONLY;
	rc = mtk_conv_select(&r.set, o.alias, flags, &r.sel, &c->findings, &err);
	if (rc == MTK_E_FINDINGS) {
		if (!c->json)
			cli_print_findings(c, stderr);
		fprintf(stderr, "mtlskit convert: nothing written\n");
		ret = cli_findings_exit(c);
		goto done;
	}
	if (rc != MTK_OK)
		goto fail;
	if (r.sel.nkeys == 0 && r.sel.ncerts == 0) {
		rc = mtk_err_set(&err, MTK_E_USAGE,
				 "the inputs hold no key and no certificate to convert");
		goto fail;
	}
	if (sk_X509_num(r.sel.unrelated) > 0 && (to == MTK_CONV_JKS || to == MTK_CONV_JCEKS))
		cli_warn(c,
			 "%d certificate%s not part of the chain of the leaf; not written (a key "
			 "entry holds only its own chain; give trust anchors with --trusted FILE)",
			 sk_X509_num(r.sel.unrelated),
			 sk_X509_num(r.sel.unrelated) == 1 ? " is" : "s are");
	else if (sk_X509_num(r.sel.unrelated) > 0)
		cli_warn(
		    c,
		    "%d certificate%s not part of the chain of the leaf; written after the chain",
		    sk_X509_num(r.sel.unrelated),
		    sk_X509_num(r.sel.unrelated) == 1 ? " is" : "s are");
	if (!c->json && c->findings.count > 0)
		cli_print_findings(c, stderr);
	{
		size_t other = 0;
		for (size_t i = 0; i < r.set.count; i++)
			other +=
			    r.set.objs[i].kind != MTK_OBJ_CERT && r.set.objs[i].kind != MTK_OBJ_KEY;
		if (other > 0)
			cli_warn(
			    c, "%zu object%s (CSR, CRL, public key, other PEM block) not converted",
			    other, other == 1 ? "" : "s");
	}

	/* Trusted entries: every certificate of the --trusted files, except the
	 * key's own (Java would then see a key entry with no chain). */
	{
		size_t n = 0;
		for (size_t i = 0; i < r.trusted_set.count; i++)
			n += r.trusted_set.objs[i].kind == MTK_OBJ_CERT;
		r.trusted = calloc(n + 1, sizeof(*r.trusted));
		r.trusted_alias = calloc(n + 1, sizeof(*r.trusted_alias));
		if (r.trusted == NULL || r.trusted_alias == NULL) {
			rc = mtk_err_set(&err, MTK_E_NOMEM, "convert");
			goto fail;
		}
	}
	alias = o.alias != NULL ? o.alias : (r.sel.key_obj ? r.sel.key_obj->alias : NULL);
	for (size_t i = 0; i < r.trusted_set.count; i++) {
		X509 *x = r.trusted_set.objs[i].cert;
		if (r.trusted_set.objs[i].kind != MTK_OBJ_CERT || x == NULL)
			continue;
		if (r.sel.leaf != NULL && X509_cmp(x, r.sel.leaf) == 0) {
			cli_warn(c, "%s: the key's own certificate is not added as a trusted entry",
				 r.trusted_set.objs[i].source);
			continue;
		}
		r.trusted[r.ntrusted].cert = x;
		trusted_alias(&r, r.ntrusted,
			      alias ? alias : (compat == MTK_P12_JAVA ? "mykey" : NULL));
		r.ntrusted++;
	}

	r.outs = mtk_outset_new();
	r.outputs = json_array();
	if (r.outs == NULL || r.outputs == NULL) {
		rc = mtk_err_set(&err, MTK_E_NOMEM, "convert");
		goto fail;
	}
	if (o.split != NULL)
		rc = encode_split(c, &r, o.split, &err);
	else
		rc = encode_target(c, &r, to, compat, alias, &err);
	if (rc != MTK_OK)
		goto fail;
	if ((rc = mtk_outset_commit(r.outs, &err)) != MTK_OK)
		goto fail;

	cli_set(c, "to", json_string(o.split ? "split" : mtk_conv_target_name(to)));
	if (o.split == NULL && to == MTK_CONV_PKCS12) {
		cli_set(c, "compat", json_string(mtk_p12_compat_name(compat)));
		cli_set(c, "alias",
			alias			 ? json_string(alias)
			: compat == MTK_P12_JAVA ? json_string("mykey")
						 : json_null());
		json_t *tj = json_array();
		for (size_t i = 0; i < r.ntrusted; i++) {
			json_t *cj = cert_json(r.trusted[i].cert, c->now);
			json_object_set_new(cj, "alias", json_string(r.trusted[i].alias));
			json_array_append_new(tj, cj);
		}
		cli_set(c, "trusted", tj);
	}
	cli_set(c, "outputs", json_incref(r.outputs));
	if (r.sel.key != NULL) {
		char desc[64];
		mtk_key_describe(r.sel.key, desc, sizeof(desc));
		cli_set(c, "key",
			json_pack("{s:s, s:s, s:s?}", "type", desc, "source", r.sel.key_obj->source,
				  "alias", r.sel.key_obj->alias));
	} else {
		cli_set(c, "key", json_null());
	}
	cli_set(c, "leaf", r.sel.leaf ? cert_json(r.sel.leaf, c->now) : json_null());
	cli_set(c, "chain", certs_json(r.sel.chain, c->now));
	cli_set(c, "unrelated", certs_json(r.sel.unrelated, c->now));
	cli_set(c, "chain_complete", json_boolean(r.sel.complete));
	cli_set(c, "reordered", json_boolean(r.sel.ncerts > 1 && !r.sel.input_order_ok));
	if (!c->json)
		print_summary(c, &r, to, o.split, compat);
	ret = MTK_EXIT_OK;
	goto done;
fail:
	ret = cli_error(c, rc, &err);
done:
	run_free(&r);
	free(o.trusted);
	return ret;
}
