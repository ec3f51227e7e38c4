/*
 * describe.c - extension, CSR, CRL, key and PKCS#12 details (describe.h).
 *
 * All decoding is OpenSSL's (d2i_*, X509V3_EXT_d2i, PKCS12_unpack_*); this
 * file only walks the decoded structures and turns them into printable
 * strings.  Nothing here trusts a string from a certificate to be printable:
 * everything goes through mtk_str_printable().
 */
#include "mtlskit/describe.h"

#include "formats/p12bags.h"
#include "formats/pbe.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "mtlskit/buf.h"
#include "mtlskit/cert.h"

/* ---- strings ---- */

mtk_rc mtk_strlist_add(mtk_strlist *l, const char *s)
{
	char **v;
	char *d = strdup(s);

	if (d == NULL)
		return MTK_E_NOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(d);
		return MTK_E_NOMEM;
	}
	l->v = v;
	l->v[l->n++] = d;
	return MTK_OK;
}

void mtk_strlist_free(mtk_strlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Length of the valid UTF-8 sequence at s[0..left), 0 if invalid (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

char *mtk_str_printable(const char *s, size_t len, char *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;

	if (cap == 0)
		return out;
	while (s != NULL && i < len) {
		size_t n = utf8_len(u + i, len - i);

		/* C1 controls (U+0080-U+009F, e.g. U+009B, a one-character CSI)
		 * are as dangerous on a terminal as their 7-bit forms. */
		if (n == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0)
			n = 0;
		if (n == 1 && u[i] >= 0x20 && u[i] != 0x7F) {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)u[i];
		} else if (n > 1) {
			if (o + n >= cap)
				break;
			memcpy(out + o, u + i, n);
			o += n;
		} else {
			/* control, DEL or a byte that is not valid UTF-8 */
			if (o + 4 >= cap)
				break;
			snprintf(out + o, cap - o, "\\x%02X", u[i]);
			o += 4;
			n = 1;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}

static void asn1_printable(const ASN1_STRING *a, char *out, size_t cap)
{
	if (a == NULL) {
		out[0] = '\0';
		return;
	}
	mtk_str_printable((const char *)ASN1_STRING_get0_data(a), (size_t)ASN1_STRING_length(a), out,
			  cap);
}

/* "AB:CD:..." of n bytes; ends in "..." when it does not fit. */
static void hex_colon(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (o + 3 + 4 > cap) {
			snprintf(out + o, cap - o, "...");
			return;
		}
		o += (size_t)snprintf(out + o, cap - o, "%s%02X", i ? ":" : "", p[i]);
	}
}


/* Lower-case hex of an INTEGER, as cert.h prints serials. */
static mtk_rc int_hex(const ASN1_INTEGER *ai, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	size_t k = 0;

	if (hex == NULL) {
		BN_free(bn);
		return MTK_E_DER;
	}
	for (const char *p = hex; *p && k + 1 < cap; p++)
		out[k++] = (char)((*p >= 'A' && *p <= 'F') ? *p - 'A' + 'a' : *p);
	out[k] = '\0';
	OPENSSL_free(hex);
	BN_free(bn);
	return MTK_OK;
}

/* ---- extensions ---- */

static mtk_rc general_name(const GENERAL_NAME *g, mtk_strlist *l)
{
	char v[600], buf[700];
	int type = 0;
	void *val = GENERAL_NAME_get0_value(g, &type);

	v[0] = '\0';
	switch (type) {
	case GEN_DNS:
		asn1_printable(val, v, sizeof(v));
		snprintf(buf, sizeof(buf), "DNS:%s", v);
		break;
	case GEN_EMAIL:
		asn1_printable(val, v, sizeof(v));
		snprintf(buf, sizeof(buf), "email:%s", v);
		break;
	case GEN_URI:
		asn1_printable(val, v, sizeof(v));
		snprintf(buf, sizeof(buf), "URI:%s", v);
		break;
	case GEN_IPADD: {
		const ASN1_OCTET_STRING *ip = val;
		const unsigned char *p = ASN1_STRING_get0_data(ip);
		int n = ASN1_STRING_length(ip);
		char a[INET6_ADDRSTRLEN];

		if ((n == 4 && inet_ntop(AF_INET, p, a, sizeof(a)) != NULL) ||
		    (n == 16 && inet_ntop(AF_INET6, p, a, sizeof(a)) != NULL))
			snprintf(buf, sizeof(buf), "IP:%s", a);
		else {
			hex_colon(p, n > 0 ? (size_t)n : 0, v, sizeof(v));
			snprintf(buf, sizeof(buf), "IP:<%s>", v);
		}
		break;
	}
	case GEN_DIRNAME:
		mtk_name_string(val, v, sizeof(v));
		snprintf(buf, sizeof(buf), "DirName:%s", v);
		break;
	case GEN_OTHERNAME: {
		const OTHERNAME *on = val;
		char oid[80];

		if (OBJ_obj2nid(on->type_id) == NID_ms_upn && on->value != NULL &&
		    on->value->type == V_ASN1_UTF8STRING) {
			asn1_printable(on->value->value.utf8string, v, sizeof(v));
			snprintf(buf, sizeof(buf), "UPN:%s", v);
		} else {
			mtk_oid_text(on->type_id, oid, sizeof(oid));
			snprintf(buf, sizeof(buf), "otherName:%s", oid);
		}
		break;
	}
	case GEN_RID:
		mtk_oid_text(val, v, sizeof(v));
		snprintf(buf, sizeof(buf), "RID:%s", v);
		break;
	case GEN_X400:
		snprintf(buf, sizeof(buf), "X400Name");
		break;
	case GEN_EDIPARTY:
		snprintf(buf, sizeof(buf), "EdiPartyName");
		break;
	default:
		snprintf(buf, sizeof(buf), "unknown");
	}
	return mtk_strlist_add(l, buf);
}

static const char *const ku_names[] = {
	"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
	"keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly",
};

static mtk_rc one_ext(X509_EXTENSION *ext, mtk_ext_desc *d)
{
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	bool crit = X509_EXTENSION_get_critical(ext) > 0;
	void *v = NULL;
	mtk_rc rc = MTK_OK;

	switch (nid) {
	case NID_subject_alt_name:
	case NID_key_usage:
	case NID_ext_key_usage:
	case NID_basic_constraints:
	case NID_subject_key_identifier:
	case NID_authority_key_identifier:
		break;
	default:
		return MTK_OK;
	}
	v = X509V3_EXT_d2i(ext);
	if (v == NULL) {
		ERR_clear_error();
		return mtk_strlist_add(&d->malformed, OBJ_nid2sn(nid));
	}
	switch (nid) {
	case NID_subject_alt_name: {
		GENERAL_NAMES *gs = v;
		if (d->san.n == 0) {
			d->san_critical = crit;
			for (int i = 0; i < sk_GENERAL_NAME_num(gs) && rc == MTK_OK; i++)
				rc = general_name(sk_GENERAL_NAME_value(gs, i), &d->san);
		}
		GENERAL_NAMES_free(gs);
		break;
	}
	case NID_key_usage: {
		ASN1_BIT_STRING *ku = v;
		if (!d->has_key_usage) {
			d->has_key_usage = true;
			d->key_usage_critical = crit;
			for (int i = 0; i < (int)(sizeof(ku_names) / sizeof(ku_names[0])) && rc == MTK_OK;
			     i++)
				if (ASN1_BIT_STRING_get_bit(ku, i))
					rc = mtk_strlist_add(&d->key_usage, ku_names[i]);
		}
		ASN1_BIT_STRING_free(ku);
		break;
	}
	case NID_ext_key_usage: {
		EXTENDED_KEY_USAGE *eku = v;
		if (!d->has_eku) {
			d->has_eku = true;
			d->eku_critical = crit;
			for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && rc == MTK_OK; i++) {
				char name[80];
				mtk_oid_text(sk_ASN1_OBJECT_value(eku, i), name, sizeof(name));
				rc = mtk_strlist_add(&d->eku, name);
			}
		}
		EXTENDED_KEY_USAGE_free(eku);
		break;
	}
	case NID_basic_constraints: {
		BASIC_CONSTRAINTS *bc = v;
		if (!d->has_basic_constraints) {
			d->has_basic_constraints = true;
			d->basic_constraints_critical = crit;
			d->ca = bc->ca != 0;
			d->path_len = bc->pathlen ? ASN1_INTEGER_get(bc->pathlen) : -1;
		}
		BASIC_CONSTRAINTS_free(bc);
		break;
	}
	case NID_subject_key_identifier: {
		ASN1_OCTET_STRING *ski = v;
		if (d->ski[0] == '\0')
			hex_colon(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), d->ski,
				  sizeof(d->ski));
		ASN1_OCTET_STRING_free(ski);
		break;
	}
	case NID_authority_key_identifier: {
		AUTHORITY_KEYID *ak = v;
		if (d->aki[0] == '\0' && ak->keyid != NULL)
			hex_colon(ASN1_STRING_get0_data(ak->keyid), (size_t)ASN1_STRING_length(ak->keyid),
				  d->aki, sizeof(d->aki));
		AUTHORITY_KEYID_free(ak);
		break;
	}
	}
	return rc;
}

