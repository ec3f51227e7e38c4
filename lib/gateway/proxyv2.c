/* proxyv2.c - mtk_pp2_*: PROXY protocol v2 headers carrying the client's
 * address and TLS identity to a TCP backend (haproxy proxy-protocol.txt). */
#include "mtlskit/gateway.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static mtk_rc tlv(mtk_buf *b, uint8_t type, const void *v, size_t n)
{
	mtk_rc rc;

	if (n > 0xffff)
		return MTK_E_INVALID_ARG;
	if ((rc = mtk_buf_append_u8(b, type)) != MTK_OK ||
	    (rc = mtk_buf_append_u16be(b, (uint16_t)n)) != MTK_OK)
		return rc;
	return mtk_buf_append(b, v, n);
}

static mtk_rc tlv_str(mtk_buf *b, uint8_t type, const char *s)
{
	return s ? tlv(b, type, s, strlen(s)) : MTK_OK;
}

mtk_rc mtk_pp2_encode(const mtk_pp2_info *in, mtk_buf *out, mtk_err *err)
{
	mtk_buf body = MTK_BUF_INIT, ssl = MTK_BUF_INIT;
	uint8_t fam = 0x00;
	mtk_rc rc = MTK_OK;
	int af = in->local ? AF_UNSPEC : in->src.ss_family;

	if (!in->local && in->src.ss_family != in->dst.ss_family) {
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "PROXY v2: address families differ");
		goto out;
	}
	if (af == AF_INET) {
		const struct sockaddr_in *s = (const void *)&in->src, *d = (const void *)&in->dst;
		fam = 0x11;
		if ((rc = mtk_buf_append(&body, &s->sin_addr, 4)) != MTK_OK ||
		    (rc = mtk_buf_append(&body, &d->sin_addr, 4)) != MTK_OK ||
		    (rc = mtk_buf_append(&body, &s->sin_port, 2)) != MTK_OK ||
		    (rc = mtk_buf_append(&body, &d->sin_port, 2)) != MTK_OK)
			goto out;
	} else if (af == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&in->src, *d = (const void *)&in->dst;
		fam = 0x21;
		if ((rc = mtk_buf_append(&body, &s->sin6_addr, 16)) != MTK_OK ||
		    (rc = mtk_buf_append(&body, &d->sin6_addr, 16)) != MTK_OK ||
		    (rc = mtk_buf_append(&body, &s->sin6_port, 2)) != MTK_OK ||
		    (rc = mtk_buf_append(&body, &d->sin6_port, 2)) != MTK_OK)
			goto out;
	}
	if (in->ssl) {
		if ((rc = mtk_buf_append_u8(&ssl, in->client_flags)) != MTK_OK ||
		    (rc = mtk_buf_append_u32be(&ssl, in->verify)) != MTK_OK ||
		    (rc = tlv_str(&ssl, MTK_PP2_SUBTYPE_SSL_VERSION, in->version)) != MTK_OK ||
		    (rc = tlv_str(&ssl, MTK_PP2_SUBTYPE_SSL_CN, in->cn)) != MTK_OK ||
		    (rc = tlv_str(&ssl, MTK_PP2_SUBTYPE_SSL_CIPHER, in->cipher)) != MTK_OK ||
		    (rc = tlv_str(&ssl, MTK_PP2_SUBTYPE_SSL_SIG_ALG, in->sig_alg)) != MTK_OK ||
		    (rc = tlv_str(&ssl, MTK_PP2_SUBTYPE_SSL_KEY_ALG, in->key_alg)) != MTK_OK ||
		    (rc = tlv(&body, MTK_PP2_TYPE_SSL, ssl.data, ssl.len)) != MTK_OK)
			goto out;
	}
	if (in->has_sha256 && (rc = tlv(&body, MTK_PP2_TYPE_SHA256, in->sha256, 32)) != MTK_OK)
		goto out;
	if ((rc = tlv_str(&body, MTK_PP2_TYPE_USER, in->user)) != MTK_OK ||
	    (rc = tlv_str(&body, MTK_PP2_TYPE_ROLES, in->roles)) != MTK_OK ||
	    (rc = tlv_str(&body, MTK_PP2_TYPE_SUBJECT, in->subject)) != MTK_OK)
		goto out;
	if (body.len > 0xffff) {
		rc = MTK_E_INVALID_ARG;
		goto out;
	}
	if ((rc = mtk_buf_append(out, sig, sizeof(sig))) != MTK_OK ||
	    (rc = mtk_buf_append_u8(out, in->local ? 0x20 : 0x21)) != MTK_OK ||
	    (rc = mtk_buf_append_u8(out, fam)) != MTK_OK ||
	    (rc = mtk_buf_append_u16be(out, (uint16_t)body.len)) != MTK_OK ||
	    (rc = mtk_buf_append(out, body.data, body.len)) != MTK_OK)
		goto out;
