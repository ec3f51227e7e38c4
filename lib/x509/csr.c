/*
 * csr.c - PKCS#10 requests, renewal requests and the certreq INF (csr.h).
 */
#include "mtlskit/csr.h"

#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mtlskit/keygen.h"
#include "mtlskit/load.h"

static bool key_is_rsa(EVP_PKEY *key)
{
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
}

/* GENERAL_NAMES from "DNS:x" strings; *out owned by the caller. */
static mtk_rc sans_to_names(const mtk_sans *sans, GENERAL_NAMES **out, mtk_err *err)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();

	if (gens == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "SAN");
	for (size_t i = 0; i < sans->count; i++) {
		const char *s = sans->items[i], *v = strchr(s, ':') + 1;
		int type = strncmp(s, "DNS:", 4) == 0     ? GEN_DNS
			   : strncmp(s, "IP:", 3) == 0    ? GEN_IPADD
			   : strncmp(s, "email:", 6) == 0 ? GEN_EMAIL
							  : GEN_URI;
		GENERAL_NAME *g = a2i_GENERAL_NAME(NULL, NULL, NULL, type, v, 0);

		if (g == NULL || !sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			GENERAL_NAMES_free(gens);
			return mtk_err_set(err, MTK_E_INVALID_ARG, "SAN %s cannot be encoded", s);
		}
	}
	*out = gens;
	return MTK_OK;
}

static mtk_rc add_ext(STACK_OF(X509_EXTENSION) *exts, int nid, int crit, void *value,
		      mtk_err *err)
{
	X509_EXTENSION *e = X509V3_EXT_i2d(nid, crit, value);

	if (e == NULL || !sk_X509_EXTENSION_push(exts, e)) {
		X509_EXTENSION_free(e);
		return mtk_err_set(err, MTK_E_CRYPTO, "encoding extension %s", OBJ_nid2sn(nid));
	}
	return MTK_OK;
}

static mtk_rc usage_exts(STACK_OF(X509_EXTENSION) *exts, EVP_PKEY *key, mtk_usage usage,
			 mtk_err *err)
{
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	mtk_rc rc = MTK_OK;

	if (usage == MTK_USAGE_NONE)
		return MTK_OK;
	ku = ASN1_BIT_STRING_new();
	eku = sk_ASN1_OBJECT_new_null();
	if (ku == NULL || eku == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "key usage");
		goto out;
	}
	/* bit 0 digitalSignature; bit 2 keyEncipherment only makes sense for
	 * RSA key transport (TLS 1.2 RSA kx); EC and Ed25519 keys only sign. */
	if (!ASN1_BIT_STRING_set_bit(ku, 0, 1) || (key_is_rsa(key) && !ASN1_BIT_STRING_set_bit(ku, 2, 1))) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "key usage");
		goto out;
	}
	if (((usage & MTK_USAGE_SERVER) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth))) ||
	    ((usage & MTK_USAGE_CLIENT) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "extended key usage");
		goto out;
	}
	if ((rc = add_ext(exts, NID_key_usage, 1, ku, err)) != MTK_OK)
		goto out;
	rc = add_ext(exts, NID_ext_key_usage, 0, eku, err);
out:
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_free(eku); /* nid2obj objects are static */
	return rc;
}

static mtk_rc sign_req(X509_REQ *req, EVP_PKEY *key, STACK_OF(X509_EXTENSION) *exts, mtk_err *err)
{
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_pubkey(req, key) != 1)
		return mtk_err_set(err, MTK_E_CRYPTO, "building the request");
	if (sk_X509_EXTENSION_num(exts) > 0 && X509_REQ_add_extensions(req, exts) != 1)
		return mtk_err_set(err, MTK_E_CRYPTO, "adding the requested extensions");
	if (X509_REQ_sign(req, key, mtk_key_sign_md(key)) <= 0)
		return mtk_err_set(err, MTK_E_CRYPTO, "signing the request");
	return MTK_OK;
}

mtk_rc mtk_csr_build(EVP_PKEY *key, const X509_NAME *name, const mtk_sans *sans, mtk_usage usage,
		     X509_REQ **out, mtk_err *err)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	GENERAL_NAMES *gens = NULL;
	mtk_rc rc;

	if (req == NULL || exts == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "request");
		goto out;
	}
	if (X509_REQ_set_subject_name(req, name) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "subject");
		goto out;
	}
	if (sans != NULL && sans->count > 0) {
		if ((rc = sans_to_names(sans, &gens, err)) != MTK_OK)
			goto out;
		if ((rc = add_ext(exts, NID_subject_alt_name, 0, gens, err)) != MTK_OK)
			goto out;
	}
	if ((rc = usage_exts(exts, key, usage, err)) != MTK_OK)
		goto out;
	if ((rc = sign_req(req, key, exts, err)) != MTK_OK)
		goto out;
	*out = req;
	req = NULL;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return rc;
}

