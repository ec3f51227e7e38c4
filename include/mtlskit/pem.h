/*
 * pem.h - the PEM scanner: finds every -----BEGIN X----- / -----END X-----
 * block in a text, decodes its base64, remembers the line it starts on and
 * the RFC 1421 headers (Proc-Type, DEK-Info) of legacy encrypted keys, and
 * notes the hygiene problems the MID Server trips on: CRLF line endings, a
 * BOM, 0x1A (Windows `copy /b`) or other text outside the blocks, blank
 * lines between blocks.
 *
 * The scanner never fails on a bad block: a block that does not decode is
 * recorded with `bad` set and the scan goes on, so one damaged block in a
 * bundle does not hide the others.
 */
#ifndef MTLSKIT_PEM_H
#define MTLSKIT_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/findings.h"

typedef struct mtk_pem_block {
	char label[80];     /* "CERTIFICATE", "PRIVATE KEY", ... */
	long line;          /* 1-based line of the BEGIN line */
	long end_line;      /* line of the END line */
	size_t begin_off;   /* offset of "-----BEGIN" */
	size_t end_off;     /* offset one past the END line */
	uint8_t *der;       /* decoded body (owned; wiped on free), NULL if bad */
	size_t der_len;
	bool encrypted;     /* Proc-Type: 4,ENCRYPTED */
	char dek_info[96];  /* DEK-Info header value, "" if none */
	bool bad;           /* base64 did not decode or END is missing */
	char bad_reason[96];
} mtk_pem_block;

typedef struct mtk_pem_doc {
	mtk_pem_block *blocks;
	size_t count;
	size_t cap;
	/* Hygiene, with the first line where each was seen (0 = not seen). */
	long crlf_line;
	size_t crlf_count;
	bool bom;
	long ctrl_z_line;       /* 0x1A anywhere */
	long stray_line;        /* non-blank text outside blocks */
	long blank_between_line; /* blank line between two blocks */
	long blank_inside_line;  /* blank line inside a block body */
	/* Signs of a damaged block that the scan had to treat as stray text:
	 * a BEGIN line whose label does not read, an END line outside any
	 * block (its BEGIN line was damaged).  First line of each, 0 = none. */
	long bad_begin_line;
	long orphan_end_line;
} mtk_pem_doc;

/* True when the bytes contain a PEM BEGIN line early enough to be a PEM
 * file (cheap; used by format detection). */
bool mtk_pem_looks_like(const uint8_t *data, size_t len);

/* Scans the whole input.  Fails only on allocation failure or when there is
 * no block at all (MTK_E_PEM_SYNTAX).  doc is reset first. */
MTK_WUR mtk_rc mtk_pem_scan(const uint8_t *data, size_t len, mtk_pem_doc *doc, mtk_err *err);
void mtk_pem_doc_free(mtk_pem_doc *doc);

/* Adds pem-crlf / pem-stray-bytes / pem-blank-lines findings for doc. */
MTK_WUR mtk_rc mtk_pem_hygiene_findings(const mtk_pem_doc *doc, const char *file,
					mtk_findings *fs);

/* Appends a PEM block (LF line endings, 64-column base64) to out. */
MTK_WUR mtk_rc mtk_pem_encode(mtk_buf *out, const char *label, const uint8_t *der, size_t len);

/* ------------------------------------------------------------------ */
/* The block iterator: the zero-allocation primitive under the scanner
 * above and under the expiry scan.  It walks text through an mtk_reader,
 * finds each "-----BEGIN L-----" ... "-----END L-----" and hands back
 * borrowed spans (label, base64 body as written) with the line the BEGIN
 * marker is on.  It never decodes or copies: mtk_pem_b64_decode() does that
 * into the caller's buffer.
 *
 * A BEGIN marker is "-----BEGIN " anywhere, a label of 1..79 printable
 * ASCII characters other than '-', then "-----"; anything else is text.
 * With `partial` set the text is a window of a longer stream: a block, or
 * a marker, that runs past the window's end gives MTK_PEM_MORE instead of a
 * verdict, and mtk_pem_iter_keep() says from where the caller must keep the
 * bytes (and with which line number) when it reads on. */
