/*
 * cmd_renew.c - `mtlskit renew CERT`: the request for a certificate's
 * successor, carrying its subject, SANs, key usage and EKU, signed with the
 * same key (--key) or a new one (--new-key).
 *
 * Keeping the key: a --key that is not the certificate's key gets a
 * `key-mismatch` error finding (exit 1, nothing written), since a renewal
 * "with the same key" that silently changes the key breaks pinning and
 * whatever holds the old key; --force writes the request anyway.  The
 * subject is validated as `csr create` does (findings, --force).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "cli.h"
#include "mtlskit/cert.h"
#include "mtlskit/csr.h"
#include "mtlskit/file.h"
#include "mtlskit/keygen.h"

static const char renew_usage[] =
	"Usage: mtlskit renew CERT (--key KEY [--pass SPEC] | --new-key TYPE --key-out KEY [--out-pass SPEC])\n"
	"                     [--usage client|server|both] -o CSR [--force]\n"
	"\n"
	"A renewal request with CERT's subject, subjectAltName, keyUsage and extendedKeyUsage.\n"
	"  --key KEY       keep the current key (it must be CERT's key: else key-mismatch)\n"
	"  --new-key TYPE  a new key (" MTK_KEY_TYPES "), written to --key-out\n"
	"  --usage U       ask for this use instead of CERT's: client (clientAuth), server\n"
	"                  (serverAuth) or both; keyUsage and EKU as csr create sets them\n"
	"  --force         write despite error findings (exit 1 still); replace existing files\n"
	"CERT may be any format the loader reads (PEM, DER, PFX with --pass, ...);\n"
	"its first certificate is renewed.\n";

enum { OPT_KEY = CLI_OPT__VERB_BASE, OPT_NEW_KEY, OPT_KEY_OUT, OPT_USAGE };

struct renew_opts {
	const char *key, *new_key, *key_out, *usage;
};

static int renew_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct renew_opts *o = ctx;

	if (opt == OPT_KEY)
		o->key = arg;
	else if (opt == OPT_NEW_KEY)
		o->new_key = arg;
	else if (opt == OPT_KEY_OUT)
		o->key_out = arg;
	else if (opt == OPT_USAGE)
		o->usage = arg;
	else
		return cli_usage_error(c, renew_usage, "unexpected option");
	return 0;
}


int cmd_renew(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, OPT_KEY},
		{"new-key", required_argument, NULL, OPT_NEW_KEY},
		{"key-out", required_argument, NULL, OPT_KEY_OUT},
		{"usage", required_argument, NULL, OPT_USAGE},
		CLI_COMMON_LONGOPTS,
	};
	struct renew_opts o = {0};
	mtk_subject subj = MTK_SUBJECT_INIT;
	mtk_sans sans = MTK_SANS_INIT;
	mtk_buf csr_b = MTK_BUF_INIT, key_b = MTK_BUF_SECRET_INIT;
	mtk_secret *opass = NULL, *cpass = NULL;
	GENERAL_NAMES *gens = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	mtk_usage usage = MTK_USAGE_NONE, forced = MTK_USAGE_NONE;
	X509 *cert = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	mtk_outset *os = NULL;
	mtk_err err = {0};
	unsigned wf = 0;
	char subj_s[512], ktype[32];
	const char *certpath;
	int first, r, ret = 0;
	mtk_rc rc = MTK_OK;

	r = cli_parse(c, argc, argv, "", longopts, renew_opt, &o, renew_usage, &first);
	wf = c->force ? MTK_WRITE_FORCE : 0;
	if (r != 0)
		return r;
	if (first + 1 != argc)
		return cli_usage_error(c, renew_usage, "one certificate is needed");
	if (c->out == NULL)
		return cli_usage_error(c, renew_usage, "-o CSR is required");
	if ((o.key == NULL) == (o.new_key == NULL))
		return cli_usage_error(c, renew_usage, "give exactly one of --key KEY or --new-key TYPE");
	if (o.new_key != NULL && o.key_out == NULL)
		return cli_usage_error(c, renew_usage, "--new-key needs --key-out KEY");
	if (o.key != NULL && o.key_out != NULL)
		return cli_usage_error(c, renew_usage, "--key-out goes with --new-key");
	if (o.new_key != NULL && !mtk_key_type_valid(o.new_key))
		return cli_usage_error(c, renew_usage, "--new-key '%s': use %s", o.new_key, MTK_KEY_TYPES);
	if (o.usage != NULL && mtk_usage_parse(o.usage, &forced, &err) != MTK_OK)
		return cli_usage_error(c, renew_usage, "--usage '%s': use client, server or both", o.usage);
	certpath = argv[first];

	/* A PFX may hold the certificate: --pass opens it. */
	if (c->pass_spec != NULL && (rc = cli_password(c, CLI_PASS_IN, "", false, &cpass, &err)) != MTK_OK)
		goto fail;
	if ((rc = mtk_cert_load_first(certpath, cpass, &cert, &err)) != MTK_OK)
		goto fail;
	if ((rc = mtk_subject_from_name(&subj, X509_get_subject_name(cert), &err)) != MTK_OK)
		goto fail;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL && (rc = mtk_sans_from_names(&sans, gens, &err)) != MTK_OK)
		goto fail;
	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
		int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		if (nid == NID_client_auth)
			usage |= MTK_USAGE_CLIENT;
		else if (nid == NID_server_auth)
			usage |= MTK_USAGE_SERVER;
	}
	if (forced != MTK_USAGE_NONE)
		usage = forced;
	if (!c->force) {
		const char *outs[] = {c->out, o.key_out};
		for (size_t i = 0; i < 2; i++)
			if (outs[i] != NULL && strcmp(outs[i], "-") != 0 && access(outs[i], F_OK) == 0) {
				rc = mtk_err_set(&err, MTK_E_EXISTS, "%s", outs[i]);
				goto fail;
			}
	}
	if (o.key != NULL) {
		if ((rc = cli_load_key(c, o.key, &key, &err)) != MTK_OK)
			goto fail;
		char fix[600];
		snprintf(fix, sizeof(fix), "mtlskit renew %.200s --new-key rsa:2048 --key-out new.key -o %.200s",
			 certpath, c->out);
		if (!mtk_key_matches_cert(key, cert) &&
		    mtk_findings_add(&c->findings, MTK_F_KEY_MISMATCH, MTK_SEV_ERROR, o.key, 0, NULL, fix,
				     "this key is not the key of %s; renewing with --key keeps the certificate's key (use --new-key to change it)",
				     certpath) != MTK_OK) {
			rc = mtk_err_set(&err, MTK_E_NOMEM, "findings");
			goto fail;
		}
	}
	if ((rc = mtk_csr_validate(&subj, &sans, usage, c->out, &c->findings)) != MTK_OK) {
		mtk_err_set(&err, rc, "findings");
		goto fail;
	}
	if (cli_findings_exit(c) != 0 && !c->force) {
		if (!c->json) {
			cli_print_findings(c, stderr);
			fprintf(stderr, "mtlskit %s: nothing written: fix the errors above (or use --force)\n", c->verb);
		}
		ret = MTK_EXIT_FINDINGS;
		goto out;
	}
	if (o.new_key != NULL) {
		if ((rc = cli_password(c, CLI_PASS_OUT, "Password for the new key: ", false, &opass, &err)) != MTK_OK ||
		    (rc = mtk_key_generate(o.new_key, &key, &err)) != MTK_OK ||
		    (rc = mtk_key_pem_private(key, opass, &key_b, &err)) != MTK_OK)
			goto fail;
	}
	/* --usage: the request asks for that use (keyUsage and EKU made as
	 * csr create makes them), whatever the old certificate had. */
	rc = forced != MTK_USAGE_NONE
		     ? mtk_csr_build(key, X509_get_subject_name(cert), &sans, forced, &req, &err)
		     : mtk_csr_renew(cert, key, &req, &err);
	if (rc != MTK_OK || (rc = mtk_csr_pem(req, &csr_b, &err)) != MTK_OK)
		goto fail;
	if ((os = mtk_outset_new()) == NULL) {
		rc = mtk_err_set(&err, MTK_E_NOMEM, "outputs");
		goto fail;
	}
	if ((rc = mtk_outset_add(os, c->out, csr_b.data, csr_b.len, wf, &err)) != MTK_OK ||
	    (o.key_out && (rc = mtk_outset_add(os, o.key_out, key_b.data, key_b.len, wf | MTK_WRITE_SECRET, &err)) != MTK_OK) ||
	    (rc = mtk_outset_commit(os, &err)) != MTK_OK)
		goto fail;
	mtk_name_string(X509_get_subject_name(cert), subj_s, sizeof(subj_s));
	mtk_key_type_name(key, ktype, sizeof(ktype));
	{
		json_t *a = json_array();
		for (size_t i = 0; i < sans.count; i++)
			json_array_append_new(a, json_string(sans.items[i]));
		cli_set(c, "csr", json_string(c->out));
		cli_set(c, "certificate", json_string(certpath));
		cli_set(c, "subject", json_string(subj_s));
		cli_set(c, "sans", a);
		cli_set(c, "key_type", json_string(ktype));
		cli_set(c, "new_key", json_boolean(o.new_key != NULL));
		cli_set(c, "usage", usage == MTK_USAGE_BOTH     ? json_string("both")
				    : usage == MTK_USAGE_CLIENT ? json_string("client")
				    : usage == MTK_USAGE_SERVER ? json_string("server")
								: json_null());
		cli_set(c, "key", json_string(o.key ? o.key : o.key_out));
	}
	if (!c->json) {
		cli_print_findings(c, stderr);
		printf("wrote %s: renewal request for %s (%s, %s key)\n", c->out, subj_s, ktype,
		       o.new_key ? "new" : "same");
		if (o.key_out)
			printf("wrote %s: %s private key, %s, mode 0600\n", o.key_out, ktype,
			       opass ? "encrypted PKCS#8" : "PKCS#8");
	}
	/* --force wrote despite error findings; the findings stand (exit 1). */
	ret = cli_findings_exit(c);
	goto out;
fail:
	ret = cli_error(c, rc, &err);
out:
	mtk_outset_free(os);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	X509_free(cert);
	GENERAL_NAMES_free(gens);
	EXTENDED_KEY_USAGE_free(eku);
	mtk_secret_free(opass);
	mtk_secret_free(cpass);
	mtk_buf_free(&csr_b);
	mtk_buf_free(&key_b);
	mtk_subject_free(&subj);
	mtk_sans_free(&sans);
	return ret;
}