out:
	mtk_buf_free(&body);
	mtk_buf_free(&ssl);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "PROXY v2: cannot encode header");
	return MTK_OK;
}

void mtk_pp2_info_free(mtk_pp2_info *i)
{
	if (i == NULL)
		return;
	free(i->version);
	free(i->cn);
	free(i->cipher);
	free(i->sig_alg);
	free(i->key_alg);
	free(i->user);
	free(i->roles);
	free(i->subject);
	memset(i, 0, sizeof(*i));
}

/* Stores a string TLV value; a second copy of the same TLV is malformed. */
static mtk_rc take_str(char **dst, mtk_reader *v)
{
	const uint8_t *p;
	size_t n = mtk_reader_left(v);

	if (*dst != NULL)
		return MTK_E_MALFORMED;
	if (mtk_reader_bytes(v, n, &p) != MTK_OK || memchr(p, 0, n) != NULL)
		return MTK_E_MALFORMED;
	if ((*dst = gw_strndup(p, n)) == NULL)
		return MTK_E_NOMEM;
	return MTK_OK;
}

static mtk_rc read_tlv(mtk_reader *r, uint8_t *type, mtk_reader *val)
{
	uint16_t n;

	if (mtk_reader_u8(r, type) != MTK_OK || mtk_reader_u16be(r, &n) != MTK_OK ||
	    mtk_reader_sub(r, n, val) != MTK_OK)
		return MTK_E_MALFORMED;
	return MTK_OK;
}

static mtk_rc decode_ssl(mtk_reader *v, mtk_pp2_info *o)
{
	mtk_rc rc;

	if (o->ssl)
		return MTK_E_MALFORMED;
	o->ssl = true;
	if (mtk_reader_u8(v, &o->client_flags) != MTK_OK || mtk_reader_u32be(v, &o->verify) != MTK_OK)
		return MTK_E_MALFORMED;
	while (!mtk_reader_eof(v)) {
		uint8_t t;
		mtk_reader sv;
		char **dst = NULL;

		if ((rc = read_tlv(v, &t, &sv)) != MTK_OK)
			return rc;
		switch (t) {
		case MTK_PP2_SUBTYPE_SSL_VERSION: dst = &o->version; break;
		case MTK_PP2_SUBTYPE_SSL_CN: dst = &o->cn; break;
		case MTK_PP2_SUBTYPE_SSL_CIPHER: dst = &o->cipher; break;
		case MTK_PP2_SUBTYPE_SSL_SIG_ALG: dst = &o->sig_alg; break;
		case MTK_PP2_SUBTYPE_SSL_KEY_ALG: dst = &o->key_alg; break;
		default: continue;
		}
		if ((rc = take_str(dst, &sv)) != MTK_OK)
			return rc;
	}
	return MTK_OK;
}

