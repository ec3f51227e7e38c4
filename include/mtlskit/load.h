/*
 * load.h - read any input a user meets into one list of objects.
 *
 * mtk_load_mem() identifies the bytes (PEM with any number of blocks, DER
 * certificate/CSR/CRL/key/PKCS#7, PFX/PKCS#12 of every flavour, JKS, JCEKS)
 * and appends what it holds to an mtk_set: certificates, keys, CSRs, CRLs,
 * each with the place it came from (file, PEM line, alias).  Encrypted keys
 * are described without decrypting unless a password is given.  Legacy PFX
 * (RC2-40, 3DES) is read with no flag: OpenSSL's legacy provider is loaded
 * on demand, only when the default one cannot decrypt.
 *
 * Ownership: the set owns every object; mtk_set_free() releases all of them.
 * Callers that keep an object take their own reference (X509_up_ref,
 * EVP_PKEY_up_ref).
 */
#ifndef MTLSKIT_LOAD_H
#define MTLSKIT_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/detect.h"
#include "mtlskit/err.h"
#include "mtlskit/findings.h"
#include "mtlskit/pass.h"


typedef enum {
	MTK_OBJ_CERT,
	MTK_OBJ_KEY,
	MTK_OBJ_CSR,
	MTK_OBJ_CRL,
	MTK_OBJ_PUBKEY,
	MTK_OBJ_SECRET_KEY, /* JCEKS secret-key entry (described, not decoded) */
	MTK_OBJ_OTHER,      /* a PEM block of a kind we do not interpret */
} mtk_obj_kind;

typedef enum {
	MTK_KEY_NONE = 0,
	MTK_KEY_PKCS8,              /* BEGIN PRIVATE KEY / PrivateKeyInfo */
	MTK_KEY_PKCS8_ENCRYPTED,    /* BEGIN ENCRYPTED PRIVATE KEY */
	MTK_KEY_PKCS1,              /* BEGIN RSA PRIVATE KEY */
	MTK_KEY_SEC1,               /* BEGIN EC PRIVATE KEY */
	MTK_KEY_LEGACY_ENCRYPTED,   /* PKCS#1/SEC1 with Proc-Type: 4,ENCRYPTED */
	MTK_KEY_CONTAINER,          /* from a PFX or keystore entry */
} mtk_key_form;

const char *mtk_key_form_name(mtk_key_form f);

typedef struct mtk_obj {
	mtk_obj_kind kind;
	char *source;    /* the input's name as given */
	long line;       /* PEM: line of the BEGIN line; 0 for binary inputs */
	int index;       /* 0-based position among the objects of its source */
	char *alias;     /* PFX friendlyName or keystore alias; may be NULL */
	char *label;     /* PEM label; NULL for binary inputs */
	X509 *cert;
	X509_REQ *csr;
	X509_CRL *crl;
	EVP_PKEY *key;   /* private key (or public key for MTK_OBJ_PUBKEY); NULL
	                    when encrypted and not decrypted */
	mtk_key_form key_form;
	bool encrypted;  /* the key was stored encrypted */
	char *enc_desc;  /* how it was encrypted, e.g. "PBES2/PBKDF2/AES-256-CBC" */
	char *note;      /* free text for OTHER/SECRET_KEY objects */
} mtk_obj;

/* File-level facts about a container (PFX or keystore). */
typedef struct mtk_container_info {
	mtk_format format;
	/* PKCS#12 */
	bool p12_has_mac;
	char p12_mac_alg[32];     /* "sha256", "sha1" */
	long p12_mac_iter;
	char p12_cert_enc[128];    /* "PBES2/AES-256-CBC", "pbeWithSHA1And40BitRC2-CBC", "none" */
	char p12_key_enc[128];
	bool p12_legacy;          /* needs OpenSSL's legacy provider */
	bool needs_password;      /* could not be opened without one */
	/* JKS / JCEKS */
	uint32_t ks_version;
	uint32_t ks_entries;
} mtk_container_info;

typedef struct mtk_set {
	mtk_obj *objs;
	size_t count;
	size_t cap;
} mtk_set;

#define MTK_SET_INIT {NULL, 0, 0}

typedef struct mtk_load_opts {
	const mtk_secret *pass;     /* PFX / keystore / encrypted key password */
	const mtk_secret *key_pass; /* keystore entry key password, if different */
	/* Tried on a JKS/JCEKS keystore when pass is NULL.  The loader never
	 * guesses a password: callers that may try one ask mid.h
	 * (mtk_mid_default_for(path)), which names the MID default for an
	 * agent keystore only. */
	const mtk_secret *default_pass;
	/* When true, an encrypted input with no (or a wrong) password fails
	 * with MTK_E_PASSWORD_NEEDED / MTK_E_BAD_PASSWORD instead of being
	 * described without its contents. */
	bool require_decrypt;
	/* Report PEM hygiene findings (pem-crlf, pem-stray-bytes,
	 * pem-blank-lines); key-form findings are check.h's. */
	bool findings;
	/* Text that looks like a damaged PEM block (a BEGIN line whose label
	 * does not read, an END line outside any block) is an error instead
	 * of stray text between blocks. */
	bool strict;
} mtk_load_opts;

/* Appends the objects in data to set.  name is used as the source.  info
 * (may be NULL) receives container facts.  Findings noticed while reading
 * go to fs (may be NULL).  On error, set is left as it was. */
MTK_WUR mtk_rc mtk_load_mem(mtk_set *set, const char *name, const uint8_t *data, size_t len,
			    const mtk_load_opts *opts, mtk_container_info *info, mtk_findings *fs,
			    mtk_err *err);
/* Reads path (bounded, see file.h) and calls mtk_load_mem. */
MTK_WUR mtk_rc mtk_load_file(mtk_set *set, const char *path, const mtk_load_opts *opts,
			     mtk_container_info *info, mtk_findings *fs, mtk_err *err);

/* For inputs a service must read whole (a server's chain, trusted CAs,
 * CRLs): mtk_load_mem with opts->strict implied, so every PEM block must
 * decode to the DER its label names and a damaged block is an error, never
 * skipped; every object must be of a kind in allowed (MTK_OBJ_BIT(kind)
 * ORed); at least one must be of kind want.  Errors name NAME:LINE, the
 * BEGIN line of the offending block (MTK_E_PEM_SYNTAX, MTK_E_DER,
 * MTK_E_MALFORMED for a kind that does not belong, MTK_E_NOT_FOUND when
 * nothing of kind want is there). */
#define MTK_OBJ_BIT(kind) (1u << (unsigned)(kind))
MTK_WUR mtk_rc mtk_load_mem_strict(mtk_set *set, const char *name, const uint8_t *data, size_t len,
				   unsigned allowed, mtk_obj_kind want, const mtk_load_opts *opts,
				   mtk_err *err);
/* Reads path (bounded, see file.h) and calls mtk_load_mem_strict. */
MTK_WUR mtk_rc mtk_load_file_strict(mtk_set *set, const char *path, unsigned allowed,
				    mtk_obj_kind want, const mtk_load_opts *opts, mtk_err *err);

/* Appends an object to set, taking ownership of the OpenSSL object(s) in
 * *o on success (strings in *o are copied).  For loaders in other modules. */
MTK_WUR mtk_rc mtk_set_add(mtk_set *set, const mtk_obj *o);
void mtk_set_free(mtk_set *set);


#endif
