/* policy.c - mtk_tls_policy_*: the server and client TLS profiles (see
 * tlspolicy.h). */
#include "mtlskit/tlspolicy.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>

/* Checks every element of an OpenSSL cipher string on its own against a
 * scratch context: OpenSSL accepts a list as soon as one element matches.
 * Elements are separated by ':' (also ',' and ' ' in cipher lists);
 * operators (!, -, +) apply to the name after them; @ directives
 * (@STRENGTH, @SECLEVEL=n) are left to OpenSSL. */
static mtk_rc check_each(SSL_CTX *scratch, const char *key, const char *list, bool suites,
			 mtk_err *err)
{
	const char *p = list;

	while (*p != '\0') {
		char name[128];
		size_t n = strcspn(p, suites ? ":" : ":, ");
		const char *e = p;
		size_t k = n;

		if (n == 0) {
			p++;
			continue;
		}
		if (!suites && (*e == '!' || *e == '-' || *e == '+'))
			e++, k--;
		if (k >= sizeof(name))
			return mtk_err_set(err, MTK_E_CONFIG, "%s: element too long", key);
		memcpy(name, e, k);
		name[k] = '\0';
		if (k > 0 && name[0] != '@' &&
		    (suites ? SSL_CTX_set_ciphersuites(scratch, name)
			    : SSL_CTX_set_cipher_list(scratch, name)) != 1) {
			ERR_clear_error();
			return mtk_err_set(err, MTK_E_CONFIG,
					   "%s: '%s' is not a cipher%s OpenSSL knows", key, name,
					   suites ? " suite" : "");
		}
		p += n;
	}
	return MTK_OK;
}

mtk_rc mtk_tls_policy_server(SSL_CTX *ctx, const mtk_tls_server_policy *p, mtk_err *err)
{
	const char *ciphers = p->ciphers ? p->ciphers : MTK_TLS_SERVER_CIPHERS;
	SSL_CTX *scratch = NULL;
	mtk_rc rc = MTK_OK;

	if (p->ciphers != NULL || p->ciphersuites != NULL) {
		if ((scratch = SSL_CTX_new(TLS_server_method())) == NULL)
			return mtk_err_set(err, MTK_E_CRYPTO, "TLS policy");
		if (p->ciphers != NULL)
			rc = check_each(scratch, "tls_ciphers", p->ciphers, false, err);
		if (rc == MTK_OK && p->ciphersuites != NULL)
			rc = check_each(scratch, "tls_ciphersuites", p->ciphersuites, true, err);
		SSL_CTX_free(scratch);
		if (rc != MTK_OK)
			return rc;
	}
	if (SSL_CTX_set_min_proto_version(ctx,
					  p->tls_min == 13 ? TLS1_3_VERSION : TLS1_2_VERSION) != 1)
		return mtk_err_set(err, MTK_E_CRYPTO, "TLS policy: minimum version");
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		return mtk_err_set(err, MTK_E_CONFIG, "tls_ciphers: no cipher matches '%s'",
				   ciphers);
	if (p->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, p->ciphersuites) != 1)
		return mtk_err_set(err, MTK_E_CONFIG, "tls_ciphersuites: no suite matches '%s'",
				   p->ciphersuites);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	return MTK_OK;
}

mtk_rc mtk_tls_policy_client(SSL_CTX *ctx, mtk_err *err)
{
	/* probe and expiry report on servers as they are, old ones included */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1)
		return mtk_err_set(err, MTK_E_CRYPTO, "TLS policy: minimum version");
	return MTK_OK;
}
