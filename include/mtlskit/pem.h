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

#endif