mtk_rc mtk_csr_renew(X509 *cert, EVP_PKEY *key, X509_REQ **out, mtk_err *err)
{
	static const int copy[] = {NID_subject_alt_name, NID_key_usage, NID_ext_key_usage};
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	mtk_rc rc;

	if (req == NULL || exts == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "request");
		goto out;
	}
	if (X509_REQ_set_subject_name(req, X509_get_subject_name(cert)) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "subject");
		goto out;
	}
	for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
		int at = X509_get_ext_by_NID(cert, copy[i], -1);
		X509_EXTENSION *e;

		if (at < 0)
			continue;
		if (copy[i] == NID_key_usage && !key_is_rsa(key)) {
			/* An EC or Ed25519 key cannot encipher: a renewal that
			 * changes RSA to EC keeps only the signing bits. */
			ASN1_BIT_STRING *ku = X509_get_ext_d2i(cert, NID_key_usage, NULL, NULL);
			if (ku != NULL) {
				bool ok = ASN1_BIT_STRING_set_bit(ku, 2, 0) && ASN1_BIT_STRING_set_bit(ku, 3, 0) &&
					  ASN1_BIT_STRING_set_bit(ku, 4, 0);
				e = ok ? X509V3_EXT_i2d(NID_key_usage, 1, ku) : NULL;
				ASN1_BIT_STRING_free(ku);
				if (e == NULL || !sk_X509_EXTENSION_push(exts, e)) {
					X509_EXTENSION_free(e);
					rc = mtk_err_set(err, MTK_E_NOMEM, "keyUsage");
					goto out;
				}
				continue;
			}
		}
		e = X509_EXTENSION_dup(X509_get_ext(cert, at));
		if (e == NULL || !sk_X509_EXTENSION_push(exts, e)) {
			X509_EXTENSION_free(e);
			rc = mtk_err_set(err, MTK_E_NOMEM, "copying %s", OBJ_nid2sn(copy[i]));
			goto out;
		}
	}
	if ((rc = sign_req(req, key, exts, err)) != MTK_OK)
		goto out;
	*out = req;
	req = NULL;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return rc;
}

mtk_rc mtk_csr_pem(X509_REQ *req, mtk_buf *out, mtk_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	mtk_rc rc = MTK_OK;

	if (b == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "request");
	if (PEM_write_bio_X509_REQ(b, req) != 1 || (n = BIO_get_mem_data(b, &p)) <= 0)
		rc = mtk_err_set(err, MTK_E_CRYPTO, "encoding the request");
	else if (mtk_buf_append(out, p, (size_t)n) != MTK_OK)
		rc = mtk_err_set(err, MTK_E_NOMEM, "request");
	BIO_free(b);
	return rc;
}

/* --- certreq INF --- */

/* certreq reads a subject in X.500 string form; a value holding a comma,
 * '=', '+' or quote goes inside double quotes, and inside an INF string a
 * double quote is doubled. */
static mtk_rc inf_subject(const mtk_subject *s, mtk_buf *out)
{
	static const char *const inf_names[MTK_SUBJ__COUNT] = {
		[MTK_SUBJ_C] = "C", [MTK_SUBJ_ST] = "S", [MTK_SUBJ_L] = "L",  [MTK_SUBJ_O] = "O",
		[MTK_SUBJ_OU] = "OU", [MTK_SUBJ_CN] = "CN", [MTK_SUBJ_EMAIL] = "E",
	};
	mtk_rc rc = mtk_buf_append_str(out, "Subject = \"");

	/* Most specific first, as Windows shows it. */
	for (size_t k = s->count; rc == MTK_OK && k > 0; k--) {
		const mtk_subj_entry *e = &s->items[k - 1];
		bool quote = strpbrk(e->value, ",=+\"<>#;") != NULL;

		rc = mtk_buf_printf(out, "%s%s=%s", k == s->count ? "" : ", ", inf_names[e->field],
				    quote ? "\"\"" : "");
		for (const char *p = e->value; rc == MTK_OK && *p; p++)
			rc = *p == '"' ? mtk_buf_append_str(out, "\"\"\"\"") : mtk_buf_append_u8(out, (uint8_t)*p);
		if (rc == MTK_OK && quote)
			rc = mtk_buf_append_str(out, "\"\"");
	}
	if (rc == MTK_OK)
		rc = mtk_buf_append_str(out, "\"\r\n");
	return rc;
}

