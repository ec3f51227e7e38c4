/*
 * cmd_csr.c - `mtlskit csr create`: a certificate request with a validated
 * subject, key usage and EKU for its use, SANs, and optionally the Windows
 * certreq INF for the same request.
 *
 * Validation findings are printed either way; error findings stop the
 * command (exit 1, nothing written) unless --force.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mtlskit/cert.h"
#include "mtlskit/csr.h"
#include "mtlskit/file.h"
#include "mtlskit/keygen.h"

static const char create_usage[] =
	"Usage: mtlskit csr create [SUBJECT] [--usage client|server|both] [--san SAN]...\n"
	"                          (--key KEY [--pass SPEC] | --new-key TYPE --key-out KEY [--out-pass SPEC])\n"
	"                          -o CSR [--certreq-inf FILE] [--force]\n"
	"\n"
	"Subject, from flags:  --cn NAME --org NAME --ou NAME --locality CITY --state STATE\n"
	"                      --country CC --email ADDR\n"
	"     or in one go:    --subject \"/CN=mid01.example.com/O=Example Corp/C=US\"\n"
	"                  or --subject \"CN=mid01.example.com, O=Example Corp, C=US\"\n"
	"  --usage U          client (default): clientAuth; server: serverAuth; both\n"
	"  --san SAN          DNS:host,IP:10.0.0.1,email:a@example.com,URI:https://... (repeatable)\n"
	"  --key KEY          an existing private key (any format; --pass if encrypted)\n"
	"  --new-key TYPE     make a new key (" MTK_KEY_TYPES "), written to --key-out\n"
	"  --certreq-inf FILE also write the Windows `certreq -new` INF for the same request\n"
	"  --force            write even with error findings (exit 1 still); replace existing files\n";

enum {
	OPT_CN = CLI_OPT__VERB_BASE,
	OPT_ORG,
	OPT_OU,
	OPT_L,
	OPT_ST,
	OPT_C,
	OPT_EMAIL,
	OPT_SUBJECT,
	OPT_USAGE,
	OPT_SAN,
	OPT_KEY,
	OPT_NEW_KEY,
	OPT_KEY_OUT,
	OPT_INF,
};

struct csr_opts {
	const char *field[MTK_SUBJ__COUNT];
	const char *ou[16];
	size_t nou;
	const char *subject;
	const char *usage;
	mtk_sans sans;
	const char *key, *new_key, *key_out, *inf;
	mtk_err err;
	bool bad_san;
};

static int csr_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct csr_opts *o = ctx;

	switch (opt) {
	case OPT_CN:
		o->field[MTK_SUBJ_CN] = arg;
		break;
	case OPT_ORG:
		o->field[MTK_SUBJ_O] = arg;
		break;
	case OPT_OU:
		if (o->nou >= sizeof(o->ou) / sizeof(o->ou[0]))
			return cli_usage_error(c, create_usage, "too many --ou");
		o->ou[o->nou++] = arg;
		break;
	case OPT_L:
		o->field[MTK_SUBJ_L] = arg;
		break;
	case OPT_ST:
		o->field[MTK_SUBJ_ST] = arg;
		break;
	case OPT_C:
		o->field[MTK_SUBJ_C] = arg;
		break;
	case OPT_EMAIL:
		o->field[MTK_SUBJ_EMAIL] = arg;
		break;
	case OPT_SUBJECT:
		o->subject = arg;
		break;
	case OPT_USAGE:
		o->usage = arg;
		break;
	case OPT_SAN:
		if (mtk_sans_parse(&o->sans, arg, &o->err) != MTK_OK)
			return cli_usage_error(c, create_usage, "%s", o->err.detail);
		break;
	case OPT_KEY:
		o->key = arg;
		break;
	case OPT_NEW_KEY:
		o->new_key = arg;
		break;
	case OPT_KEY_OUT:
		o->key_out = arg;
		break;
	case OPT_INF:
		o->inf = arg;
		break;
	default:
		return cli_usage_error(c, create_usage, "unexpected option");
	}
	return 0;
}


static json_t *sans_json(const mtk_sans *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->count; i++)
		json_array_append_new(a, json_string(s->items[i]));
	return a;
}

static int csr_create(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cn", required_argument, NULL, OPT_CN},
		{"org", required_argument, NULL, OPT_ORG},
		{"ou", required_argument, NULL, OPT_OU},
		{"locality", required_argument, NULL, OPT_L},
		{"state", required_argument, NULL, OPT_ST},
		{"country", required_argument, NULL, OPT_C},
		{"email", required_argument, NULL, OPT_EMAIL},
		{"subject", required_argument, NULL, OPT_SUBJECT},
		{"usage", required_argument, NULL, OPT_USAGE},
		{"san", required_argument, NULL, OPT_SAN},
		{"key", required_argument, NULL, OPT_KEY},
		{"new-key", required_argument, NULL, OPT_NEW_KEY},
		{"key-out", required_argument, NULL, OPT_KEY_OUT},
		{"certreq-inf", required_argument, NULL, OPT_INF},
		CLI_COMMON_LONGOPTS,
	};
	/* X.500 order, as CAs and openssl write it: C, ST, L, O, OU, CN, email. */
	static const mtk_subj_field order[] = {MTK_SUBJ_C, MTK_SUBJ_ST, MTK_SUBJ_L, MTK_SUBJ_O};
	struct csr_opts o = {0};
	mtk_subject subj = MTK_SUBJECT_INIT;
	mtk_usage usage = MTK_USAGE_CLIENT;
	mtk_buf csr_b = MTK_BUF_INIT, key_b = MTK_BUF_SECRET_INIT, inf_b = MTK_BUF_INIT;
	mtk_secret *opass = NULL;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	mtk_outset *os = NULL;
	mtk_err err = {0};
	unsigned wf = 0;
	char subj_s[512], ktype[32];
	bool flags_given = false;
	int first, r, ret = 0;
	mtk_rc rc = MTK_OK;

	r = cli_parse(c, argc, argv, "", longopts, csr_opt, &o, create_usage, &first);
	wf = c->force ? MTK_WRITE_FORCE : 0;
	if (r != 0) {
		mtk_sans_free(&o.sans);
		return r;
	}
	for (int i = 0; i < MTK_SUBJ__COUNT; i++)
		flags_given |= o.field[i] != NULL;
	flags_given |= o.nou > 0;
	if (first < argc)
		ret = cli_usage_error(c, create_usage, "unexpected argument '%s'", argv[first]);
	else if (c->out == NULL)
		ret = cli_usage_error(c, create_usage, "-o CSR is required");
	else if (o.subject != NULL && flags_given)
		ret = cli_usage_error(c, create_usage, "give the subject either with --subject or with --cn/--org/..., not both");
	else if (o.subject == NULL && !flags_given)
		ret = cli_usage_error(c, create_usage, "a subject is needed: --cn host.example.com (and --org, --country, ...)");
	else if ((o.key == NULL) == (o.new_key == NULL))
		ret = cli_usage_error(c, create_usage, "give exactly one of --key KEY or --new-key TYPE");
	else if (o.new_key != NULL && o.key_out == NULL)
		ret = cli_usage_error(c, create_usage, "--new-key needs --key-out KEY");
	else if (o.key != NULL && o.key_out != NULL)
		ret = cli_usage_error(c, create_usage, "--key-out goes with --new-key");
	else if (o.new_key != NULL && !mtk_key_type_valid(o.new_key))
		ret = cli_usage_error(c, create_usage, "--new-key '%s': use %s", o.new_key, MTK_KEY_TYPES);
	else if (o.usage != NULL && mtk_usage_parse(o.usage, &usage, NULL) != MTK_OK)
		ret = cli_usage_error(c, create_usage, "--usage must be client, server or both");
	if (ret != 0)
		goto out;

	if (o.subject != NULL) {
		rc = mtk_subject_parse(&subj, o.subject, strlen(o.subject), &err);
		if (rc != MTK_OK) {
			ret = cli_usage_error(c, create_usage, "%s", err.detail);
			goto out;
		}
	} else {
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && rc == MTK_OK; i++)
			if (o.field[order[i]] != NULL)
				rc = mtk_subject_add(&subj, order[i], o.field[order[i]], &err);
		for (size_t i = 0; i < o.nou && rc == MTK_OK; i++)
			rc = mtk_subject_add(&subj, MTK_SUBJ_OU, o.ou[i], &err);
		if (rc == MTK_OK && o.field[MTK_SUBJ_CN] != NULL)
			rc = mtk_subject_add(&subj, MTK_SUBJ_CN, o.field[MTK_SUBJ_CN], &err);
		if (rc == MTK_OK && o.field[MTK_SUBJ_EMAIL] != NULL)
			rc = mtk_subject_add(&subj, MTK_SUBJ_EMAIL, o.field[MTK_SUBJ_EMAIL], &err);
		if (rc != MTK_OK)
			goto fail;
	}
	if ((rc = mtk_csr_validate(&subj, &o.sans, usage, c->out, &c->findings)) != MTK_OK)
		goto fail;
	if (cli_findings_exit(c) != 0 && !c->force) {
		if (!c->json) {
			cli_print_findings(c, stderr);
			fprintf(stderr, "mtlskit %s: nothing written: fix the errors above (or use --force)\n", c->verb);
		}
		ret = MTK_EXIT_FINDINGS;
		goto out;
	}
	/* Refuse early what would be refused at the end, before making a key. */
	if (!c->force) {
		const char *outs[] = {c->out, o.key_out, o.inf};
		for (size_t i = 0; i < 3; i++) {
			if (outs[i] != NULL && strcmp(outs[i], "-") != 0 && access(outs[i], F_OK) == 0) {
				rc = mtk_err_set(&err, MTK_E_EXISTS, "%s", outs[i]);
				goto fail;
			}
		}
	}
	if (o.key != NULL) {
		if ((rc = cli_load_key(c, o.key, &key, &err)) != MTK_OK)
			goto fail;
	} else {
		if ((rc = cli_password(c, CLI_PASS_OUT, "Password for the new key: ", false, &opass, &err)) != MTK_OK ||
		    (rc = mtk_key_generate(o.new_key, &key, &err)) != MTK_OK ||
		    (rc = mtk_key_pem_private(key, opass, &key_b, &err)) != MTK_OK)
			goto fail;
	}
	if ((rc = mtk_subject_to_name(&subj, &name, &err)) != MTK_OK ||
	    (rc = mtk_csr_build(key, name, &o.sans, usage, &req, &err)) != MTK_OK ||
	    (rc = mtk_csr_pem(req, &csr_b, &err)) != MTK_OK)
		goto fail;
	if (o.inf != NULL && (rc = mtk_csr_inf(&subj, &o.sans, usage, key, &inf_b, &err)) != MTK_OK)
		goto fail;
	if ((os = mtk_outset_new()) == NULL) {
		rc = mtk_err_set(&err, MTK_E_NOMEM, "outputs");
		goto fail;
	}
	if ((rc = mtk_outset_add(os, c->out, csr_b.data, csr_b.len, wf, &err)) != MTK_OK ||
	    (o.key_out && (rc = mtk_outset_add(os, o.key_out, key_b.data, key_b.len, wf | MTK_WRITE_SECRET, &err)) != MTK_OK) ||
	    (o.inf && (rc = mtk_outset_add(os, o.inf, inf_b.data, inf_b.len, wf, &err)) != MTK_OK) ||
	    (rc = mtk_outset_commit(os, &err)) != MTK_OK)
		goto fail;

	mtk_name_string(name, subj_s, sizeof(subj_s));
	mtk_key_type_name(key, ktype, sizeof(ktype));
	cli_set(c, "csr", json_string(c->out));
	cli_set(c, "subject", json_string(subj_s));
	cli_set(c, "sans", sans_json(&o.sans));
	cli_set(c, "usage", json_string(usage == MTK_USAGE_SERVER ? "server" : usage == MTK_USAGE_BOTH ? "both" : "client"));
	cli_set(c, "key_type", json_string(ktype));
	cli_set(c, "key", json_string(o.key ? o.key : o.key_out));
	cli_set(c, "key_written", json_boolean(o.key_out != NULL));
	cli_set(c, "certreq_inf", o.inf ? json_string(o.inf) : json_null());
	if (!c->json) {
		cli_print_findings(c, stderr);
		printf("wrote %s: request for %s (%s, %s)\n", c->out, subj_s, ktype,
		       usage == MTK_USAGE_SERVER ? "serverAuth" : usage == MTK_USAGE_BOTH ? "serverAuth+clientAuth" : "clientAuth");
		if (o.key_out)
			printf("wrote %s: %s private key, %s, mode 0600\n", o.key_out, ktype, opass ? "encrypted PKCS#8" : "PKCS#8");
		if (o.inf)
			printf("wrote %s: Windows request, run `certreq -new %s request.csr`\n", o.inf, o.inf);
	}
	/* --force wrote despite error findings; the findings stand (exit 1),
	 * as with every verb (docs/cli.md). */
	ret = cli_findings_exit(c);
	goto out;
fail:
	ret = cli_error(c, rc, &err);
out:
	mtk_outset_free(os);
	X509_REQ_free(req);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	mtk_secret_free(opass);
	mtk_buf_free(&csr_b);
	mtk_buf_free(&key_b);
	mtk_buf_free(&inf_b);
	mtk_subject_free(&subj);
	mtk_sans_free(&o.sans);
	return ret;
}

int cmd_csr(cli *c, int argc, char **argv)
{
	static const struct cli_verb subs[] = {
		{"create", csr_create, "A certificate request with a validated subject, usage and SANs"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch_sub(c, "csr", subs, argc, argv);
}
