/*
 * load.c - any input a user meets into one list of objects (load.h).
 */
#include "mtlskit/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/describe.h"
#include "mtlskit/file.h"
#include "mtlskit/keystore.h"
#include "formats/p12bags.h"
#include "formats/pbe.h"
#include "formats/pkcs8.h"
#include "mtlskit/pem.h"

const char *mtk_key_form_name(mtk_key_form f)
{
	switch (f) {
	case MTK_KEY_PKCS8:
		return "pkcs8";
	case MTK_KEY_PKCS8_ENCRYPTED:
		return "pkcs8-encrypted";
	case MTK_KEY_PKCS1:
		return "pkcs1";
	case MTK_KEY_SEC1:
		return "sec1";
	case MTK_KEY_LEGACY_ENCRYPTED:
		return "legacy-encrypted-pem";
	case MTK_KEY_CONTAINER:
		return "container";
	default:
		return "none";
	}
}

static void obj_release(mtk_obj *o)
{
	X509_free(o->cert);
	X509_REQ_free(o->csr);
	X509_CRL_free(o->crl);
	EVP_PKEY_free(o->key);
	free(o->source);
	free(o->alias);
	free(o->label);
	free(o->enc_desc);
	free(o->note);
	memset(o, 0, sizeof(*o));
}

static char *dup_opt(const char *s, bool *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*fail = true;
	return d;
}

mtk_rc mtk_set_add(mtk_set *set, const mtk_obj *o)
{
	mtk_obj n = *o;
	bool fail = false;

	if (set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		mtk_obj *p = realloc(set->objs, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		set->objs = p;
		set->cap = cap;
	}
	n.source = dup_opt(o->source, &fail);
	n.alias = dup_opt(o->alias, &fail);
	n.label = dup_opt(o->label, &fail);
	n.enc_desc = dup_opt(o->enc_desc, &fail);
	n.note = dup_opt(o->note, &fail);
	if (fail) {
		free(n.source);
		free(n.alias);
		free(n.label);
		free(n.enc_desc);
		free(n.note);
		return MTK_E_NOMEM;
	}
	set->objs[set->count++] = n;
	return MTK_OK;
}

void mtk_set_free(mtk_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->count; i++)
		obj_release(&set->objs[i]);
	free(set->objs);
	memset(set, 0, sizeof(*set));
}

/* Moves every object of src to the end of dst (src emptied). */
static mtk_rc set_move(mtk_set *dst, mtk_set *src)
{
	if (dst->count + src->count > dst->cap) {
		size_t cap = dst->count + src->count;
		mtk_obj *p = realloc(dst->objs, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		dst->objs = p;
		dst->cap = cap;
	}
	if (src->count > 0)
		memcpy(dst->objs + dst->count, src->objs, src->count * sizeof(*src->objs));
	dst->count += src->count;
	free(src->objs);
	memset(src, 0, sizeof(*src));
	return MTK_OK;
}

/* Adds o (taking its OpenSSL objects; strings borrowed) or releases them. */
static mtk_rc add_or_release(mtk_set *set, mtk_obj *o, mtk_err *err)
{
	mtk_rc rc;

	if (o->kind == MTK_OBJ_KEY && mtk_key_named_curve(o->key) && o->note == NULL)
		o->note = "EC key with explicit curve parameters: written with the curve's name";
	rc = mtk_set_add(set, o);

	if (rc != MTK_OK) {
		X509_free(o->cert);
		X509_REQ_free(o->csr);
		X509_CRL_free(o->crl);
		EVP_PKEY_free(o->key);
		return mtk_err_set(err, rc, "%s", o->source ? o->source : "input");
	}
	return MTK_OK;
}

/* ---- password plumbing ---- */

struct pw {
	const mtk_secret *pass;
	bool asked;
};

static int pem_pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw *p = u;
	int n;

	(void)rwflag;
	p->asked = true;
	if (p->pass == NULL || size <= 0)
		return -1;
	n = (int)p->pass->len < size ? (int)p->pass->len : size;
	memcpy(buf, p->pass->s, (size_t)n);
	return n;
}

/* ---- OpenSSL's legacy provider, loaded once, only when needed ---- */


static bool ensure_legacy(void)
{
	return mtk_legacy_provider();
}

/* ---- describing encryption algorithms (describe.c) ---- */

static void describe_alg(const X509_ALGOR *alg, char *out, size_t cap)
{
	long iter;

	mtk_pbe_describe(alg, out, cap, &iter);
}

/* ---- keys ---- */

