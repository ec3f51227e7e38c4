/*
 * ks_common.c - keystore opening/saving and key sources shared by
 * `mtlskit keystore` and `mtlskit mid`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_cli.h"
#include "mtlskit/chain.h"
#include "mtlskit/file.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"

/* The store password a keystore verb tries after --pass, and gives a new
 * store (mid.h: MTK_MID_KEYSTORE_VERB); a copy the caller frees. */
static mtk_secret *default_pass(const char *path)
{
	const mtk_secret *d = mtk_mid_default_for(MTK_MID_KEYSTORE_VERB, path);

	return d != NULL ? mtk_secret_new(d->s, d->len) : NULL;
}

void ks_close(struct ksfile *f)
{
	mtk_keystore_free(f->ks);
	mtk_secret_free(f->store_pass);
	mtk_secret_free(f->key_pass);
	mtk_lock_release(f->lock);
	memset(f, 0, sizeof(*f));
}

/* A lazily read JKS/JCEKS takes b's bytes on success (b is then empty):
 * the file is read once and never copied. */
static int decode_with(cli *c, mtk_buf *b, const char *path, unsigned flags, struct ksfile *f,
		       mtk_err *err)
{
	return (int)mtk_keystore_decode_buf(b, path, f->store_pass, f->key_pass, flags, &f->ks,
					    err);
	(void)c;
}