mtk_rc mtk_ext_describe(const STACK_OF(X509_EXTENSION) *exts, mtk_ext_desc *out, mtk_err *err)
{
	mtk_ext_desc d;
	mtk_rc rc = MTK_OK;
	int n = exts ? sk_X509_EXTENSION_num(exts) : 0;

	memset(&d, 0, sizeof(d));
	d.path_len = -1;
	d.count = n > 0 ? (size_t)n : 0;
	for (int i = 0; i < n && rc == MTK_OK; i++)
		rc = one_ext(sk_X509_EXTENSION_value(exts, i), &d);
	if (rc != MTK_OK) {
		mtk_ext_desc_free(&d);
		return mtk_err_set(err, rc, "describing extensions");
	}
	*out = d;
	return MTK_OK;
}

void mtk_ext_desc_free(mtk_ext_desc *d)
{
	if (d == NULL)
		return;
	mtk_strlist_free(&d->san);
	mtk_strlist_free(&d->key_usage);
	mtk_strlist_free(&d->eku);
	mtk_strlist_free(&d->malformed);
}

/* ---- keys and signatures ---- */

void mtk_key_facts_get(EVP_PKEY *key, mtk_key_facts *o)
{
	char desc[96];
	int id;

	memset(o, 0, sizeof(*o));
	if (key == NULL) {
		snprintf(o->type, sizeof(o->type), "unknown");
		return;
	}
	mtk_key_describe(key, desc, sizeof(desc));
	{
		const char *sp = strchr(desc, ' ');
		size_t tl = sp ? (size_t)(sp - desc) : strlen(desc);
		snprintf(o->type, sizeof(o->type), "%.*s", (int)(tl < sizeof(o->type) ? tl : sizeof(o->type) - 1),
			 desc);
		id = EVP_PKEY_get_base_id(key);
		if (id == EVP_PKEY_EC && sp != NULL)
			snprintf(o->curve, sizeof(o->curve), "%s", sp + 1);
	}
	o->bits = EVP_PKEY_get_bits(key);
	o->weak = (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_DSA) && o->bits < 2048;
}