typedef enum {
	MTK_PEM_BLOCK = 0,	  /* a whole block: label, body, line */
	MTK_PEM_NO_END,		  /* BEGIN with no END after it (the iteration ends,
				     except in the line form) */
	MTK_PEM_END_MISMATCH,	  /* the next END has another label (iteration goes on) */
	MTK_PEM_DONE,		  /* no more BEGIN markers */
	MTK_PEM_MORE,		  /* partial: need the bytes after the window */
} mtk_pem_status;

typedef struct mtk_pem_iter {
	mtk_reader r;	 /* the text; r.off is where the search resumes */
	size_t counted;	 /* newlines are counted up to this offset... */
	long line;	 /* ...which is on this line (1-based) */
	size_t keep;	 /* see mtk_pem_iter_keep() */
	long keep_line;
	bool partial;
	bool lines; /* see mtk_pem_iter_init_lines() */
} mtk_pem_iter;

typedef struct mtk_pem_span {
	const char *label; /* borrowed, not NUL-terminated */
	size_t label_len;
	const uint8_t *body; /* the text between the BEGIN and END markers */
	size_t body_len;
	long line;	  /* 1-based line of the BEGIN marker */
	size_t begin_off; /* offset of "-----BEGIN" */
	size_t end_off;	  /* offset one past the END marker's "-----" */
} mtk_pem_span;

/* first_line is the line number of data[0] (1 for a whole file). */
void mtk_pem_iter_init(mtk_pem_iter *it, const uint8_t *data, size_t len, long first_line,
		       bool partial);
mtk_pem_status mtk_pem_next(mtk_pem_iter *it, mtk_pem_span *out);
/* The strict form mtk_pem_scan() reads: markers only at the start of a
 * line (after spaces, tabs, 0x1A and a BOM); a BEGIN line inside a block
 * ends that block with MTK_PEM_NO_END and iteration goes on from it; the
 * span's body is the lines between the marker lines, begin_off and end_off
 * are line starts.  A whole text only (no windows). */
void mtk_pem_iter_init_lines(mtk_pem_iter *it, const uint8_t *data, size_t len);
/* After MTK_PEM_MORE or MTK_PEM_DONE on a partial window: the offset from
 * which bytes are still needed, and the line number of that offset. */
size_t mtk_pem_iter_keep(const mtk_pem_iter *it, long *line);
/* True when the span's label is exactly s. */
bool mtk_pem_label_is(const mtk_pem_span *sp, const char *s);

/* ------------------------------------------------------------------ */
/* A PFX in PEM armour, as two producers write it: GnuTLS `certtool
 * --to-p12` (-----BEGIN PKCS12-----) and Windows `certutil -encode` of a
 * .pfx (the PFX's base64 under -----BEGIN CERTIFICATE-----, CRLF lines).
 * The object loader and the keystore reader both decide with these. */

/* A note naming the armour when a PEM block (label, decoded DER) is a PFX:
 * the label PKCS12 whatever its content (the reader then reports what is
 * wrong with it), or CERTIFICATE / X509 CERTIFICATE holding a PFX; NULL
 * otherwise.  label need not be NUL-terminated.  The note is static. */
const char *mtk_pem_pfx_armour(const char *label, size_t label_len, const uint8_t *der,
			       size_t der_len);

/* When data is one PEM block (markers at line starts, as mtk_pem_scan reads
 * them) that mtk_pem_pfx_armour takes: *der (allocated, the caller wipes
 * and frees it), *der_len, and *note when note is not NULL.  Errors:
 * MTK_E_NOT_FOUND (no block, more than one, or another content),
 * MTK_E_PKCS12 (a PKCS12 label over something that is not a PFX),
 * MTK_E_NOMEM.  The outputs are written only on success. */
MTK_WUR mtk_rc mtk_pem_single_pfx(const uint8_t *data, size_t len, uint8_t **der, size_t *der_len,
				  const char **note);

/* Decodes base64 text (white space skipped; '=' padding only at the end)
 * into out, which must hold n / 4 * 3 + 3 bytes.  False when the text is
 * not base64 (a header line, data after padding, a dangling sextet) or
 * decodes to nothing. */
bool mtk_pem_b64_decode(const uint8_t *text, size_t n, uint8_t *out, size_t *outlen);

#endif
