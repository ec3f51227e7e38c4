/*
 * ks_cli.h - what the keystore and mid verbs share: opening a keystore with
 * the password rules of DESIGN.md ("changeit" tried only when --pass is
 * absent), saving it atomically, and loading a key + chain from any source.
 */
#ifndef MTLSKIT_KS_CLI_H
#define MTLSKIT_KS_CLI_H

#include <openssl/x509.h>

#include "cli.h"
#include "mtlskit/file.h"
#include "mtlskit/keystore.h"

struct ksfile {
	const char *path;
	mtk_keystore *ks;
	mtk_secret *store_pass; /* the password that opened it (or will protect it) */
	mtk_secret *key_pass;	/* --key-pass, may be NULL */
	bool created;		/* the file did not exist */
	mtk_lock *lock;		/* "PATH.lock", held from open to close when editing */
};

/* Opens an existing keystore; returns 0 or an exit status (reported). */
int ks_open(cli *c, const char *path, unsigned flags, struct ksfile *f);
/* ks_open for a read-modify-write: first waits for the exclusive lock on
 * "PATH.lock" (mtk_lock_edit), held until ks_close, so concurrent edits of
 * one store run in turn and none is lost. */
int ks_open_edit(cli *c, const char *path, unsigned flags, struct ksfile *f);
/* Opens path for editing (locked as ks_open_edit), or starts a new store
 * when it does not exist: type from
 * `type` (--type), else the file name (.jks, .jceks, .p12/.pfx), else
 * PKCS12 like keytool 17.  A new store's password is --pass or "changeit". */
int ks_open_or_create(cli *c, const char *path, const char *type, struct ksfile *f);
/* The same with the read flags of an existing store (ks_open_or_create:
 * MTK_KS_READ_NO_KEYS); MTK_KS_READ_LAZY for verbs that touch few entries. */
int ks_open_or_create_flags(cli *c, const char *path, const char *type, unsigned flags,
			    struct ksfile *f);
/* The password vocabulary of a verb that reads a source and writes a store
 * (keystore add-key, mid install): --pass reads the source, --out-pass is
 * the store's.  Without --out-pass the store is opened with --pass and then
 * the default "changeit"; a new store gets --out-pass, else "changeit".
 * The old spelling --src-pass (old_src) keeps its meaning, the source, and
 * then --pass is the store's, as before.  Returns the source's spec and
 * leaves the store's in c->pass_spec, where ks_open reads it. */
const char *ks_source_and_store_pass(cli *c, const char *old_src);
/* Encodes f->ks and renames it over f->path (0600). */
int ks_save(cli *c, struct ksfile *f);
void ks_close(struct ksfile *f);

/* A private key and its chain (leaf first) from PEM/DER/PFX files. */
int ks_source_files(cli *c, const char *const *files, int n, const char *pass_spec, EVP_PKEY **key,
		    STACK_OF(X509) * *chain);
/* A key entry of another keystore. */
int ks_source_entry(cli *c, const char *path, const char *alias, const char *pass_spec,
		    EVP_PKEY **key, STACK_OF(X509) * *chain);
/* Every certificate in a file (PEM, DER, PKCS#7). */
int ks_source_certs(cli *c, const char *path, STACK_OF(X509) * *certs);

#endif