mtk_rc mtk_csr_inf(const mtk_subject *s, const mtk_sans *sans, mtk_usage usage, EVP_PKEY *key,
		   mtk_buf *out, mtk_err *err)
{
	char type[32];
	const EVP_MD *md = mtk_key_sign_md(key);
	bool rsa = key_is_rsa(key);
	mtk_rc rc = MTK_OK;

	mtk_key_type_name(key, type, sizeof(type));
	if (!rsa && strcmp(type, "ec:P-256") != 0 && strcmp(type, "ec:P-384") != 0)
		return mtk_err_set(err, MTK_E_UNSUPPORTED,
				   "--certreq-inf: certreq makes RSA and ECDSA P-256/P-384 keys only, not %s",
				   type[0] ? type : "this key type");
	for (size_t i = 0; i < s->count; i++)
		for (const char *p = s->items[i].value; *p; p++)
			if (*p == '\r' || *p == '\n')
				return mtk_err_set(err, MTK_E_INVALID_ARG,
						   "--certreq-inf: a line break in the subject");
#define P(...)                                                                               \
	do {                                                                                 \
		if (rc == MTK_OK)                                                            \
			rc = mtk_buf_printf(out, __VA_ARGS__);                               \
	} while (0)
	P("; certreq INF written by mtlskit: on Windows run\r\n"
	  ";   certreq -new request.inf request.csr\r\n"
	  "; The key is made in the Windows certificate store (machine).\r\n\r\n");
	P("[Version]\r\nSignature=\"$Windows NT$\"\r\n\r\n[NewRequest]\r\n");
	if (rc == MTK_OK)
		rc = inf_subject(s, out);
	if (rsa) {
		P("KeyAlgorithm = RSA\r\nKeyLength = %d\r\nKeySpec = 1\r\n", EVP_PKEY_get_bits(key));
		P("ProviderName = \"Microsoft RSA SChannel Cryptographic Provider\"\r\nProviderType = 12\r\n");
	} else {
		bool p384 = strcmp(type, "ec:P-384") == 0;
		P("KeyAlgorithm = ECDSA_P%s\r\nKeyLength = %s\r\n", p384 ? "384" : "256",
		  p384 ? "384" : "256");
		/* ECC keys live in a CNG key storage provider, which has no
		 * legacy ProviderType. */
		P("ProviderName = \"Microsoft Software Key Storage Provider\"\r\n");
	}
	P("Exportable = TRUE\r\nMachineKeySet = TRUE\r\nSMIME = FALSE\r\nPrivateKeyArchive = FALSE\r\n");
	P("UserProtected = FALSE\r\nUseExistingKeySet = FALSE\r\nRequestType = PKCS10\r\n");
	/* CERT_DIGITAL_SIGNATURE_KEY_USAGE 0x80 | CERT_KEY_ENCIPHERMENT_KEY_USAGE 0x20 */
	P("KeyUsage = 0x%02x\r\n", rsa ? 0xa0 : 0x80);
	P("HashAlgorithm = %s\r\n", md == EVP_sha384() ? "SHA384" : "SHA256");
	if (usage != MTK_USAGE_NONE) {
		P("\r\n[EnhancedKeyUsageExtension]\r\n");
		if (usage & MTK_USAGE_SERVER)
			P("; serverAuth\r\nOID=1.3.6.1.5.5.7.3.1\r\n");
		if (usage & MTK_USAGE_CLIENT)
			P("; clientAuth\r\nOID=1.3.6.1.5.5.7.3.2\r\n");
	}
	if (sans != NULL && sans->count > 0) {
		P("\r\n[Extensions]\r\n; subjectAltName\r\n2.5.29.17 = \"{text}\"\r\n");
		for (size_t i = 0; i < sans->count; i++) {
			const char *v = strchr(sans->items[i], ':') + 1;
			const char *t = strncmp(sans->items[i], "DNS:", 4) == 0   ? "dns"
					: strncmp(sans->items[i], "IP:", 3) == 0  ? "ipaddress"
					: strncmp(sans->items[i], "email:", 6) == 0 ? "email"
										    : "url";
			if (strpbrk(v, "\"\r\n&") != NULL) {
				rc = mtk_err_set(err, MTK_E_INVALID_ARG,
						 "--certreq-inf: SAN '%s' cannot be written in an INF", v);
				break;
			}
			P("_continue_ = \"%s=%s&\"\r\n", t, v);
		}
	}
#undef P
	return rc == MTK_OK ? MTK_OK : mtk_err_set(err, rc, "--certreq-inf");
}

mtk_rc mtk_csr_load(const char *path, X509_REQ **out, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_rc rc;

	if ((rc = mtk_load_file(&set, path, &lo, NULL, NULL, err)) != MTK_OK)
		return rc;
	rc = MTK_E_NOT_FOUND;
	for (size_t i = 0; i < set.count; i++) {
		if (set.objs[i].kind == MTK_OBJ_CSR && set.objs[i].csr != NULL) {
			*out = X509_REQ_dup(set.objs[i].csr);
			rc = *out ? MTK_OK : MTK_E_NOMEM;
			break;
		}
	}
	mtk_set_free(&set);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "%s: no certificate request in this file", path);
	return MTK_OK;
}

mtk_rc mtk_cert_load_first(const char *path, const mtk_secret *pass, X509 **out, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	mtk_rc rc;

	lo.pass = pass;
	if ((rc = mtk_load_file(&set, path, &lo, NULL, NULL, err)) != MTK_OK)
		return rc;
	rc = MTK_E_NOT_FOUND;
	for (size_t i = 0; i < set.count; i++) {
		if (set.objs[i].kind == MTK_OBJ_CERT && set.objs[i].cert != NULL) {
			X509_up_ref(set.objs[i].cert);
			*out = set.objs[i].cert;
			rc = MTK_OK;
			break;
		}
	}
	mtk_set_free(&set);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "%s: no certificate in this file", path);
	return MTK_OK;
}