mtk_rc mtk_pp2_decode(const uint8_t *data, size_t len, mtk_pp2_info *out, size_t *consumed,
		      mtk_err *err)
{
	mtk_reader r, body;
	const uint8_t *p;
	uint8_t vc, fam;
	uint16_t blen;
	mtk_pp2_info o;
	mtk_rc rc;

	memset(&o, 0, sizeof(o));
	mtk_reader_init(&r, data, len);
	if (mtk_reader_bytes(&r, 12, &p) != MTK_OK)
		return mtk_err_set(err, MTK_E_TRUNCATED, "PROXY v2: header truncated");
	if (memcmp(p, sig, 12) != 0)
		return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: bad signature");
	if (mtk_reader_u8(&r, &vc) != MTK_OK || mtk_reader_u8(&r, &fam) != MTK_OK ||
	    mtk_reader_u16be(&r, &blen) != MTK_OK)
		return mtk_err_set(err, MTK_E_TRUNCATED, "PROXY v2: header truncated");
	if ((vc >> 4) != 2 || (vc & 0x0f) > 1)
		return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: bad version/command 0x%02x", vc);
	if (mtk_reader_sub(&r, blen, &body) != MTK_OK)
		return mtk_err_set(err, MTK_E_TRUNCATED, "PROXY v2: header truncated");
	o.local = (vc & 0x0f) == 0;
	if (fam == 0x11 || fam == 0x12) {
		struct sockaddr_in *s = (void *)&o.src, *d = (void *)&o.dst;
		s->sin_family = d->sin_family = AF_INET;
		if (mtk_reader_copy(&body, &s->sin_addr, 4) != MTK_OK ||
		    mtk_reader_copy(&body, &d->sin_addr, 4) != MTK_OK ||
		    mtk_reader_copy(&body, &s->sin_port, 2) != MTK_OK ||
		    mtk_reader_copy(&body, &d->sin_port, 2) != MTK_OK)
			return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: short IPv4 block");
	} else if (fam == 0x21 || fam == 0x22) {
		struct sockaddr_in6 *s = (void *)&o.src, *d = (void *)&o.dst;
		s->sin6_family = d->sin6_family = AF_INET6;
		if (mtk_reader_copy(&body, &s->sin6_addr, 16) != MTK_OK ||
		    mtk_reader_copy(&body, &d->sin6_addr, 16) != MTK_OK ||
		    mtk_reader_copy(&body, &s->sin6_port, 2) != MTK_OK ||
		    mtk_reader_copy(&body, &d->sin6_port, 2) != MTK_OK)
			return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: short IPv6 block");
	} else if (fam == 0x31 || fam == 0x32) {
		/* AF_UNIX: 216 bytes of addresses we do not represent */
		if (mtk_reader_skip(&body, 216) != MTK_OK)
			return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: short UNIX block");
	} else if (fam != 0x00) {
		return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: bad family 0x%02x", fam);
	}
	while (!mtk_reader_eof(&body)) {
		uint8_t t;
		mtk_reader v;

		if ((rc = read_tlv(&body, &t, &v)) != MTK_OK)
			goto bad;
		rc = MTK_OK;
		switch (t) {
		case MTK_PP2_TYPE_SSL:
			rc = decode_ssl(&v, &o);
			break;
		case MTK_PP2_TYPE_SHA256:
			if (o.has_sha256 || mtk_reader_left(&v) != 32)
				rc = MTK_E_MALFORMED;
			else
				rc = mtk_reader_copy(&v, o.sha256, 32);
			o.has_sha256 = true;
			break;
		case MTK_PP2_TYPE_USER: rc = take_str(&o.user, &v); break;
		case MTK_PP2_TYPE_ROLES: rc = take_str(&o.roles, &v); break;
		case MTK_PP2_TYPE_SUBJECT: rc = take_str(&o.subject, &v); break;
		default: break; /* unknown TLVs are skipped, as the spec asks */
		}
		if (rc != MTK_OK)
			goto bad;
	}
	*consumed = r.off;
	*out = o;
	return MTK_OK;
bad:
	mtk_pp2_info_free(&o);
	if (rc == MTK_E_NOMEM)
		return mtk_err_set(err, rc, "PROXY v2");
	return mtk_err_set(err, MTK_E_MALFORMED, "PROXY v2: malformed TLV");
}
