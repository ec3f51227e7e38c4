/* hostport.c - the one host:port parser (hostport.h). */
#include "mtlskit/hostport.h"

#include <string.h>

static mtk_rc copy_part(const char *s, size_t n, char *out, size_t cap, const char *what,
			const char *in, mtk_err *err)
{
	if (n == 0 || n >= cap)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: %s %s", in,
				   n == 0 ? "empty" : "too long", what);
	memcpy(out, s, n);
	out[n] = '\0';
	return MTK_OK;
}

static mtk_rc check_port(const char *port, unsigned flags, const char *in, mtk_err *err)
{
	long v = 0;
	size_t i;

	/* Digits only (strtol would take "+443" and " 443"). */
	for (i = 0; port[i] >= '0' && port[i] <= '9' && i < 5; i++)
		v = v * 10 + (port[i] - '0');
	if (i == 0 || port[i] != '\0' || v > 65535 || (v == 0 && !(flags & MTK_HP_PORT_ZERO)))
		return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: port must be %s..65535", in,
				   flags & MTK_HP_PORT_ZERO ? "0" : "1");
	return MTK_OK;
}

mtk_rc mtk_hostport_split(const char *in, const char *default_port, unsigned flags, char *host,
			  size_t host_cap, char *port, size_t port_cap, mtk_err *err)
{
	const char *colon, *p, *h;
	size_t hl;
	mtk_rc rc;

	if (in == NULL || in[0] == '\0')
		return mtk_err_set(err, MTK_E_INVALID_ARG, "empty host");
	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		if (close == NULL)
			return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: missing ']'", in);
		h = in + 1;
		hl = (size_t)(close - in - 1);
		if (close[1] == '\0')
			p = default_port;
		else if (close[1] == ':')
			p = close + 2;
		else
			return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: expected ':' after ']'", in);
	} else {
		colon = strchr(in, ':');
		h = in;
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* Two colons: a bare IPv6 address, no port. */
			hl = strlen(in);
			p = default_port;
		} else if (colon != NULL) {
			hl = (size_t)(colon - in);
			p = colon + 1;
		} else {
			hl = strlen(in);
			p = default_port;
		}
	}
	if ((flags & MTK_HP_ANY_HOST) && (hl == 0 || (hl == 1 && h[0] == '*'))) {
		if (host_cap == 0)
			return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: too long host", in);
		host[0] = '\0';
	} else if ((rc = copy_part(h, hl, host, host_cap, "host", in, err)) != MTK_OK) {
		return rc;
	} else if (strpbrk(host, " /\t\r\n@") != NULL) {
		return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: not a host name or address", in);
	}
	if (p == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "%s: no port (HOST:PORT, [IPv6]:PORT)", in);
	if ((rc = copy_part(p, strlen(p), port, port_cap, "port", in, err)) != MTK_OK)
		return rc;
	return check_port(port, flags, in, err);
}

mtk_rc mtk_hostport_parse(const char *in, const char *default_port, char *host, size_t host_cap,
			  char *port, size_t port_cap, mtk_err *err)
{
	return mtk_hostport_split(in, default_port, 0, host, host_cap, port, port_cap, err);
}