bool mtk_sig_nid_weak(int sig_nid)
{
	int md = NID_undef, pk = NID_undef;

	if (OBJ_find_sigid_algs(sig_nid, &md, &pk) != 1)
		return false;
	return md == NID_sha1 || md == NID_md5 || md == NID_md4 || md == NID_md2;
}

static void sig_name(int nid, char *out, size_t cap)
{
	snprintf(out, cap, "%s", nid == NID_undef ? "unknown" : OBJ_nid2ln(nid));
}

/* ---- CSR ---- */

static mtk_rc csr_attributes(X509_REQ *req, mtk_strlist *l)
{
	int n = X509_REQ_get_attr_count(req);
	mtk_rc rc = MTK_OK;

	for (int i = 0; i < n && rc == MTK_OK; i++) {
		X509_ATTRIBUTE *a = X509_REQ_get_attr(req, i);
		ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(a);
		int nid = OBJ_obj2nid(obj);
		ASN1_TYPE *t;
		char name[80], v[400], buf[512];

		if (nid == NID_ext_req || nid == NID_ms_ext_req)
			continue; /* shown as requested extensions */
		mtk_oid_text(obj, name, sizeof(name));
		if (nid == NID_pkcs9_challengePassword) {
			/* a secret: say it is there, never show it */
			snprintf(buf, sizeof(buf), "%s (present, not shown)", name);
			rc = mtk_strlist_add(l, buf);
			continue;
		}
		t = X509_ATTRIBUTE_count(a) > 0 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
		if (t != NULL && (t->type == V_ASN1_UTF8STRING || t->type == V_ASN1_PRINTABLESTRING ||
				  t->type == V_ASN1_IA5STRING || t->type == V_ASN1_T61STRING)) {
			asn1_printable(t->value.asn1_string, v, sizeof(v));
			snprintf(buf, sizeof(buf), "%s: %s", name, v);
		} else {
			snprintf(buf, sizeof(buf), "%s", name);
		}
		rc = mtk_strlist_add(l, buf);
	}
	return rc;
}