/* Decrypts an EncryptedPrivateKeyInfo; retries with the legacy provider. */
static mtk_rc decrypt_p8(const X509_SIG *sig, const mtk_secret *pass, mtk_pbe_budget *budget,
			 EVP_PKEY **out)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const char *pw = pass ? pass->s : "";
	int pwlen = pass ? (int)pass->len : 0;
	const X509_ALGOR *alg = NULL;

	X509_SIG_get0(sig, &alg, NULL);
	if (!mtk_pbe_budget_take(budget, alg))
		return MTK_E_TOO_LARGE; /* the callers say why */
	/* Known-legacy algorithms get the provider first: a failed try would
	 * repeat the whole key derivation. */
	if (alg != NULL && mtk_pbe_needs_legacy(alg))
		(void)ensure_legacy();
	p8 = mtk_p8_decrypt(sig, pw, (size_t)pwlen);
	if (p8 == NULL && ensure_legacy())
		p8 = PKCS8_decrypt(sig, pw, pwlen);
	ERR_clear_error();
	if (p8 == NULL)
		return MTK_E_BAD_PASSWORD;
	*out = mtk_p8_to_key(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return *out ? MTK_OK : MTK_E_KEY;
}

/* A key in DER of a known or guessed form. */
static mtk_rc key_from_der(const uint8_t *der, size_t len, mtk_key_form hint, const mtk_load_opts *opts,
			   mtk_obj *o, mtk_err *err)
{
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	EVP_PKEY *k = NULL;
	mtk_rc rc = MTK_OK;

	if (len > LONG_MAX)
		return mtk_err_set(err, MTK_E_TOO_LARGE, "%s", o->source);
	if (hint == MTK_KEY_NONE || hint == MTK_KEY_PKCS8) {
		p = der;
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
		if (p8 != NULL && p == der + len) {
			k = mtk_p8_to_key(p8);
			PKCS8_PRIV_KEY_INFO_free(p8);
			if (k == NULL)
				return mtk_err_set(err, MTK_E_KEY, "%s: PKCS#8 key of an unsupported type",
						   o->source);
			o->key = k;
			o->key_form = MTK_KEY_PKCS8;
			return MTK_OK;
		}
		PKCS8_PRIV_KEY_INFO_free(p8);
		ERR_clear_error();
	}
	if (hint == MTK_KEY_NONE || hint == MTK_KEY_PKCS8_ENCRYPTED) {
		p = der;
		sig = d2i_X509_SIG(NULL, &p, (long)len);
		if (sig != NULL && p == der + len) {
			const X509_ALGOR *alg = NULL;
			char desc[128];

			X509_SIG_get0(sig, &alg, NULL);
			describe_alg(alg, desc, sizeof(desc));
			o->key_form = MTK_KEY_PKCS8_ENCRYPTED;
			o->encrypted = true;
			o->enc_desc = strdup(desc);
			if (opts->pass != NULL) {
				mtk_pbe_budget one = MTK_PBE_BUDGET_INIT;
				rc = decrypt_p8(sig, opts->pass, &one, &o->key);
				if (rc == MTK_E_TOO_LARGE)
					mtk_pbe_iter_refused(err, o->source, "private key");
				else if (rc == MTK_E_BAD_PASSWORD)
					mtk_err_set(err, rc, "%s: cannot decrypt the private key", o->source);
				else if (rc != MTK_OK)
					mtk_err_set(err, rc, "%s", o->source);
			} else if (opts->require_decrypt) {
				rc = mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
						 "%s: the private key is encrypted; give --pass", o->source);
			}
			X509_SIG_free(sig);
			return rc;
		}
		X509_SIG_free(sig);
		ERR_clear_error();
	}
	if (hint == MTK_KEY_NONE || hint == MTK_KEY_PKCS1) {
		p = der;
		k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (k != NULL && p == der + len) {
			o->key = k;
			o->key_form = MTK_KEY_PKCS1;
			return MTK_OK;
		}
		EVP_PKEY_free(k);
		ERR_clear_error();
	}
	if (hint == MTK_KEY_NONE || hint == MTK_KEY_SEC1) {
		p = der;
		k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)len);
		if (k != NULL && p == der + len) {
			o->key = k;
			o->key_form = MTK_KEY_SEC1;
			return MTK_OK;
		}
		EVP_PKEY_free(k);
		ERR_clear_error();
	}
	return mtk_err_set(err, MTK_E_KEY, "%s%s%ld: the private key does not decode", o->source,
			   o->line ? ":" : "", o->line);
}

/* PKCS#1/SEC1 PEM with Proc-Type: 4,ENCRYPTED: OpenSSL's PEM reader does
 * the legacy key derivation. */
