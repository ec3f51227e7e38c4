/*
 * cmd_key.c - `mtlskit key generate`: a new private key, PKCS#8 PEM, mode
 * 0600, optionally encrypted (--out-pass: PBES2, PBKDF2-HMAC-SHA256,
 * AES-256-CBC); the public key on stdout or in --pub-out.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtlskit/file.h"
#include "mtlskit/keygen.h"

static const char gen_usage[] =
	"Usage: mtlskit key generate [--key-type TYPE] -o KEY [--out-pass SPEC] [--pub-out FILE] [--force]\n"
	"\n"
	"  --key-type TYPE  " MTK_KEY_TYPES " (default rsa:2048);\n"
	"                   --type is the same (DESIGN's spelling)\n"
	"  -o, --out KEY    the private key, PKCS#8 PEM, written with mode 0600\n"
	"  --out-pass SPEC  encrypt it (AES-256-CBC, PBKDF2); SPEC: env:VAR, file:PATH, fd:N, pass:TEXT\n"
	"  --pub-out FILE   write the public key there instead of standard output\n"
	"  --force          replace existing files\n";

enum { OPT_TYPE = CLI_OPT__VERB_BASE, OPT_PUB_OUT };

struct gen_opts {
	const char *type;
	const char *pub_out;
};

static int gen_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct gen_opts *o = ctx;

	(void)c;
	if (opt == OPT_TYPE)
		o->type = arg;
	else if (opt == OPT_PUB_OUT)
		o->pub_out = arg;
	return 0;
}

static int key_generate(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key-type", required_argument, NULL, OPT_TYPE},
		{"type", required_argument, NULL, OPT_TYPE},
		{"pub-out", required_argument, NULL, OPT_PUB_OUT},
		CLI_COMMON_LONGOPTS,
	};
	struct gen_opts o = {"rsa:2048", NULL};
	mtk_buf priv = MTK_BUF_SECRET_INIT, pub = MTK_BUF_INIT;
	mtk_secret *pass = NULL;
	EVP_PKEY *key = NULL;
	mtk_outset *os = NULL;
	mtk_err err = {0};
	char tname[32];
	unsigned fl;
	int first, r;
	mtk_rc rc;

	r = cli_parse(c, argc, argv, "", longopts, gen_opt, &o, gen_usage, &first);
	if (r != 0)
		return r;
	if (first < argc)
		return cli_usage_error(c, gen_usage, "unexpected argument '%s'", argv[first]);
	if (c->out == NULL)
		return cli_usage_error(c, gen_usage, "-o KEY is required");
	if (!mtk_key_type_valid(o.type))
		return cli_usage_error(c, gen_usage, "--key-type '%s': use %s", o.type, MTK_KEY_TYPES);
	if (o.pub_out != NULL && strcmp(o.pub_out, c->out) == 0)
		return cli_usage_error(c, gen_usage, "--pub-out and -o name the same file");
	fl = MTK_WRITE_SECRET | (c->force ? MTK_WRITE_FORCE : 0);
	if ((rc = cli_password(c, CLI_PASS_OUT, "Password for the new key: ", false, &pass, &err)) != MTK_OK)
		goto out;
	if ((rc = mtk_key_generate(o.type, &key, &err)) != MTK_OK ||
	    (rc = mtk_key_pem_private(key, pass, &priv, &err)) != MTK_OK ||
	    (rc = mtk_key_pem_public(key, &pub, &err)) != MTK_OK)
		goto out;
	os = mtk_outset_new();
	if (os == NULL) {
		rc = mtk_err_set(&err, MTK_E_NOMEM, "outputs");
		goto out;
	}
	if ((rc = mtk_outset_add(os, c->out, priv.data, priv.len, fl, &err)) != MTK_OK)
		goto out;
	if (o.pub_out != NULL &&
	    (rc = mtk_outset_add(os, o.pub_out, pub.data, pub.len, c->force ? MTK_WRITE_FORCE : 0, &err)) != MTK_OK)
		goto out;
	if ((rc = mtk_outset_commit(os, &err)) != MTK_OK)
		goto out;
	mtk_key_type_name(key, tname, sizeof(tname));
	cli_set(c, "key", json_string(c->out));
	cli_set(c, "type", json_string(tname));
	cli_set(c, "format", json_string(pass ? "PKCS#8 encrypted (PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC)" : "PKCS#8"));
	cli_set(c, "encrypted", json_boolean(pass != NULL));
	cli_set(c, "public_key", o.pub_out ? json_string(o.pub_out) : json_null());
	if (c->json) {
		if (o.pub_out == NULL)
			cli_set(c, "public_key_pem", json_stringn((const char *)pub.data, pub.len));
	} else {
		cli_note(c, "wrote %s: %s private key, %s, mode 0600", c->out, tname,
			pass ? "encrypted PKCS#8 (AES-256-CBC, PBKDF2)" : "PKCS#8");
		if (o.pub_out == NULL)
			fwrite(pub.data, 1, pub.len, c->data);
		else
			cli_note(c, "wrote %s: public key", o.pub_out);
	}
out:
	mtk_outset_free(os);
	EVP_PKEY_free(key);
	mtk_buf_free(&priv);
	mtk_buf_free(&pub);
	mtk_secret_free(pass);
	return rc == MTK_OK ? 0 : cli_error(c, rc, &err);
}

int cmd_key(cli *c, int argc, char **argv)
{
	static const struct cli_verb subs[] = {
		{"generate", key_generate, "A new private key (PKCS#8 PEM, mode 0600)"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch_sub(c, "key", subs, argc, argv);
}
