/* identity.c - who a verified client certificate is, and whether it may
 * pass: the one decision the gateway's promise rests on, kept apart from
 * sockets and TLS so it is tested on its own. */
#include "mtlskit/gateway.h"

mtk_gw_verdict mtk_gw_identify(const mtk_usermap *map, const uint8_t sha256[32],
			       const char *subject, bool is_ca, const char *require_role)
{
	mtk_gw_verdict v = {MTK_GW_DENY_UNMAPPED, NULL, 0};

	if (is_ca) {
		v.verdict = MTK_GW_DENY_CA;
		return v;
	}
	v.entry = map != NULL ? mtk_usermap_lookup(map, sha256, subject, &v.index) : NULL;
	if (v.entry == NULL)
		return v;
	if (require_role != NULL && !mtk_usermap_has_role(v.entry, require_role)) {
		v.verdict = MTK_GW_DENY_ROLE;
		return v;
	}
	v.verdict = MTK_GW_ALLOW;
	return v;
}