static mtk_rc legacy_pem_key(const uint8_t *text, size_t len, const mtk_load_opts *opts,
			     const mtk_pem_block *b, mtk_obj *o, mtk_err *err)
{
	struct pw pw = {opts->pass, false};
	BIO *bio;
	EVP_PKEY *k;

	o->key_form = MTK_KEY_LEGACY_ENCRYPTED;
	o->encrypted = true;
	{
		char desc[128];
		const char *comma = strchr(b->dek_info, ',');
		snprintf(desc, sizeof(desc), "PEM %.*s", comma ? (int)(comma - b->dek_info) : (int)strlen(b->dek_info),
			 b->dek_info);
		o->enc_desc = strdup(desc);
	}
	if (opts->pass == NULL) {
		if (opts->require_decrypt)
			return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					   "%s:%ld: the private key is encrypted; give --pass", o->source,
					   o->line);
		return MTK_OK;
	}
	if (len > INT32_MAX)
		return mtk_err_set(err, MTK_E_TOO_LARGE, "%s", o->source);
	bio = BIO_new_mem_buf(text, (int)len);
	if (bio == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", o->source);
	k = PEM_read_bio_PrivateKey(bio, NULL, pem_pw_cb, &pw);
	if (k == NULL && ensure_legacy()) {
		/* DES-CBC (single DES) lives in the legacy provider. */
		ERR_clear_error();
		(void)BIO_reset(bio);
		k = PEM_read_bio_PrivateKey(bio, NULL, pem_pw_cb, &pw);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (k == NULL) {
		return mtk_err_set(err, MTK_E_BAD_PASSWORD, "%s:%ld: cannot decrypt the private key",
				   o->source, o->line);
	}
	o->key = k;
	return MTK_OK;
}

/* ---- PKCS#7 ---- */

static mtk_rc add_p7(mtk_set *set, const uint8_t *der, size_t len, mtk_obj *tmpl, int *index,
		     mtk_err *err)
{
	const unsigned char *p = der;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	mtk_rc rc = MTK_OK;

	if (p7 == NULL || !PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
		PKCS7_free(p7);
		return mtk_err_set(err, MTK_E_DER, "%s%s%ld: not a PKCS#7 certificate bundle", tmpl->source,
				   tmpl->line ? ":" : "", tmpl->line);
	}
	certs = p7->d.sign->cert;
	crls = p7->d.sign->crl;
	for (int i = 0; certs && i < sk_X509_num(certs) && rc == MTK_OK; i++) {
		mtk_obj o = *tmpl;
		o.kind = MTK_OBJ_CERT;
		o.cert = sk_X509_value(certs, i);
		X509_up_ref(o.cert);
		o.index = (*index)++;
		rc = add_or_release(set, &o, err);
	}
	for (int i = 0; crls && i < sk_X509_CRL_num(crls) && rc == MTK_OK; i++) {
		mtk_obj o = *tmpl;
		o.kind = MTK_OBJ_CRL;
		o.crl = sk_X509_CRL_value(crls, i);
		X509_CRL_up_ref(o.crl);
		o.index = (*index)++;
		rc = add_or_release(set, &o, err);
	}
	PKCS7_free(p7);
	return rc;
}

/* ---- one DER object of a known kind ---- */

static mtk_rc add_der(mtk_set *set, mtk_format f, const uint8_t *der, size_t len, mtk_obj *tmpl,
		      const mtk_load_opts *opts, int *index, mtk_err *err)
{
	const unsigned char *p = der;
	mtk_obj o = *tmpl;
	const char *what = "object";

	o.index = *index;
	switch (f) {
	case MTK_FMT_DER_CERT:
		what = "certificate";
		o.kind = MTK_OBJ_CERT;
		o.cert = d2i_X509(NULL, &p, (long)len);
		if (o.cert == NULL || p != der + len)
			goto bad;
		break;
	case MTK_FMT_DER_CSR:
		what = "certificate request";
		o.kind = MTK_OBJ_CSR;
		o.csr = d2i_X509_REQ(NULL, &p, (long)len);
		if (o.csr == NULL || p != der + len)
			goto bad;
		break;
	case MTK_FMT_DER_CRL:
		what = "CRL";
		o.kind = MTK_OBJ_CRL;
		o.crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (o.crl == NULL || p != der + len)
			goto bad;
		break;
	case MTK_FMT_DER_PKCS7:
		return add_p7(set, der, len, tmpl, index, err);
	default:
		return mtk_err_set(err, MTK_E_INTERNAL, "add_der");
	}
	(*index)++;
	return add_or_release(set, &o, err);
bad:
	X509_free(o.cert);
	X509_REQ_free(o.csr);
	X509_CRL_free(o.crl);
	if (tmpl->line)
		return mtk_err_set(err, MTK_E_DER, "%s:%ld: the %s does not decode (damaged or truncated)",
				   tmpl->source, tmpl->line, what);
	return mtk_err_set(err, MTK_E_DER, "%s: the %s does not decode (damaged or truncated)",
			   tmpl->source, what);
}

/* ---- PEM ---- */

static mtk_rc load_p12(mtk_set *set, const char *name, const uint8_t *data, size_t len,
		       const mtk_load_opts *opts, mtk_container_info *info, mtk_err *err);

/* Objects [from, count) of set get note (unless they have one). */
static mtk_rc note_objs(mtk_set *set, size_t from, const char *note)
{
	for (size_t i = from; i < set->count; i++) {
		if (set->objs[i].note != NULL)
			continue;
		if ((set->objs[i].note = strdup(note)) == NULL)
			return MTK_E_NOMEM;
	}
	return MTK_OK;
}

/* A PEM block whose content is a PFX (GnuTLS's -----BEGIN PKCS12-----,
 * `certutil -encode` of a PFX under a CERTIFICATE label): read as the PFX. */
static mtk_rc pem_p12(mtk_set *set, const char *name, const mtk_pem_block *b,
		      const mtk_load_opts *opts, mtk_container_info *info, const char *note,
		      mtk_err *err)
{
	size_t from = set->count;
	mtk_rc rc = load_p12(set, name, b->der, b->der_len, opts, info, err);

	if (rc == MTK_OK && note != NULL && (rc = note_objs(set, from, note)) != MTK_OK)
		mtk_err_set(err, rc, "%s", name);
	return rc;
}

static mtk_rc load_pem(mtk_set *set, const char *name, const uint8_t *data, size_t len,
		       const mtk_load_opts *opts, mtk_container_info *info, mtk_findings *fs,
		       mtk_err *err)
{
	mtk_pem_doc doc;
	int index = 0;
	mtk_rc rc;

	if ((rc = mtk_pem_scan(data, len, &doc, err)) != MTK_OK) {
		if (rc == MTK_E_PEM_SYNTAX)
			mtk_err_set(err, rc, "%s: no PEM block found", name);
		return rc;
	}
	if (opts->findings && fs != NULL && (rc = mtk_pem_hygiene_findings(&doc, name, fs)) != MTK_OK) {
		mtk_err_set(err, rc, "%s", name);
		goto out;
	}
	if (opts->strict && doc.bad_begin_line > 0 &&
	    (doc.orphan_end_line == 0 || doc.bad_begin_line < doc.orphan_end_line)) {
		rc = mtk_err_set(err, MTK_E_PEM_SYNTAX,
				 "%s:%ld: a damaged BEGIN line (no readable label)", name,
				 doc.bad_begin_line);
		goto out;
	}
	if (opts->strict && doc.orphan_end_line > 0) {
		rc =
		    mtk_err_set(err, MTK_E_PEM_SYNTAX,
				"%s:%ld: an END line with no BEGIN line before it (damaged block?)",
				name, doc.orphan_end_line);
		goto out;
	}
	for (size_t i = 0; i < doc.count && rc == MTK_OK; i++) {
		const mtk_pem_block *b = &doc.blocks[i];
		const char *l = b->label;
		const char *p12note;
		mtk_obj o = {0};

		o.source = (char *)name;
		o.line = b->line;
		o.label = (char *)l;
		o.index = index;
		if (b->bad) {
			rc = mtk_err_set(err, MTK_E_PEM_SYNTAX, "%s:%ld: %s block: %s", name, b->line, l,
					 b->bad_reason);
			break;
		}
		if ((strcmp(l, "CERTIFICATE") == 0 || strcmp(l, "X509 CERTIFICATE") == 0) &&
		    mtk_detect(b->der, b->der_len) == MTK_FMT_DER_PKCS7) {
			/* What the ADCS web-enrollment page hands out as the Base 64
			 * chain (certnew.p7b); OpenSSL reads the label so on purpose. */
			size_t from = set->count;
			rc = add_p7(set, b->der, b->der_len, &o, &index, err);
			if (rc == MTK_OK &&
			    (rc = note_objs(set, from,
					    "PKCS#7 certificate bundle under a CERTIFICATE label "
					    "(as Windows CAs hand out certnew.p7b)")) != MTK_OK)
				mtk_err_set(err, rc, "%s", name);
		} else if ((p12note = mtk_pem_pfx_armour(l, strlen(l), b->der, b->der_len)) !=
			   NULL) {
			/* The keystore reader takes the same armours (formats/pem.c). */
			rc = pem_p12(set, name, b, opts, info, p12note, err);
		} else if (strcmp(l, "CERTIFICATE") == 0 || strcmp(l, "X509 CERTIFICATE") == 0) {
			rc = add_der(set, MTK_FMT_DER_CERT, b->der, b->der_len, &o, opts, &index, err);
		} else if (strcmp(l, "TRUSTED CERTIFICATE") == 0) {
			const unsigned char *p = b->der;
			o.kind = MTK_OBJ_CERT;
			o.cert = d2i_X509_AUX(NULL, &p, (long)b->der_len);
			if (o.cert == NULL)
				rc = mtk_err_set(err, MTK_E_DER, "%s:%ld: the certificate does not decode", name,
						 b->line);
			else {
				index++;
				rc = add_or_release(set, &o, err);
			}
		} else if (strcmp(l, "CERTIFICATE REQUEST") == 0 ||
			   strcmp(l, "NEW CERTIFICATE REQUEST") == 0) {
			rc = add_der(set, MTK_FMT_DER_CSR, b->der, b->der_len, &o, opts, &index, err);
		} else if (strcmp(l, "X509 CRL") == 0) {
			rc = add_der(set, MTK_FMT_DER_CRL, b->der, b->der_len, &o, opts, &index, err);
		} else if (strcmp(l, "PKCS7") == 0 || strcmp(l, "CERTIFICATE CHAIN") == 0) {
			rc = add_p7(set, b->der, b->der_len, &o, &index, err);
		} else if (strcmp(l, "PRIVATE KEY") == 0 ||
			   strcmp(l, "ENCRYPTED PRIVATE KEY") == 0 ||
			   strcmp(l, "RSA PRIVATE KEY") == 0 || strcmp(l, "EC PRIVATE KEY") == 0) {
			mtk_key_form hint = l[0] == 'P'   ? MTK_KEY_PKCS8
					    : l[0] == 'E' && l[1] == 'N' ? MTK_KEY_PKCS8_ENCRYPTED
					    : l[0] == 'R' ? MTK_KEY_PKCS1
							  : MTK_KEY_SEC1;
			o.kind = MTK_OBJ_KEY;
			if (b->encrypted)
				rc = legacy_pem_key(data + b->begin_off, b->end_off - b->begin_off, opts, b,
						    &o, err);
			else
				rc = key_from_der(b->der, b->der_len, hint, opts, &o, err);
			if (rc == MTK_OK) {
				char *desc = o.enc_desc;
				index++;
				rc = add_or_release(set, &o, err);
				free(desc);
			} else {
				free(o.enc_desc);
				EVP_PKEY_free(o.key);
			}
		} else if (strcmp(l, "PUBLIC KEY") == 0) {
			const unsigned char *p = b->der;
			o.kind = MTK_OBJ_PUBKEY;
			o.key = d2i_PUBKEY(NULL, &p, (long)b->der_len);
			if (o.key == NULL)
				rc = mtk_err_set(err, MTK_E_DER, "%s:%ld: the public key does not decode", name,
						 b->line);
			else {
				index++;
				rc = add_or_release(set, &o, err);
			}
		} else {
			/* EC PARAMETERS, DH PARAMETERS, ...: kept, not interpreted. */
			o.kind = MTK_OBJ_OTHER;
			index++;
			rc = add_or_release(set, &o, err);
		}
	}
out:
	mtk_pem_doc_free(&doc);
	return rc;
}

/* ---- PKCS#12 ---- */

/* The decoder's bags as objects, in file order; a shrouded key that stayed
 * locked is described without its key. */
static mtk_rc p12_objs(mtk_set *set, const char *name, mtk_p12_bags *bs, mtk_err *err)
{
	int index = 0;

	for (size_t i = 0; i < bs->n; i++) {
		mtk_p12_bag *b = &bs->b[i];
		mtk_obj o = {0};
		mtk_rc rc;

		o.source = (char *)name;
		o.alias = b->name;
		o.index = index;
		if (b->kind == MTK_P12B_KEY && (b->key != NULL || b->locked)) {
			o.kind = MTK_OBJ_KEY;
			o.key_form = MTK_KEY_CONTAINER;
			o.encrypted = b->shrouded;
			o.enc_desc = b->shrouded ? b->enc : NULL;
			o.key = b->key;
			b->key = NULL;
		} else if (b->kind == MTK_P12B_CERT && b->cert != NULL) {
			o.kind = MTK_OBJ_CERT;
			o.cert = b->cert;
			b->cert = NULL;
		} else if (b->kind == MTK_P12B_CRL && b->crl != NULL) {
			o.kind = MTK_OBJ_CRL;
			o.crl = b->crl;
			b->crl = NULL;
		} else {
			continue; /* the bag that failed; secret bags */
		}
		if ((rc = add_or_release(set, &o, err)) != MTK_OK)
			return rc;
		index++;
	}
	return MTK_OK;
}

/* The decoder's failure in the loader's words. */
static mtk_rc p12_refused(const mtk_p12_bags *bs, mtk_rc rc, const char *name,
			  const mtk_load_opts *opts, mtk_container_info *info, mtk_err *err)
{
	const mtk_p12_bag *last = bs->n > 0 ? &bs->b[bs->n - 1] : NULL;
	bool unasked = !bs->has_mac && opts->pass == NULL; /* nothing said a password was needed */

	switch (bs->fail) {
	case MTK_P12F_MAC_BUDGET:
		return mtk_pbe_budget_refused(&bs->budget, err, name, "MAC");
	case MTK_P12F_MAC:
		if (opts->pass != NULL)
			return mtk_err_set(err, MTK_E_BAD_PASSWORD,
					   "%s: wrong password, or the file was altered (the PFX integrity check failed)",
					   name);
		if (bs->mac_damaged)
			/* The contents open with the empty password: the MAC
			 * failed because the file was altered, not for a password. */
			return mtk_err_set(err, MTK_E_INTEGRITY,
					   "%s: the PFX integrity check failed although its contents open "
					   "with the empty password: the file was altered (damaged copy?)",
					   name);
		info->needs_password = true;
		if (opts->require_decrypt)
			return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					   "%s: the PFX is password-protected; give --pass", name);
		return MTK_OK;
	case MTK_P12F_AUTHSAFE:
		return mtk_err_set(err, MTK_E_PKCS12, "%s: the PFX contents do not decode", name);
	case MTK_P12F_SAFE_BUDGET:
		return mtk_pbe_budget_refused(&bs->budget, err, name, "certificate encryption");
	case MTK_P12F_SAFE_DECRYPT:
		if (unasked) {
			info->needs_password = true;
			if (opts->require_decrypt)
				return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
						   "%s: the PFX is password-protected; give --pass", name);
			return MTK_OK;
		}
		if (!bs->has_mac)
			return mtk_err_set(err, MTK_E_BAD_PASSWORD, "%s: wrong password", name);
		return mtk_err_set(err, MTK_E_PKCS12, "%s: cannot decrypt the certificates in the PFX",
				   name);
	case MTK_P12F_SAFE_DECODE:
		return mtk_err_set(err, MTK_E_PKCS12, "%s: a PFX safe does not decode", name);
	case MTK_P12F_NESTED:
		return mtk_err_set(err, MTK_E_PKCS12, "%s: safe contents nested too deep", name);
	case MTK_P12F_BAG_BUDGET:
		return mtk_pbe_budget_refused(&bs->budget, err, name, "private key");
	case MTK_P12F_BAG:
		break;
	default:
		return mtk_err_set(err, rc, "%s", name);
	}
	if (rc == MTK_E_NOMEM)
		return mtk_err_set(err, rc, "%s", name);
	if (bs->fail_kind == MTK_P12B_CERT)
		return mtk_err_set(err, MTK_E_DER, "%s: a certificate in the PFX does not decode", name);
	if (bs->fail_kind == MTK_P12B_CRL)
		return mtk_err_set(err, MTK_E_DER, "%s: a CRL in the PFX does not decode", name);
	if (last == NULL || !last->shrouded)
		return rc == MTK_E_KEY
			   ? mtk_err_set(err, MTK_E_KEY, "%s: unreadable key bag", name)
			   : mtk_err_set(err, MTK_E_PKCS12, "%s: empty shrouded key bag", name);
	if (rc == MTK_E_BAD_PASSWORD && unasked) {
		/* No MAC told us the password was needed; the key says so now. */
		info->needs_password = true;
		return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
				   "%s: the key in the PFX is password-protected; give --pass", name);
	}
	if (rc == MTK_E_BAD_PASSWORD && !bs->has_mac)
		return mtk_err_set(err, rc, "%s: wrong password", name);
	return mtk_err_set(err, rc, "%s: cannot decrypt the private key in the PFX", name);
}

