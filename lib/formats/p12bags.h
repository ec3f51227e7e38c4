/*
 * p12bags.h - the one PKCS#12 (PFX) decoder: bytes and a password in, the
 * MAC's verdict and a flat list of neutral bags out (private to lib/).
 *
 * The loader (x509/load.c) and the PKCS12 keystore (keystore/p12.c) are
 * adapters over it: they turn bags into their objects and failures into
 * their messages.  It runs every key derivation against one budget per file
 * (pbe.h), follows nested safe-contents bags, opens legacy RC2/RC4/DES
 * files with OpenSSL's legacy provider, and tries both encodings of the
 * empty password (the empty BMPString and the absent one) as OpenSSL does.
 * It never prints and sets no message: the adapters word them.
 */
#ifndef MTLSKIT_P12BAGS_H
#define MTLSKIT_P12BAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "formats/pbe.h"
#include "mtlskit/buf.h"
#include "mtlskit/err.h"

/* Java's "trusted key usage" certificate-bag attribute (a trusted entry of a
 * PKCS12 keystore); OpenSSL 3.0 has no NID for it.  The one definition. */
#define MTK_P12_TRUSTED_OID "2.16.840.1.113894.746875.1.1"

typedef enum {
	MTK_P12B_KEY,	 /* keyBag or pkcs8ShroudedKeyBag */
	MTK_P12B_CERT,	 /* certBag holding an X.509 certificate */
	MTK_P12B_CRL,	 /* crlBag */
	MTK_P12B_SECRET, /* secretBag as Java writes it (a shrouded {0, alg, key}) */
} mtk_p12_bag_kind;

typedef struct mtk_p12_bag {
	mtk_p12_bag_kind kind;
	EVP_PKEY *key;	     /* KEY; NULL when locked */
	X509 *cert;	     /* CERT; NULL while kept as its bytes (der) */
	/* CERT read with lazy_certs: the whole SafeBag as read (in the
	 * reader's storage; given to the encoder, written as it is) and the
	 * certificate's DER inside it (one whole SEQUENCE). */
	const uint8_t *bag_der, *der;
	size_t bag_der_len, der_len;
	X509_CRL *crl;	     /* CRL */
	uint8_t *secret;     /* SECRET: decrypted {0, algorithm, key} DER (wiped) */
	size_t secret_len;
	char *name;	     /* friendlyName (UTF-8) or NULL */
	uint8_t kid[64];     /* localKeyId */
	int kid_len;	     /* -1: none (or longer than kid) */
	bool trusted;	     /* CERT with MTK_P12_TRUSTED_OID */
	bool shrouded;	     /* KEY/SECRET was password-encrypted */
	bool locked;	     /* shrouded KEY left encrypted (keep_locked, structure_only) */
	char enc[128];	     /* shrouded: its algorithm (mtk_pbe_describe) */
	long enc_iter;	     /* shrouded: its iterations (0: unknown) */
	int safe;	     /* index of its safe in the authenticated safe */
	bool safe_encrypted; /* that safe was password-encrypted */
} mtk_p12_bag;

/* Where a decode stopped (mtk_p12_bags.fail). */
typedef enum {
	MTK_P12F_NONE,
	MTK_P12F_DER,	       /* the PFX does not decode */
	MTK_P12F_MAC_BUDGET,   /* the MAC asks for too many iterations */
	MTK_P12F_MAC,	       /* the MAC does not match the password */
	MTK_P12F_AUTHSAFE,     /* the authenticated safe does not decode */
	MTK_P12F_SAFE_BUDGET,  /* an encrypted safe asks for too many iterations */
	MTK_P12F_SAFE_DECRYPT, /* an encrypted safe does not decrypt */
	MTK_P12F_SAFE_DECODE,  /* a plain safe does not decode */
	MTK_P12F_BAG_BUDGET,   /* a shrouded key/secret asks for too many iterations */
	MTK_P12F_BAG,	       /* a bag does not decode or decrypt (fail_kind, rc) */
	MTK_P12F_NESTED,       /* safe-contents bags nested too deep */
} mtk_p12_fail;

typedef struct mtk_p12_bags {
	bool has_mac;
	int mac_nid;	      /* the MAC's digest */
	long mac_iter;	      /* its iterations (1 when absent) */
	bool mac_ok;	      /* the MAC matched (false when there is none) */
	bool mac_damaged;     /* it did not, yet the contents open with the
			       * empty password: the file was altered */
	bool absent_pw;	      /* the MAC matched the absent password */
	char cert_enc[128];   /* the last encrypted safe's algorithm, "none" */
	char key_enc[128];    /* the last shrouded key's algorithm, "none" */
	bool legacy;	      /* something needs OpenSSL's legacy provider */
	int mac_salt_len;
	size_t safes;	      /* authenticated safes, of every kind */
	size_t enc_safes;     /* password-encrypted ones */
	char first_safe_enc[128]; /* the first encrypted safe's algorithm, "none" */
	long first_safe_iter; /* its iterations (0: unknown) */
	mtk_p12_bag *b;
	size_t n, cap;
	mtk_p12_fail fail;
	mtk_p12_bag_kind fail_kind; /* MTK_P12F_BAG/BAG_BUDGET: which bag */
	mtk_pbe_budget budget;	    /* the file's key-derivation work */
} mtk_p12_bags;

