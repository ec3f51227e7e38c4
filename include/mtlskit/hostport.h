/*
 * hostport.h - the library's one host:port parser, for what users type and
 * what configuration files hold: `probe HOST[:PORT]`, `expiry HOST:PORT`,
 * `track` verify targets, proxy URLs and the gateway's listen/backend
 * addresses all split their operand here.
 */
#ifndef MTLSKIT_HOSTPORT_H
#define MTLSKIT_HOSTPORT_H

#include <stddef.h>

#include "mtlskit/err.h"

/* Flags for mtk_hostport_split. */
#define MTK_HP_PORT_ZERO 0x1u /* port 0 is allowed (a listener's "any free port") */
#define MTK_HP_ANY_HOST  0x2u /* an empty host or "*" is allowed (host is then "") */

/*
 * Splits "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address
 * (two colons or more: all host, no port) into host (brackets removed) and
 * port (default_port when absent; when default_port is NULL a port is
 * required).  The port is decimal digits only, 1..65535 (0 too with
 * MTK_HP_PORT_ZERO).  A host with a space, '/', '@' or a control character
 * is refused.  Errors: MTK_E_INVALID_ARG, the detail naming `in` and what is
 * wrong ("port must be 1..65535", "missing ']'", "expected ':' after ']'",
 * "empty host", "too long host", "no port", "not a host name or address").
 */
MTK_WUR mtk_rc mtk_hostport_split(const char *in, const char *default_port, unsigned flags,
				  char *host, size_t host_cap, char *port, size_t port_cap,
				  mtk_err *err);

/* mtk_hostport_split with no flags: a host and a port 1..65535. */
MTK_WUR mtk_rc mtk_hostport_parse(const char *in, const char *default_port, char *host,
				  size_t host_cap, char *port, size_t port_cap, mtk_err *err);

#endif