/* A PFX through the one PKCS#12 decoder (formats/p12bags.c): the password
 * given, or else the empty one (both encodings). */
static mtk_rc load_p12(mtk_set *set, const char *name, const uint8_t *data, size_t len,
		       const mtk_load_opts *opts, mtk_container_info *info, mtk_err *err)
{
	mtk_p12_read_opts ro = {.pass = opts->pass != NULL ? opts->pass->s : NULL,
				.passlen = opts->pass != NULL ? opts->pass->len : 0,
				.keep_locked = !opts->require_decrypt,
				.check_damage = true};
	mtk_p12_bags bs;
	mtk_rc rc = mtk_p12_bags_read(data, len, &ro, &bs), rc2;

	if (bs.fail == MTK_P12F_DER) {
		size_t declared = 0;

		mtk_p12_bags_free(&bs);
		if (mtk_der_truncated(data, len, &declared) && declared > len)
			return mtk_err_set(err, MTK_E_TRUNCATED,
					   "%s: truncated PFX: it declares %zu bytes, the file has %zu", name,
					   declared, len);
		return mtk_err_set(err, MTK_E_PKCS12, "%s: the PFX/PKCS#12 file does not decode (damaged)",
				   name);
	}
	info->p12_has_mac = bs.has_mac;
	if (bs.has_mac) {
		snprintf(info->p12_mac_alg, sizeof(info->p12_mac_alg), "%s",
			 OBJ_nid2ln(bs.mac_nid)); /* "sha256", as openssl prints it */
		info->p12_mac_iter = bs.mac_iter;
	}
	snprintf(info->p12_cert_enc, sizeof(info->p12_cert_enc), "%s", bs.cert_enc);
	snprintf(info->p12_key_enc, sizeof(info->p12_key_enc), "%s", bs.key_enc);
	if (bs.legacy)
		info->p12_legacy = true;
	for (size_t i = 0; i < bs.n; i++)
		if (bs.b[i].locked)
			info->needs_password = true;
	rc2 = p12_objs(set, name, &bs, err);
	if (rc != MTK_OK)
		rc = p12_refused(&bs, rc, name, opts, info, err);
	else
		rc = rc2;
	mtk_p12_bags_free(&bs);
	return rc;
}

