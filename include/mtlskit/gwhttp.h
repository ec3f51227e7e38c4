/*
 * gwhttp.h - the gateway's HTTP/1.1 request reader and writer.
 *
 * A request is read by http-parser with the RFC 9112 strictness rules
 * checked on top: the head is checked line by line before http-parser sees
 * it, chunked framing is checked beside it, and the two must agree (same
 * fields, same framing, same end of message) or the request is refused.
 * What reaches a backend is then written from the parsed fields — never the
 * client's bytes — without the client's framing, hop-by-hop fields or
 * anything that claims to be the gateway's identity headers.
 *
 * Pure code over bytes handed in: no socket, no clock, no output.
 */
#ifndef MTLSKIT_GWHTTP_H
#define MTLSKIT_GWHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

typedef struct mtk_http_limits {
	size_t max_head;   /* bytes of the request line and fields (431 past it) */
	size_t max_fields; /* field lines (431 past it) */
	size_t max_body;   /* decoded body bytes (413 past it) */
} mtk_http_limits;

typedef struct mtk_http_field {
	const char *name; /* into the request's head; not NUL-terminated */
	size_t nlen;
	const char *value; /* OWS trimmed */
	size_t vlen;
	bool drop;         /* hop-by-hop, framing, or named by Connection */
} mtk_http_field;

typedef enum {
	MTK_HTTP_BODY_NONE = 0,
	MTK_HTTP_BODY_LENGTH,
	MTK_HTTP_BODY_CHUNKED,
} mtk_http_framing;

typedef enum {
	MTK_HTTP_NEED_MORE = 0, /* every byte given was taken; give more */
	MTK_HTTP_HEAD,          /* the head is complete and valid (reported once) */
	MTK_HTTP_DONE,          /* the whole request is read */
	MTK_HTTP_ERROR,         /* refused: status and why say how */
} mtk_http_state;

typedef struct mtk_http_req {
	/* valid from MTK_HTTP_HEAD on */
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int minor;               /* HTTP/1.minor: 0 or 1 */
	mtk_http_field *fields;
	size_t n_fields;
	mtk_http_framing framing;
	uint64_t content_length; /* when framing is LENGTH */
	bool keep_alive;         /* the client may send another request after this one */
	bool expect_continue;
	mtk_buf body;            /* decoded body (a caller that streams it may empty it) */
	uint64_t body_total;     /* decoded body bytes so far, emptied or not */
	/* valid in MTK_HTTP_ERROR */
	int status;              /* 400, 413, 417, 431, 501 or 505 */
	const char *why;         /* a static phrase for the log */

	/* private */
	mtk_http_state st;
	int phase;
	mtk_http_limits lim;
	mtk_buf head;
	size_t cap_fields;
	http_parser hp;
	size_t hp_field;         /* next field http-parser must agree on */
	bool hp_mismatch, hp_done;
	/* chunk framing check */
	int cs;
	uint64_t chunk_left;
	unsigned digits;
	size_t trailer_bytes;
} mtk_http_req;

void mtk_http_req_init(mtk_http_req *r, const mtk_http_limits *lim);
/* Ready for the next request on the same connection (keeps storage). */
void mtk_http_req_reset(mtk_http_req *r);
void mtk_http_req_free(mtk_http_req *r);
/* Takes bytes of the client's stream; returns how many it consumed (the
 * rest belongs to the next request, or to nothing after an error).  The
 * state is in r->st: NEED_MORE, HEAD (once, when the head is complete),
 * DONE or ERROR.  After HEAD call it again (with n = 0 if there is nothing
 * more) to read the body. */
size_t mtk_http_req_feed(mtk_http_req *r, const uint8_t *p, size_t n);
static inline mtk_http_state mtk_http_req_state(const mtk_http_req *r)
{
	return r->st;
}

/* True when the field name, compared case-insensitively with '-' and '_'
 * equal, is one of the gateway's identity headers (x-client-*). */
