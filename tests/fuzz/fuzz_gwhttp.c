/* fuzz_gwhttp.c - the gateway's request path on arbitrary bytes: read
 * (strict checks + http-parser), then write the backend's request.  What it
 * writes must read back, under the same strict reader, as the same method,
 * target, fields and body, and carry no x-client-* field but the gateway's
 * own four.  The input is fed in pieces (sizes from its first byte) so the
 * streaming paths are taken too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtlskit/gwhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mtk_http_limits lim = {4096, 64, 1 << 16};
static const mtk_http_identity id = {"alice", "mid_server,itil", "00ff", "CN=alice,O=Example",
				     "127.0.0.1"};

/* Feeds n bytes in pieces of step; returns the bytes consumed. */
static size_t feed(mtk_http_req *r, const uint8_t *p, size_t n, size_t step)
{
	size_t off = 0;

	for (;;) {
		size_t k = n - off < step ? n - off : step;
		size_t used = mtk_http_req_feed(r, p + off, k);
		if (used > k)
			abort();
		off += used;
		switch (mtk_http_req_state(r)) {
		case MTK_HTTP_DONE:
		case MTK_HTTP_ERROR:
			return off;
		case MTK_HTTP_HEAD:
			if (r->status != 0)
				abort();
			continue;
		case MTK_HTTP_NEED_MORE:
			if (used < k)
				abort(); /* NEED_MORE takes everything it is given */
			if (off == n)
				return off;
			continue;
		}
	}
}

/* X-Forwarded-For/-Proto in any case, '-' and '_' alike (the gateway
 * replaces every such spelling). */
static bool forwarded(const mtk_http_field *f)
{
	static const char *const names[] = {"x-forwarded-for", "x-forwarded-proto"};

	for (size_t k = 0; k < 2; k++) {
		size_t i, n = strlen(names[k]);
		for (i = 0; i < n && f->nlen == n; i++) {
			char c = f->name[i] == '_' ? '-' : f->name[i];
			if ((c | 0x20) != (names[k][i] | 0x20) && c != names[k][i])
				break;
		}
		if (f->nlen == n && i == n)
			return true;
	}
	return false;
}

static bool mine(const mtk_http_field *f)
{
	return !f->drop && !mtk_http_name_is_identity(f->name, f->nlen) && !forwarded(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_http_req a, b;
	mtk_buf out = MTK_BUF_INIT;
	size_t step, used, k = 0, n_id = 0;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 64) + 1;
	mtk_http_req_init(&a, &lim);
	mtk_http_req_init(&b, &(mtk_http_limits){1 << 20, 256, 1 << 17});
	used = feed(&a, data + 1, size - 1, step);
	if (used > size - 1)
		abort();
	if (mtk_http_req_state(&a) == MTK_HTTP_ERROR && (a.status < 400 || a.why == NULL))
		abort();
	if (mtk_http_req_state(&a) != MTK_HTTP_DONE)
		goto out;
	if (mtk_http_req_write(&a, &id, &out, NULL) != MTK_OK)
		abort();
	if (feed(&b, out.data, out.len, out.len) != out.len ||
	    mtk_http_req_state(&b) != MTK_HTTP_DONE)
		abort();
	if (a.method_len != b.method_len || memcmp(a.method, b.method, a.method_len) != 0 ||
	    a.target_len != b.target_len || memcmp(a.target, b.target, a.target_len) != 0 ||
	    a.body.len != b.body.len ||
	    (a.body.len && memcmp(a.body.data, b.body.data, a.body.len)))
		abort();
	for (size_t i = 0; i < b.n_fields; i++) {
		const mtk_http_field *f = &b.fields[i];
		if (mtk_http_name_is_identity(f->name, f->nlen)) {
			n_id++;
			continue;
		}
		if (f->nlen == 14 && strncasecmp(f->name, "content-length", 14) == 0)
			continue;
		if (forwarded(f))
			continue;
		while (k < a.n_fields && !mine(&a.fields[k]))
			k++;
		if (k == a.n_fields || a.fields[k].nlen != f->nlen ||
		    memcmp(a.fields[k].name, f->name, f->nlen) != 0 ||
		    a.fields[k].vlen != f->vlen ||
		    memcmp(a.fields[k].value, f->value, f->vlen) != 0)
			abort();
		k++;
	}
	while (k < a.n_fields && !mine(&a.fields[k]))
		k++;
	if (k != a.n_fields || n_id != 4)
		abort();
out:
	mtk_buf_free(&out);
	mtk_http_req_free(&a);
	mtk_http_req_free(&b);
	return 0;
}