typedef struct mtk_p12_read_opts {
	const char *pass;  /* NULL: none given (the empty one is tried) */
	size_t passlen;
	bool keep_locked;  /* none given, no MAC: a shrouded key that does not
			    * decrypt is kept locked instead of failing */
	bool secrets;	   /* decrypt Java's secret-key bags (else skipped) */
	bool check_damage; /* none given and the MAC fails: check whether the
			    * contents open with the empty password */
	bool structure_only; /* no password: no MAC check, no decryption, no
			      * derivation; bags of the plain safes are listed
			      * without their contents (keys locked) */
	/* Certificate bags kept as their DER (der, cert NULL) when their outer
	 * shape is one DER SEQUENCE, copied into storage from alloc(alloc_ctx,
	 * n), which must outlive the bags; parsed by mtk_p12_bag_cert when a
	 * consumer needs the object.  Others are decoded as without it (and
	 * refused the same way).  For a keystore's edits, which leave most
	 * certificates untouched. */
	void *(*alloc)(void *alloc_ctx, size_t n);
	void *alloc_ctx;
	/* With alloc, the PFX's outer layers (ContentInfo, AuthenticatedSafe,
	 * EncryptedData, MacData) are read from the bytes when they are strict
	 * DER of the usual shape, and through OpenSSL's PFX objects otherwise;
	 * this forces OpenSSL's (tests compare the two). */
	bool outer_openssl;
} mtk_p12_read_opts;

/* A CERT bag holds a certificate, decoded or as its bytes. */
static inline bool mtk_p12_bag_has_cert(const mtk_p12_bag *b)
{
	return b->kind == MTK_P12B_CERT && (b->cert != NULL || b->der != NULL);
}

/* The bag's certificate, decoded from der on first use (kept in b->cert,
 * freed with the bags); NULL for other bags and for bytes that are not a
 * valid certificate. */
X509 *mtk_p12_bag_cert(mtk_p12_bag *b);

/*
 * Decodes the PFX data/len into out (zeroed here; free with
 * mtk_p12_bags_free, also after a failure: the bags read before it stay).
 * MTK_OK, or the failure's code with out->fail saying where:
 * MTK_E_PKCS12 (DER, AUTHSAFE, SAFE_DECODE, NESTED, an empty
 * shrouded bag), MTK_E_TOO_LARGE (the *_BUDGET ones), MTK_E_BAD_PASSWORD
 * (MAC, SAFE_DECRYPT, a shrouded bag), MTK_E_DER (a certificate or CRL),
 * MTK_E_KEY (a key of an unsupported type), MTK_E_NOMEM.
 */
MTK_WUR mtk_rc mtk_p12_bags_read(const uint8_t *data, size_t len, const mtk_p12_read_opts *opts,
				 mtk_p12_bags *out);
void mtk_p12_bags_free(mtk_p12_bags *b);

/*
 * The one PKCS#12 encoder: the bags b[0..n) (borrowed, not freed) into a PFX.
 * KEY and CERT bags take their name (friendlyName, written as given),
 * localKeyId (kid_len >= 0) and, for CERT, Java's trusted attribute
 * (trusted); a CERT bag with cert NULL is written from its der bytes (not
 * decoded), and one with bag_der is those bytes, the SafeBag as it was read
 * (its other fields unused); SECRET bags hold the {0, algorithm, key} DER and are shrouded
 * like keys.  Certificates go into one safe (encrypted with cert_pbe, or
 * plain), keys and secrets into a plain one after it, in bag order; empty
 * safes are left out.  The profile is the caller's: the converter's
 * --compat choices and the PKCS12 keystore's Java ones are two fillings.
 */
typedef struct mtk_p12_write_opts {
	const char *pass; /* required */
	size_t passlen;
	int key_pbe;		      /* PBES1 NID, or a PRF NID or -1 (OpenSSL's
				       * default PRF) for PBES2 with key_cipher */
	const EVP_CIPHER *key_cipher; /* PBES2 only */
	int key_iter;
	int key_salt_len;	      /* 0: OpenSSL's default */
	int cert_pbe;		      /* PBES1 NID or PBES2 cipher NID; -1: the
				       * certificate safe is not encrypted */
	int cert_iter;
	int cert_salt_len;
	const EVP_MD *mac_md;
	int mac_iter;
	int mac_salt_len;	      /* 0: OpenSSL's default (8) */
} mtk_p12_write_opts;

/* MTK_OK with the DER in out (replaced), or MTK_E_INVALID_ARG (no password,
 * a CRL bag, nothing to write), MTK_E_CRYPTO, MTK_E_NOMEM with err set. */
MTK_WUR mtk_rc mtk_p12_bags_write(const mtk_p12_bag *b, size_t n, const mtk_p12_write_opts *o,
				  mtk_buf *out, mtk_err *err);

#endif