bool mtk_http_name_is_identity(const char *name, size_t n);

typedef struct mtk_http_identity {
	const char *user, *roles, *sha256, *subject;
	const char *client_ip;   /* NULL: no X-Forwarded-* */
} mtk_http_identity;

/* Writes the request for the backend: request line (the client's HTTP
 * version), the
 * client's fields minus dropped and identity-like ones (and minus
 * X-Forwarded-For/-Proto when id->client_ip is set), the identity headers,
 * X-Forwarded-For/-Proto, the gateway's own Content-Length, the body.
 * MTK_E_MALFORMED when an identity value holds a control byte. */
MTK_WUR mtk_rc mtk_http_req_write(const mtk_http_req *r, const mtk_http_identity *id,
				  mtk_buf *out, mtk_err *err);

/* Only the head of that request, for a body the caller streams after it:
 * with "Content-Length: length", or "Transfer-Encoding: chunked" when
 * chunked (the caller then writes the chunks). */
MTK_WUR mtk_rc mtk_http_req_write_head(const mtk_http_req *r, const mtk_http_identity *id,
				       bool chunked, uint64_t length, mtk_buf *out, mtk_err *err);

/* Appends s as a log-safe string: printable ASCII kept, every other byte
 * (and the backslash) as \xHH. */
MTK_WUR mtk_rc mtk_http_escape(mtk_buf *out, const char *s, size_t n);

/* True for a response field the gateway must not forward (hop-by-hop and
 * framing: it writes its own). */
bool mtk_http_resp_field_dropped(const char *name, size_t n);
/* True when name is a token and value holds no control byte but HTAB. */
bool mtk_http_field_valid(const char *name, size_t nlen, const char *value, size_t vlen);

/* ---------------------------------------------------------------------
 * Responses: a backend's response re-framed for the client.  The status
 * line and the backend's fields are written anew (hop-by-hop and framing
 * fields dropped, each field checked), the body copied under the gateway's
 * framing: the backend's Content-Length; chunked for an HTTP/1.1 client
 * when the backend sent chunks or delimits by closing; close-delimited for
 * an HTTP/1.0 client.  1xx responses are not passed on.
 * ------------------------------------------------------------------- */

typedef void (*mtk_http_emit)(void *ctx, const void *p, size_t n);

typedef struct mtk_http_resp {
	/* set by mtk_http_resp_start; force_close may be set until head_sent */
	bool is_head;      /* the request was HEAD: no body whatever the fields say */
	int client_minor;  /* the client's HTTP/1.minor */
	bool force_close;  /* the client connection closes after this response */
	mtk_http_emit emit;
	void *emit_ctx;
	/* results */
	int status;
	bool started;      /* a byte of the response was read */
	bool head_sent;    /* the head went to emit */
	bool done;         /* the whole response went to emit */
	bool close_after;  /* "Connection: close" was sent: close the client after it */
	bool bad;          /* malformed: nothing more can be sent; why says what */
	const char *why;
	/* private */
	http_parser hp;
	bool chunk_out, in_value;
	mtk_buf rh, field, value, reason;
} mtk_http_resp;

void mtk_http_resp_init(mtk_http_resp *r);
/* Ready for the response to one request. */
void mtk_http_resp_start(mtk_http_resp *r, bool is_head, int client_minor, mtk_http_emit emit,
			 void *emit_ctx);
/* Takes the backend's bytes (n == 0: the backend closed); returns how many
 * it consumed: what follows the end of the response is not taken. */
size_t mtk_http_resp_feed(mtk_http_resp *r, const uint8_t *p, size_t n);
/* After done: true when the backend connection may carry another request
 * (its response allowed it). */
bool mtk_http_resp_reusable(const mtk_http_resp *r);
void mtk_http_resp_free(mtk_http_resp *r);

/* "Bad Request" for 400 ...; "Error" for what it does not know. */
const char *mtk_http_status_text(int status);

#endif
