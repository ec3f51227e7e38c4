/* fuzz_httpresp.c - the HTTP response reader (proxy CONNECT replies and
 * probe --http answers) on arbitrary bytes, fed in pieces whose sizes come
 * from the input itself, in each of its three modes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/buf.h"
#include "mtlskit/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const uint8_t *data, size_t size, bool head, bool headers_only, size_t step)
{
	mtk_http_reader *r = mtk_http_reader_new(head, headers_only);
	const mtk_http_response *h;
	size_t off = 0, used = 0;
	mtk_err err = {0};
	mtk_rc rc = MTK_OK;

	if (r == NULL)
		return;
	while (off < size && rc == MTK_OK && !mtk_http_reader_response(r)->complete) {
		size_t k = size - off < step ? size - off : step;
		rc = mtk_http_reader_feed(r, data + off, k, &used, &err);
		if (rc == MTK_OK && used > k)
			abort();
		off += k;
	}
	if (rc == MTK_OK && !mtk_http_reader_response(r)->complete)
		rc = mtk_http_reader_feed(r, NULL, 0, &used, &err);
	h = mtk_http_reader_response(r);
	if (h->body.len > MTK_HTTP_BODY_KEEP || h->body.len > h->body_len ||
	    h->nheaders > MTK_HTTP_MAX_HEADERS || strlen(h->reason) >= sizeof(h->reason))
		abort();
	if (rc == MTK_OK && (!h->complete || h->status < 100 || h->status > 999))
		abort();
	for (size_t i = 0; i < h->nheaders; i++)
		if (h->headers[i].name == NULL || h->headers[i].value == NULL)
			abort();
	(void)mtk_http_header_get(h, "Server");
	mtk_http_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step = size > 0 ? (size_t)data[0] % 17 + 1 : 1;

	run(data, size, false, false, size ? size : 1);
	run(data, size, false, false, step);
	run(data, size, true, false, step);
	run(data, size, true, true, step);
	return 0;
}