mtk_rc mtk_csr_describe(X509_REQ *req, mtk_csr_desc *out, mtk_err *err)
{
	mtk_csr_desc d;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	EVP_PKEY *pub;
	mtk_rc rc;

	memset(&d, 0, sizeof(d));
	mtk_name_string(X509_REQ_get_subject_name(req), d.subject, sizeof(d.subject));
	d.version = (int)X509_REQ_get_version(req) + 1;
	pub = X509_REQ_get0_pubkey(req);
	d.has_key = pub != NULL;
	mtk_key_facts_get(pub, &d.key);
	sig_name(X509_REQ_get_signature_nid(req), d.sig_alg, sizeof(d.sig_alg));
	d.sig_weak = mtk_sig_nid_weak(X509_REQ_get_signature_nid(req));
	d.sig_valid = pub != NULL && X509_REQ_verify(req, pub) == 1;
	ERR_clear_error();
	exts = X509_REQ_get_extensions(req);
	ERR_clear_error();
	rc = mtk_ext_describe(exts, &d.ext, err);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc == MTK_OK && exts == NULL && X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >= 0)
		rc = mtk_strlist_add(&d.ext.malformed, "extensionRequest");
	if (rc == MTK_OK)
		rc = csr_attributes(req, &d.attributes);
	if (rc != MTK_OK) {
		mtk_csr_desc_free(&d);
		return mtk_err_set(err, rc, "describing the certificate request");
	}
	*out = d;
	return MTK_OK;
}

void mtk_csr_desc_free(mtk_csr_desc *d)
{
	if (d == NULL)
		return;
	mtk_ext_desc_free(&d->ext);
	mtk_strlist_free(&d->attributes);
}

/* ---- CRL ---- */

static const char *reason_name(long r)
{
	static const char *const names[] = {
		"unspecified",          "keyCompromise",   "cACompromise", "affiliationChanged",
		"superseded",           "cessationOfOperation", "certificateHold", "",
		"removeFromCRL",        "privilegeWithdrawn", "aACompromise",
	};
	if (r < 0 || r >= (long)(sizeof(names) / sizeof(names[0])) || names[r][0] == '\0')
		return "unknown";
	return names[r];
}

mtk_rc mtk_crl_describe(X509_CRL *crl, mtk_crl_desc *out, mtk_err *err)
{
	mtk_crl_desc d;
	STACK_OF(X509_REVOKED) *rev;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *ak = NULL;
	int n;
	mtk_rc rc = MTK_OK;

	memset(&d, 0, sizeof(d));
	mtk_name_string(X509_CRL_get_issuer(crl), d.issuer, sizeof(d.issuer));
	d.version = (int)X509_CRL_get_version(crl) + 1;
	if (mtk_asn1_time_to_time(X509_CRL_get0_lastUpdate(crl), &d.this_update) != MTK_OK)
		return mtk_err_set(err, MTK_E_DER, "CRL thisUpdate");
	if (X509_CRL_get0_nextUpdate(crl) != NULL) {
		if (mtk_asn1_time_to_time(X509_CRL_get0_nextUpdate(crl), &d.next_update) != MTK_OK)
			return mtk_err_set(err, MTK_E_DER, "CRL nextUpdate");
		d.has_next_update = true;
	}
	sig_name(X509_CRL_get_signature_nid(crl), d.sig_alg, sizeof(d.sig_alg));
	d.sig_weak = mtk_sig_nid_weak(X509_CRL_get_signature_nid(crl));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (num != NULL) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(num, NULL);
		char *dec = bn ? BN_bn2dec(bn) : NULL;
		if (dec)
			snprintf(d.crl_number, sizeof(d.crl_number), "%s", dec);
		OPENSSL_free(dec);
		BN_free(bn);
		ASN1_INTEGER_free(num);
	}
	ak = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	if (ak != NULL && ak->keyid != NULL)
		hex_colon(ASN1_STRING_get0_data(ak->keyid), (size_t)ASN1_STRING_length(ak->keyid), d.aki,
			  sizeof(d.aki));
	AUTHORITY_KEYID_free(ak);
	ERR_clear_error();
	rev = X509_CRL_get_REVOKED(crl);
	n = rev ? sk_X509_REVOKED_num(rev) : 0;
	if (n > 0) {
		/* bounded by what OpenSSL already decoded from the input */
		d.revoked = calloc((size_t)n, sizeof(*d.revoked));
		if (d.revoked == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "CRL entries");
	}
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
		mtk_crl_entry *e = &d.revoked[i];
		ASN1_ENUMERATED *reason;

		if (int_hex(X509_REVOKED_get0_serialNumber(r), e->serial, sizeof(e->serial)) != MTK_OK ||
		    mtk_asn1_time_to_time(X509_REVOKED_get0_revocationDate(r), &e->date) != MTK_OK) {
			rc = mtk_err_set(err, MTK_E_DER, "CRL entry %d", i + 1);
			break;
		}
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		if (reason != NULL) {
			snprintf(e->reason, sizeof(e->reason), "%s", reason_name(ASN1_ENUMERATED_get(reason)));
			ASN1_ENUMERATED_free(reason);
		}
		d.revoked_count++;
	}
	ERR_clear_error();
	if (rc != MTK_OK) {
		mtk_crl_desc_free(&d);
		return rc;
	}
	*out = d;
	return MTK_OK;
}