/* ---- JKS / JCEKS: identification (entries via the keystore module) ---- */

static mtk_rc ks_header(const char *name, const uint8_t *data, size_t len, mtk_container_info *info,
			mtk_err *err)
{
	mtk_reader r;
	uint32_t magic, version, count;

	mtk_reader_init(&r, data, len);
	if (mtk_reader_u32be(&r, &magic) != MTK_OK || mtk_reader_u32be(&r, &version) != MTK_OK ||
	    mtk_reader_u32be(&r, &count) != MTK_OK)
		return mtk_err_set(err, MTK_E_TRUNCATED, "%s: keystore header is truncated", name);
	if (version != 1 && version != 2)
		return mtk_err_set(err, MTK_E_KEYSTORE, "%s: unknown keystore version %u", name, version);
	info->ks_version = version;
	info->ks_entries = count;
	return MTK_OK;
}


/* Key entries the store password did not open: their password differs
 * (keytool -keypass, or -importkeystore without -destkeypass). */
static mtk_rc locked_keys(mtk_set *set, const char *name, const mtk_load_opts *opts, mtk_err *err)
{
	for (size_t i = 0; i < set->count; i++) {
		mtk_obj *o = &set->objs[i];

		if (o->kind != MTK_OBJ_KEY || o->key != NULL || opts->pass == NULL)
			continue;
		if (opts->require_decrypt)
			return mtk_err_set(err, MTK_E_KEY_PASSWORD,
					   "%s: alias %s: the store password does not open the key; "
					   "its password differs: give it with --key-pass",
					   name, o->alias ? o->alias : "?");
		if (o->note == NULL &&
		    (o->note = strdup(opts->key_pass != NULL
					  ? "the key password given (--key-pass) does not open this key"
					  : "the store password does not open this key: its password "
					    "differs; give it with --key-pass")) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	}
	return MTK_OK;
}

/* ---- entry points ---- */

mtk_rc mtk_load_mem(mtk_set *set, const char *name, const uint8_t *data, size_t len,
		    const mtk_load_opts *opts, mtk_container_info *info, mtk_findings *fs, mtk_err *err)
{
	static const mtk_load_opts defaults = {0};
	mtk_container_info local_info;
	mtk_set tmp = MTK_SET_INIT;
	mtk_format f;
	int index = 0;
	mtk_rc rc;

	if (opts == NULL)
		opts = &defaults;
	if (info == NULL)
		info = &local_info;
	memset(info, 0, sizeof(*info));
	if (len == 0)
		return mtk_err_set(err, MTK_E_EMPTY, "%s: the file is empty", name);
	if (len > LONG_MAX || len > INT32_MAX)
		return mtk_err_set(err, MTK_E_TOO_LARGE, "%s", name);
	f = mtk_detect(data, len);
	info->format = f;
	switch (f) {
	case MTK_FMT_PEM:
		rc = load_pem(&tmp, name, data, len, opts, info, fs, err);
		break;
	case MTK_FMT_DER_CERT:
	case MTK_FMT_DER_CSR:
	case MTK_FMT_DER_CRL:
	case MTK_FMT_DER_PKCS7: {
		mtk_obj o = {0};
		o.source = (char *)name;
		rc = add_der(&tmp, f, data, len, &o, opts, &index, err);
		break;
	}
	case MTK_FMT_DER_KEY: {
		mtk_obj o = {0};
		o.source = (char *)name;
		o.kind = MTK_OBJ_KEY;
		rc = key_from_der(data, len, MTK_KEY_NONE, opts, &o, err);
		if (rc == MTK_OK) {
			char *desc = o.enc_desc;
			rc = add_or_release(&tmp, &o, err);
			free(desc);
		} else {
			free(o.enc_desc);
			EVP_PKEY_free(o.key);
		}
		break;
	}
	case MTK_FMT_PKCS12:
		rc = load_p12(&tmp, name, data, len, opts, info, err);
		break;
	case MTK_FMT_JKS:
	case MTK_FMT_JCEKS:
		if ((rc = ks_header(name, data, len, info, err)) != MTK_OK)
			break;
		rc = mtk_keystore_load_set(&tmp, name, data, len, opts->pass, opts->default_pass,
					   opts->key_pass, info, err);
		if (rc == MTK_E_PASSWORD_NEEDED && !opts->require_decrypt) {
			info->needs_password = true;
			mtk_err_clear(err);
			rc = MTK_OK;
		}
		if (rc == MTK_OK)
			rc = locked_keys(&tmp, name, opts, err);
		break;
	default: {
		size_t declared = 0, probe = len < 4096 ? len : 4096, odd = 0;

		for (size_t i = 0; i < probe; i++)
			odd += data[i] < 0x09 || (data[i] > 0x0d && data[i] < 0x20) || data[i] == 0x7f;
		if (mtk_der_truncated(data, len, &declared) && declared > len)
			rc = mtk_err_set(err, MTK_E_TRUNCATED,
					 "%s: truncated: the DER structure declares %zu bytes, the file has %zu",
					 name, declared, len);
		else if (mtk_der_truncated(data, len, &declared))
			rc = mtk_err_set(err, MTK_E_TRUNCATED, "%s: truncated DER header", name);
		else if (odd * 20 <= probe)
			rc = mtk_err_set(err, MTK_E_UNKNOWN_FORMAT,
					 "%s: text with no -----BEGIN block; not a certificate, key, CSR or CRL",
					 name);
		else
			rc = mtk_err_set(err, MTK_E_UNKNOWN_FORMAT,
					 "%s: binary data that is not DER, PKCS#12, JKS or JCEKS", name);
		break;
	}
	}
	if (rc == MTK_OK)
		rc = set_move(set, &tmp);
	if (rc == MTK_E_NOMEM)
		mtk_err_set(err, rc, "%s", name);
	mtk_set_free(&tmp);
	return rc;
}

mtk_rc mtk_load_file(mtk_set *set, const char *path, const mtk_load_opts *opts,
		     mtk_container_info *info, mtk_findings *fs, mtk_err *err)
{
	mtk_buf b = MTK_BUF_SECRET_INIT; /* may hold private keys */
	mtk_rc rc;

	if ((rc = mtk_file_read(path, 0, &b, err)) != MTK_OK)
		return rc;
	rc = mtk_load_mem(set, path, b.data, b.len, opts, info, fs, err);
	mtk_buf_free(&b);
	return rc;
}

/* ---- strict reading for services ---- */

static const char *kind_name(mtk_obj_kind k)
{
	switch (k) {
	case MTK_OBJ_CERT:
		return "certificate";
	case MTK_OBJ_KEY:
		return "private key";
	case MTK_OBJ_CSR:
		return "certificate request";
	case MTK_OBJ_CRL:
		return "CRL";
	case MTK_OBJ_PUBKEY:
		return "public key";
	case MTK_OBJ_SECRET_KEY:
		return "secret key";
	default:
		return "object";
	}
}

mtk_rc mtk_load_mem_strict(mtk_set *set, const char *name, const uint8_t *data, size_t len,
			   unsigned allowed, mtk_obj_kind want, const mtk_load_opts *opts,
			   mtk_err *err)
{
	mtk_load_opts o = {0};
	mtk_set tmp = MTK_SET_INIT;
	size_t found = 0;
	mtk_rc rc;

	if (opts != NULL)
		o = *opts;
	o.strict = true;
	o.findings = false;
	if ((rc = mtk_load_mem(&tmp, name, data, len, &o, NULL, NULL, err)) != MTK_OK)
		return rc;
	for (size_t i = 0; i < tmp.count; i++) {
		const mtk_obj *ob = &tmp.objs[i];

		if (!(allowed & MTK_OBJ_BIT(ob->kind))) {
			if (ob->line > 0)
				rc = mtk_err_set(
				    err, MTK_E_MALFORMED,
				    "%s:%ld: a %s block (%s) does not belong here; expected %s",
				    name, ob->line, ob->label ? ob->label : "PEM",
				    kind_name(ob->kind), kind_name(want));
			else
				rc = mtk_err_set(
				    err, MTK_E_MALFORMED,
				    "%s: holds a %s, which does not belong here; expected %s", name,
				    kind_name(ob->kind), kind_name(want));
			goto out;
		}
		found += ob->kind == want;
	}
	if (found == 0) {
		rc = mtk_err_set(err, MTK_E_NOT_FOUND, "%s: no %s in the file", name,
				 kind_name(want));
		goto out;
	}
	rc = set_move(set, &tmp);
	if (rc == MTK_E_NOMEM)
		mtk_err_set(err, rc, "%s", name);
out:
	mtk_set_free(&tmp);
	return rc;
}

mtk_rc mtk_load_file_strict(mtk_set *set, const char *path, unsigned allowed, mtk_obj_kind want,
			    const mtk_load_opts *opts, mtk_err *err)
{
	mtk_buf b = MTK_BUF_SECRET_INIT; /* may hold private keys */
	mtk_rc rc;

	if ((rc = mtk_file_read(path, 0, &b, err)) != MTK_OK)
		return rc;
	rc = mtk_load_mem_strict(set, path, b.data, b.len, allowed, want, opts, err);
	mtk_buf_free(&b);
	return rc;
}