/* ks_open on a zeroed or locked f. */
static int open_store(cli *c, const char *path, unsigned flags, struct ksfile *f)
{
	mtk_buf b = MTK_BUF_INIT; /* the keys in it are encrypted */
	mtk_err err = {0};
	mtk_rc rc;
	int r = 0;

	f->path = path;
	if ((rc = mtk_file_read(path, 0, &b, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	if ((rc = cli_password(c, CLI_PASS_KEY, NULL, false, &f->key_pass, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (c->pass_spec != NULL) {
		if ((rc = cli_password(c, CLI_PASS_IN, NULL, false, &f->store_pass, &err)) !=
		    MTK_OK) {
			r = cli_error(c, rc, &err);
			goto out;
		}
		rc = (mtk_rc)decode_with(c, &b, path, flags, f, &err);
		if (rc == MTK_E_INTEGRITY && c->store_pass_then_default) {
			mtk_secret_free(f->store_pass);
			f->store_pass = default_pass(path);
			if (f->store_pass == NULL) {
				r = cli_error(c, MTK_E_NOMEM, NULL);
				goto out;
			}
			mtk_err_clear(&err);
			rc = (mtk_rc)decode_with(c, &b, path, flags, f, &err);
			if (rc == MTK_E_INTEGRITY) {
				mtk_err_clear(&err);
				rc = mtk_err_set(&err, MTK_E_INTEGRITY,
						 "%s: keystore password is incorrect or the file was altered "
						 "(--pass and the default \"changeit\" were tried; give the "
						 "store's with --out-pass SPEC)",
						 path);
			}
		}
	} else {
		/* No --pass: the MID default is tried (mid.h); then a
		 * prompt when there is a terminal. */
		f->store_pass = default_pass(path);
		if (f->store_pass == NULL) {
			r = cli_error(c, MTK_E_NOMEM, NULL);
			goto out;
		}
		rc = (mtk_rc)decode_with(c, &b, path, flags, f, &err);
		if (rc == MTK_E_INTEGRITY && mtk_ks_detect(b.data, b.len) == MTK_KS_PKCS12) {
			/* A PKCS12 with the empty password (or none) opens with no flag. */
			mtk_secret *empty = mtk_secret_new("", 0);
			mtk_err probe = {0};
			if (empty != NULL &&
			    mtk_keystore_decode(b.data, b.len, path, NULL, f->key_pass, flags, &f->ks,
						&probe) == MTK_OK) {
				mtk_secret_free(f->store_pass);
				f->store_pass = empty;
				empty = NULL;
				mtk_err_clear(&err);
				rc = MTK_OK;
			}
			mtk_secret_free(empty);
		}
		if (rc == MTK_E_INTEGRITY && isatty(STDIN_FILENO)) {
			mtk_secret_free(f->store_pass);
			f->store_pass = NULL;
			mtk_err_clear(&err);
			rc = cli_password(c, CLI_PASS_IN, "Enter keystore password: ", true,
					  &f->store_pass, &err);
			if (rc == MTK_OK && f->store_pass != NULL)
				rc = (mtk_rc)decode_with(c, &b, path, flags, f, &err);
		} else if (rc == MTK_E_INTEGRITY) {
			mtk_err_clear(&err);
			rc = mtk_err_set(
			    &err, MTK_E_INTEGRITY,
			    "%s: keystore password is incorrect or the file was altered "
			    "(the default \"changeit\" was tried; give --pass SPEC)",
			    path);
		}
	}
	if (rc != MTK_OK)
		r = cli_error(c, rc, &err);
out:
	mtk_buf_free(&b);
	if (r != 0)
		ks_close(f);
	return r;
}

const char *ks_source_and_store_pass(cli *c, const char *old_src)
{
	const char *src = c->pass_spec;

	if (old_src != NULL) {
		cli_warn(c, "--src-pass is deprecated: give the source's password with --pass and the "
			    "store's with --out-pass");
		src = old_src;
		if (c->out_pass_spec != NULL)
			c->pass_spec = c->out_pass_spec;
	} else if (c->out_pass_spec != NULL) {
		c->pass_spec = c->out_pass_spec;
	} else if (c->pass_spec != NULL) {
		c->store_pass_then_default = true;
		c->store_new_is_default = true;
	}
	c->out_pass_spec = NULL;
	return src;
}

int ks_open(cli *c, const char *path, unsigned flags, struct ksfile *f)
{
	memset(f, 0, sizeof(*f));
	return open_store(c, path, flags, f);
}

static int lock_store(cli *c, const char *path, struct ksfile *f)
{
	mtk_err err = {0};
	mtk_rc rc;

	memset(f, 0, sizeof(*f));
	if ((rc = mtk_lock_edit(path, &f->lock, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

int ks_open_edit(cli *c, const char *path, unsigned flags, struct ksfile *f)
{
	struct stat st;
	int r;

	/* No store, nothing to edit: open_store reports it, and no lock file
	 * is left beside a name that was mistyped. */
	if (stat(path, &st) != 0 && errno == ENOENT)
		return ks_open(c, path, flags, f);
	r = lock_store(c, path, f);
	return r != 0 ? r : open_store(c, path, flags, f);
}

static mtk_ks_type type_from_path(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot != NULL && strcasecmp(dot, ".jks") == 0)
		return MTK_KS_JKS;
	if (dot != NULL && strcasecmp(dot, ".jceks") == 0)
		return MTK_KS_JCEKS;
	return MTK_KS_PKCS12;
}

int ks_open_or_create(cli *c, const char *path, const char *type, struct ksfile *f)
{
	return ks_open_or_create_flags(c, path, type, MTK_KS_READ_NO_KEYS, f);
}

int ks_open_or_create_flags(cli *c, const char *path, const char *type, unsigned flags,
			    struct ksfile *f)
{
	mtk_ks_type t = MTK_KS_UNKNOWN;
	mtk_err err = {0};
	struct stat st;
	mtk_rc rc;

	int r;

	memset(f, 0, sizeof(*f));
	if (type != NULL && mtk_ks_type_from_name(type, &t) != MTK_OK)
		return cli_usage_error(c, NULL, "--type must be jks, jceks or pkcs12");
	/* Locked before looking: two creators of one new store take turns. */
	if ((r = lock_store(c, path, f)) != 0)
		return r;
	if (stat(path, &st) == 0 || errno != ENOENT) {
		r = open_store(c, path, flags, f);
		if (r == 0 && t != MTK_KS_UNKNOWN && t != f->ks->type) {
			r = cli_error(c,
				      mtk_err_set(&err, MTK_E_INVALID_ARG,
						  "%s is a %s keystore, not %s", path,
						  mtk_ks_type_java_name(f->ks->type),
						  mtk_ks_type_java_name(t)),
				      &err);
			ks_close(f);
		}
		return r;
	}
	f->path = path;
	f->created = true;
	if (t == MTK_KS_UNKNOWN)
		t = type_from_path(path);
	/* A new store is "changeit" (what the MID Server expects of an agent
	 * keystore) unless --out-pass says otherwise: --pass was the source's. */
	if ((!c->store_new_is_default &&
	     (rc = cli_password(c, CLI_PASS_IN, NULL, false, &f->store_pass, &err)) != MTK_OK) ||
	    (rc = cli_password(c, CLI_PASS_KEY, NULL, false, &f->key_pass, &err)) != MTK_OK) {
		ks_close(f);
		return cli_error(c, rc, &err);
	}
	if (f->store_pass == NULL) {
		f->store_pass = default_pass(path);
		if (!c->json)
			cli_warn(c, "creating %s with the default store password \"changeit\"",
				 path);
	}
	if (f->store_pass == NULL || (f->ks = mtk_keystore_new(t)) == NULL) {
		ks_close(f);
		return cli_error(c, MTK_E_NOMEM, NULL);
	}
	/* keytool's rule for new stores and keys. */
	if (f->store_pass->len < 6 || (f->key_pass != NULL && f->key_pass->len < 6)) {
		ks_close(f);
		return cli_error(
		    c,
		    mtk_err_set(&err, MTK_E_INVALID_ARG,
				"Password is too short - must be at least 6 characters"),
		    &err);
	}
	return 0;
}

int ks_save(cli *c, struct ksfile *f)
{
	mtk_err err = {0};
	mtk_rc rc;

	if (f->ks->type == MTK_KS_PKCS12 && f->key_pass != NULL &&
	    (f->key_pass->len != f->store_pass->len ||
	     memcmp(f->key_pass->s, f->store_pass->s, f->key_pass->len) != 0))
		cli_warn(c,
			 "PKCS12 has no separate key password: keys are protected with the store "
			 "password");
	/* Written in pieces: the unchanged runs of a lazily read JKS/JCEKS go
	 * to the file from the bytes read, never through an output buffer. */
	rc = mtk_keystore_save(f->ks, f->path, f->store_pass, f->key_pass,
			       MTK_WRITE_SECRET | MTK_WRITE_FORCE, &err);
	if (rc != MTK_OK)
		return cli_error(c, rc, &err);
	return 0;
}

static int resolve_src(cli *c, const char *spec, mtk_secret **out, mtk_err *err)
{
	unsigned flags = 0;
	mtk_rc rc;

	*out = NULL;
	if (spec == NULL)
		return MTK_OK;
	rc = mtk_pass_resolve(spec, NULL, &c->pass_io, out, &flags, err);
	if (rc == MTK_OK && (flags & MTK_PASS_VISIBLE))
		cli_warn(c, "--src-pass pass:... is visible to other users in the process list; "
			    "prefer env:VAR, file:PATH or fd:N");
	return (int)rc;
}

int ks_source_files(cli *c, const char *const *files, int n, const char *pass_spec, EVP_PKEY **key,
		    STACK_OF(X509) * *chain)
{
	mtk_set set = MTK_SET_INIT;
	mtk_secret *pass = NULL;
	mtk_load_opts opts = {0};
	mtk_chain ch;
	mtk_err err = {0};
	mtk_rc rc;
	int r = 0;

	memset(&ch, 0, sizeof(ch));
	if ((rc = (mtk_rc)resolve_src(c, pass_spec, &pass, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	opts.pass = pass;
	opts.require_decrypt = true;
	for (int i = 0; i < n; i++) {
		if ((rc = mtk_load_file(&set, files[i], &opts, NULL, NULL, &err)) != MTK_OK) {
			if (rc == MTK_E_PASSWORD_NEEDED || rc == MTK_E_BAD_PASSWORD)
				cli_warn(c, "give the password of %s with --src-pass SPEC",
					 files[i]);
			r = cli_error(c, rc, &err);
			goto out;
		}
	}
	if ((rc = mtk_chain_build(&set, NULL, 0, &ch, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (ch.key == NULL || !ch.key_matches) {
		rc = mtk_err_set(&err, ch.nkeys ? MTK_E_KEY_MISMATCH : MTK_E_NOT_FOUND,
				 ch.nkeys
				     ? "the private key does not belong to any certificate given"
				     : "no private key in the input (a key entry needs one)");
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (!ch.complete)
		cli_warn(c, "the chain does not end in a self-signed root certificate");
	*chain = sk_X509_new_null();
	if (*chain == NULL || !sk_X509_push(*chain, ch.leaf)) {
		sk_X509_free(*chain);
		*chain = NULL;
		r = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	X509_up_ref(ch.leaf);
	for (int i = 0; i < sk_X509_num(ch.cas); i++) {
		X509 *x = sk_X509_value(ch.cas, i);
		if (!sk_X509_push(*chain, x))
			break;
		X509_up_ref(x);
	}
	EVP_PKEY_up_ref(ch.key);
	*key = ch.key;
out:
	mtk_chain_free(&ch);
	mtk_set_free(&set);
	mtk_secret_free(pass);
	return r;
}

int ks_source_entry(cli *c, const char *path, const char *alias, const char *pass_spec,
		    EVP_PKEY **key, STACK_OF(X509) * *chain)
{
	mtk_buf b = MTK_BUF_INIT; /* the keys in it are encrypted */
	mtk_secret *pass = NULL;
	mtk_keystore *ks = NULL;
	mtk_err err = {0};
	mtk_rc rc;
	long idx;
	int r = 0;

	if ((rc = mtk_file_read(path, 0, &b, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	if ((rc = (mtk_rc)resolve_src(c, pass_spec, &pass, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (pass == NULL &&
	    (pass = default_pass(path)) == NULL) {
		r = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	if ((rc = mtk_keystore_decode(b.data, b.len, path, pass, NULL, MTK_KS_READ_NO_KEYS, &ks,
				      &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	idx = mtk_keystore_find(ks, alias);
	if (idx < 0 || ks->entries[idx].kind != MTK_KSE_KEY) {
		rc = mtk_err_set(&err, MTK_E_NOT_FOUND,
				 idx < 0 ? "%s: Alias <%s> does not exist"
					 : "%s: <%s> is not a key entry",
				 path, alias);
		r = cli_error(c, rc, &err);
		goto out;
	}
	if (ks->entries[idx].key == NULL &&
	    (rc = mtk_keystore_unlock(ks, (size_t)idx, pass, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	EVP_PKEY_up_ref(ks->entries[idx].key);
	*key = ks->entries[idx].key;
	*chain = ks->entries[idx].chain;
	ks->entries[idx].chain = NULL;
out:
	mtk_keystore_free(ks);
	mtk_secret_free(pass);
	mtk_buf_free(&b);
	return r;
}

int ks_source_certs(cli *c, const char *path, STACK_OF(X509) * *certs)
{
	mtk_set set = MTK_SET_INIT;
	mtk_err err = {0};
	mtk_rc rc;
	STACK_OF(X509) * s;

	if ((rc = mtk_load_file(&set, path, NULL, NULL, NULL, &err)) != MTK_OK)
		return cli_error(c, rc, &err);
	if ((s = sk_X509_new_null()) == NULL) {
		mtk_set_free(&set);
		return cli_error(c, MTK_E_NOMEM, NULL);
	}
	for (size_t i = 0; i < set.count; i++) {
		if (set.objs[i].kind == MTK_OBJ_CERT && set.objs[i].cert != NULL &&
		    sk_X509_push(s, set.objs[i].cert))
			X509_up_ref(set.objs[i].cert);
	}
	mtk_set_free(&set);
	if (sk_X509_num(s) == 0) {
		sk_X509_free(s);
		return cli_error(c, mtk_err_set(&err, MTK_E_NOT_FOUND, "%s: no certificate", path),
				 &err);
	}
	*certs = s;
	return 0;
}