void mtk_crl_desc_free(mtk_crl_desc *d)
{
	if (d == NULL)
		return;
	free(d->revoked);
	d->revoked = NULL;
	d->revoked_count = 0;
}

/* ---- PKCS#12 ---- */


/* The parts of a PFX that need no password, through the one PKCS#12
 * decoder (formats/p12bags.c) in its structure-only mode. */
mtk_rc mtk_p12_describe(const uint8_t *data, size_t len, mtk_p12_desc *out, mtk_err *err)
{
	mtk_p12_read_opts ro = {.structure_only = true};
	mtk_p12_bags bs;
	mtk_p12_desc d;
	mtk_rc rc;

	memset(&d, 0, sizeof(d));
	snprintf(d.cert_enc, sizeof(d.cert_enc), "none");
	snprintf(d.key_enc, sizeof(d.key_enc), "none");
	if (len == 0 || len > LONG_MAX)
		return mtk_err_set(err, MTK_E_PKCS12, "not a PKCS#12 file");
	rc = mtk_p12_bags_read(data, len, &ro, &bs);
	if (rc != MTK_OK) {
		rc = mtk_err_set(err, rc == MTK_E_NOMEM ? MTK_E_NOMEM : MTK_E_PKCS12, "%s",
				 bs.fail == MTK_P12F_DER ? "the PFX/PKCS#12 structure does not decode"
							 : "the PFX contents do not decode");
		goto out;
	}
	d.has_mac = bs.has_mac;
	if (d.has_mac) {
		/* the long name is what `openssl pkcs12 -info` prints: "sha1", "sha256" */
		snprintf(d.mac_alg, sizeof(d.mac_alg), "%s",
			 bs.mac_nid != NID_undef ? OBJ_nid2ln(bs.mac_nid) : "unknown");
		d.mac_iter = bs.mac_iter;
		d.mac_salt_len = bs.mac_salt_len;
	}
	d.safes = bs.safes;
	d.encrypted_safes = bs.enc_safes;
	snprintf(d.cert_enc, sizeof(d.cert_enc), "%s", bs.first_safe_enc);
	d.cert_iter = bs.first_safe_iter;
	d.legacy = bs.legacy;
	for (size_t i = 0; i < bs.n; i++) {
		const mtk_p12_bag *b = &bs.b[i];

		if (b->kind == MTK_P12B_CERT)
			d.plain_certs++;
		else if (b->kind == MTK_P12B_KEY && !b->shrouded)
			d.plain_keys++;
		else if (b->kind == MTK_P12B_KEY && strcmp(d.key_enc, "none") == 0) {
			snprintf(d.key_enc, sizeof(d.key_enc), "%s", b->enc);
			d.key_iter = b->enc_iter;
		}
	}
	*out = d;
out:
	mtk_p12_bags_free(&bs);
	return rc;
}

/* ---- truncated DER ---- */

bool mtk_der_truncated(const uint8_t *data, size_t len, size_t *declared)
{
	mtk_reader r;
	uint8_t tag, b;
	uint64_t l = 0;

	*declared = 0;
	mtk_reader_init(&r, data, len);
	if (mtk_reader_u8(&r, &tag) != MTK_OK || tag != 0x30)
		return false;
	if (mtk_reader_u8(&r, &b) != MTK_OK)
		return true; /* a lone SEQUENCE tag: the length is cut */
	if (b & 0x80) {
		uint8_t n = b & 0x7f;
		if (n == 0 || n > 4)
			return false; /* indefinite or absurd: not a truncation we can name */
		for (uint8_t i = 0; i < n; i++) {
			if (mtk_reader_u8(&r, &b) != MTK_OK)
				return true; /* the length itself is cut */
			l = (l << 8) | b;
		}
	} else {
		l = b;
	}
	if (l <= mtk_reader_left(&r))
		return false;
	*declared = (size_t)(l + r.off);
	return true;
}
