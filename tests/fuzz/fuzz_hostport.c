/* fuzz_hostport.c - the one host:port parser (hostport.h) and the gateway's
 * numeric-address adapter over it, on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "mtlskit/gateway.h"
#include "mtlskit/hostport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *in, const char *def, unsigned flags)
{
	char host[256], port[8];
	mtk_err err = {0};
	mtk_rc rc = mtk_hostport_split(in, def, flags, host, sizeof(host), port, sizeof(port), &err);

	if (rc != MTK_OK) {
		if (rc != MTK_E_INVALID_ARG || err.detail[0] == '\0')
			abort(); /* a failure always says why */
		return;
	}
	/* A port is 1..5 digits, at most 65535, 0 only when allowed. */
	long v = 0;
	size_t i;
	for (i = 0; port[i] != '\0'; i++) {
		if (port[i] < '0' || port[i] > '9' || i >= 5)
			abort();
		v = v * 10 + (port[i] - '0');
	}
	if (i == 0 || v > 65535 || (v == 0 && !(flags & MTK_HP_PORT_ZERO)))
		abort();
	if (host[0] == '\0' && !(flags & MTK_HP_ANY_HOST))
		abort();
	if (strpbrk(host, " /\t\r\n@") != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct sockaddr_storage ss;
	socklen_t sl;
	mtk_err err = {0};

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	one(s, "443", 0);
	one(s, NULL, 0);
	one(s, NULL, MTK_HP_PORT_ZERO | MTK_HP_ANY_HOST);
	if (mtk_parse_sockaddr(s, &ss, &sl, &err) != MTK_OK) {
		if (err.code != MTK_E_CONFIG)
			abort();
	} else if (!(ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in)) &&
		   !(ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6))) {
		abort();
	}
	free(s);
	return 0;
}
