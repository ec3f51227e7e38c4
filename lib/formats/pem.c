/*
 * pem.c - the PEM scanner (see pem.h).
 *
 * Blocks are found by the block iterator below (its line form), the one
 * the expiry scan uses too; the scanner walks every line once beside it for
 * the hygiene notes and the RFC 1421 headers, gathers the base64 text of a
 * body without its white space (so a body split by CRLF or stray spaces is
 * still read and the problem reported instead of hiding the block) and
 * decodes it with the iterator's decoder.
 */
#include "mtlskit/pem.h"
#include "mtlskit/detect.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const char BEGIN[] = "-----BEGIN ";
static const char END[] = "-----END ";

/* One line: [start, end) without its terminator; crlf when it ended in \r\n. */
struct line {
	size_t start, end, next;
	bool crlf;
};

static bool next_line(const uint8_t *d, size_t n, size_t off, struct line *l)
{
	size_t i = off;

	if (off >= n)
		return false;
	while (i < n && d[i] != '\n')
		i++;
	l->start = off;
	l->end = i;
	l->crlf = false;
	if (l->end > l->start && d[l->end - 1] == '\r') {
		l->end--;
		l->crlf = true;
	}
	l->next = i < n ? i + 1 : n;
	return true;
}

static bool is_blank(const uint8_t *d, const struct line *l)
{
	for (size_t i = l->start; i < l->end; i++)
		if (d[i] != ' ' && d[i] != '\t' && d[i] != '\r')
			return false;
	return true;
}

/* Skips leading white space (and a BOM on the first line). */
static size_t trim_start(const uint8_t *d, const struct line *l)
{
	size_t i = l->start;

	if (l->end - i >= 3 && d[i] == 0xEF && d[i + 1] == 0xBB && d[i + 2] == 0xBF)
		i += 3;
	while (i < l->end && (d[i] == ' ' || d[i] == '\t' || d[i] == 0x1A))
		i++;
	return i;
}

static bool starts_with(const uint8_t *d, size_t i, size_t end, const char *s)
{
	size_t k = strlen(s);
	return end - i >= k && memcmp(d + i, s, k) == 0;
}

bool mtk_pem_looks_like(const uint8_t *data, size_t len)
{
	/* A BEGIN line within the first 64 KiB, at the start of a line. */
	size_t lim = len < 65536 ? len : 65536;

	for (size_t i = 0; i + sizeof(BEGIN) - 1 <= lim; i++) {
		if (data[i] == '-' && (i == 0 || data[i - 1] == '\n' || data[i - 1] == '\r' ||
				       data[i - 1] == ' ' || data[i - 1] == '\t' ||
				       data[i - 1] == 0xBF || data[i - 1] == 0x1A) &&
		    memcmp(data + i, BEGIN, sizeof(BEGIN) - 1) == 0)
			return true;
	}
	return false;
}

static mtk_rc push_block(mtk_pem_doc *doc, const mtk_pem_block *b)
{
	if (doc->count == doc->cap) {
		size_t cap = doc->cap ? doc->cap * 2 : 8;
		mtk_pem_block *p = realloc(doc->blocks, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		doc->blocks = p;
		doc->cap = cap;
	}
	doc->blocks[doc->count++] = *b;
	return MTK_OK;
}

static void set_bad(mtk_pem_block *b, const char *why)
{
	b->bad = true;
	strncpy(b->bad_reason, why, sizeof(b->bad_reason) - 1);
	b->bad_reason[sizeof(b->bad_reason) - 1] = '\0';
}

/* Decodes base64 text (white space already removed) into b->der, with
 * the iterator's decoder (the one base64 of the library). */
static mtk_rc decode_body(mtk_pem_block *b, const mtk_buf *text)
{
	size_t cap = (text->len / 4) * 3 + 3, len = 0;
	uint8_t *der;

	if (text->len == 0) {
		set_bad(b, "empty body");
		return MTK_OK;
	}
	der = malloc(cap);
	if (der == NULL)
		return MTK_E_NOMEM;
	if (!mtk_pem_b64_decode(text->data, text->len, der, &len)) {
		set_bad(b, "base64 does not decode");
		OPENSSL_cleanse(der, cap);
		free(der);
		return MTK_OK;
	}
	b->der = der;
	b->der_len = len;
	return MTK_OK;
}

/* The scanner's walk over the lines: every line is seen once, for the
 * hygiene notes, while the block iterator (line form) says where blocks
 * begin and end. */
struct walk {
	const uint8_t *d;
	size_t n, off;
	long lineno;
	bool pending_blank, saw_end;
	long blank_line;
};

/* Reads the next line into l, noting CRLF and 0x1A; false at the end. */
static bool walk_line(struct walk *w, mtk_pem_doc *doc, struct line *l)
{
	if (!next_line(w->d, w->n, w->off, l))
		return false;
	w->lineno++;
	w->off = l->next;
	if (l->crlf) {
		if (doc->crlf_line == 0)
			doc->crlf_line = w->lineno;
		doc->crlf_count++;
	}
	if (doc->ctrl_z_line == 0 && memchr(w->d + l->start, 0x1A, l->end - l->start) != NULL)
		doc->ctrl_z_line = w->lineno;
	return true;
}

/* Lines outside any block, up to offset `to`. */
static void walk_outside(struct walk *w, mtk_pem_doc *doc, size_t to)
{
	struct line l;

	while (w->off < to && walk_line(w, doc, &l)) {
		const uint8_t *d = w->d;
		size_t i = trim_start(d, &l);

		if (starts_with(d, i, l.end, BEGIN)) {
			/* A BEGIN line whose label does not read: stray text. */
			if (doc->stray_line == 0)
				doc->stray_line = w->lineno;
			if (doc->bad_begin_line == 0)
				doc->bad_begin_line = w->lineno;
			continue;
		}
		if (is_blank(d, &l)) {
			if (!w->pending_blank)
				w->blank_line = w->lineno;
			w->pending_blank = true;
			continue;
		}
		if (starts_with(d, i, l.end, END) && doc->orphan_end_line == 0)
			doc->orphan_end_line = w->lineno;
		/* Non-blank text outside blocks; a lone 0x1A is reported as such. */
		if (i < l.end && doc->stray_line == 0)
			doc->stray_line = w->lineno;
	}
}

/* The body lines of a block, up to offset `to`: RFC 1421 headers, blank
 * lines, base64 text gathered without its white space. */
static mtk_rc walk_body(struct walk *w, mtk_pem_doc *doc, size_t to, mtk_pem_block *cur,
			mtk_buf *body)
{
	const uint8_t *d = w->d;
	bool saw_header = false;
	struct line l;
	mtk_rc rc = MTK_OK;

	while (rc == MTK_OK && w->off < to && walk_line(w, doc, &l)) {
		size_t i = trim_start(d, &l), j = i;

		if (is_blank(d, &l)) {
			/* RFC 1421: one blank line ends the Proc-Type/DEK-Info
			 * headers; that one is part of the format. */
			if (saw_header && body->len == 0)
				continue;
			if (doc->blank_inside_line == 0)
				doc->blank_inside_line = w->lineno;
			continue;
		}
		while (j < l.end && d[j] != ':' && d[j] != ' ')
			j++;
		if (j < l.end && d[j] == ':') {
			saw_header = true;
			if (starts_with(d, i, l.end, "Proc-Type:")) {
				for (size_t k = i; k + 9 <= l.end; k++)
					if (memcmp(d + k, "ENCRYPTED", 9) == 0)
						cur->encrypted = true;
			} else if (starts_with(d, i, l.end, "DEK-Info:")) {
				size_t k = i + 9, m = 0;
				while (k < l.end && d[k] == ' ')
					k++;
				while (k < l.end && m + 1 < sizeof(cur->dek_info) && d[k] >= 0x20 &&
				       d[k] <= 0x7e)
					cur->dek_info[m++] = (char)d[k++];
				cur->dek_info[m] = '\0';
			}
			continue;
		}
		for (size_t k = i; rc == MTK_OK && k < l.end; k++) {
			uint8_t ch = d[k];
			if (ch == ' ' || ch == '\t' || ch == '\r')
				continue;
			rc = mtk_buf_append_u8(body, ch);
		}
	}
	return rc;
}

mtk_rc mtk_pem_scan(const uint8_t *d, size_t n, mtk_pem_doc *doc, mtk_err *err)
{
	struct walk w;
	struct line l;
	mtk_pem_iter it;
	mtk_pem_span sp;
	mtk_pem_status st;
	mtk_pem_block cur;
	mtk_buf body = MTK_BUF_SECRET_INIT; /* may be a private key */
	mtk_rc rc = MTK_OK;

	memset(doc, 0, sizeof(*doc));
	memset(&w, 0, sizeof(w));
	w.d = d;
	w.n = n;
	if (n >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF)
		doc->bom = true;
	mtk_pem_iter_init_lines(&it, d, n);
	while ((st = mtk_pem_next(&it, &sp)) != MTK_PEM_DONE) {
		walk_outside(&w, doc, sp.begin_off);
		(void)walk_line(&w, doc, &l); /* the BEGIN line */
		memset(&cur, 0, sizeof(cur));
		memcpy(cur.label, sp.label, sp.label_len);
		cur.line = w.lineno;
		cur.begin_off = sp.begin_off;
		if (w.pending_blank && w.saw_end && doc->blank_between_line == 0)
			doc->blank_between_line = w.blank_line;
		w.pending_blank = false;
		body.len = 0;
		if ((rc = walk_body(&w, doc, (size_t)(sp.body - d) + sp.body_len, &cur, &body)) !=
		    MTK_OK)
			goto out;
		cur.end_off = sp.end_off;
		if (st == MTK_PEM_NO_END) {
			/* A BEGIN line, or the end of the text, came first. */
			cur.end_line = w.lineno;
			set_bad(&cur, sp.end_off == n ? "no END line (truncated?)" : "no END line");
		} else {
			(void)walk_line(&w, doc, &l); /* the END line */
			cur.end_line = w.lineno;
			if (st == MTK_PEM_END_MISMATCH)
				set_bad(&cur, "END label does not match BEGIN");
			else if ((rc = decode_body(&cur, &body)) != MTK_OK)
				goto out;
			w.saw_end = true;
		}
		if ((rc = push_block(doc, &cur)) != MTK_OK)
			goto out;
	}
	walk_outside(&w, doc, n);
	if (doc->count == 0)
		rc = mtk_err_set(err, MTK_E_PEM_SYNTAX, "no PEM block found");
out:
	mtk_buf_free(&body);
	if (rc == MTK_E_NOMEM)
		mtk_err_set(err, rc, "PEM scan");
	if (rc != MTK_OK)
		mtk_pem_doc_free(doc);
	return rc;
}

void mtk_pem_doc_free(mtk_pem_doc *doc)
{
	if (doc == NULL)
		return;
	for (size_t i = 0; i < doc->count; i++) {
		if (doc->blocks[i].der != NULL) {
			OPENSSL_cleanse(doc->blocks[i].der, doc->blocks[i].der_len);
			free(doc->blocks[i].der);
		}
	}
	free(doc->blocks);
	memset(doc, 0, sizeof(*doc));
}

mtk_rc mtk_pem_hygiene_findings(const mtk_pem_doc *doc, const char *file, mtk_findings *fs)
{
	char fix[512];
	mtk_rc rc = MTK_OK;

	bool key = false;

	/* With a private key it is a bundle: bundle rewrites it (and checks
	 * it); certificates alone are rewritten by convert (bundle would ask
	 * for the key). */
	for (size_t i = 0; i < doc->count && !key; i++)
		key = strstr(doc->blocks[i].label, "PRIVATE KEY") != NULL;
	snprintf(fix, sizeof(fix), key ? "mtlskit bundle %s -o fixed.pem" : "mtlskit convert %s --to pem -o fixed.pem",
		 file ? file : "FILE");
	if (doc->crlf_line > 0)
		rc = mtk_findings_add(fs, MTK_F_PEM_CRLF, MTK_SEV_ERROR, file, doc->crlf_line, NULL, fix,
				      "Windows (CRLF) line endings on %zu line%s; the MID Server's PEM parser on "
				      "Linux needs Unix (LF) line endings",
				      doc->crlf_count, doc->crlf_count == 1 ? "" : "s");
	if (rc == MTK_OK && doc->bom)
		rc = mtk_findings_add(fs, MTK_F_PEM_STRAY_BYTES, MTK_SEV_ERROR, file, 1, NULL, fix,
				      "the file starts with a UTF-8 byte order mark (BOM), which PEM parsers reject");
	if (rc == MTK_OK && doc->ctrl_z_line > 0)
		rc = mtk_findings_add(fs, MTK_F_PEM_STRAY_BYTES, MTK_SEV_ERROR, file, doc->ctrl_z_line, NULL,
				      fix,
				      "a 0x1A (Ctrl-Z) byte, as Windows 'copy /b' appends; it breaks PEM parsing");
	if (rc == MTK_OK && doc->stray_line > 0 && doc->stray_line != doc->ctrl_z_line)
		rc = mtk_findings_add(fs, MTK_F_PEM_STRAY_BYTES, MTK_SEV_WARNING, file, doc->stray_line,
				      NULL, fix,
				      "text outside the -----BEGIN/-----END blocks; some parsers reject it");
	if (rc == MTK_OK && doc->blank_between_line > 0)
		rc = mtk_findings_add(fs, MTK_F_PEM_BLANK_LINES, MTK_SEV_WARNING, file,
				      doc->blank_between_line, NULL, fix,
				      "blank line between PEM blocks; the MID Server bundle must have none");
	if (rc == MTK_OK && doc->blank_inside_line > 0)
		rc = mtk_findings_add(fs, MTK_F_PEM_BLANK_LINES, MTK_SEV_ERROR, file,
				      doc->blank_inside_line, NULL, fix,
				      "blank line inside a PEM block body");
	return rc;
}

mtk_rc mtk_pem_encode(mtk_buf *out, const char *label, const uint8_t *der, size_t len)
{
	uint8_t line[65 + 1];
	mtk_rc rc;

	if ((rc = mtk_buf_printf(out, "-----BEGIN %s-----\n", label)) != MTK_OK)
		return rc;
	for (size_t off = 0; off < len; off += 48) {
		size_t chunk = len - off < 48 ? len - off : 48;
		int n = EVP_EncodeBlock(line, der + off, (int)chunk);
		if ((rc = mtk_buf_append(out, line, (size_t)n)) != MTK_OK ||
		    (rc = mtk_buf_append_u8(out, '\n')) != MTK_OK)
			return rc;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return mtk_buf_printf(out, "-----END %s-----\n", label);
}

/* ------------------------------------------------------------------ */
/* The block iterator and the base64 decoder (see pem.h). */

/* Base64 alphabet: value, 64 for white space (skipped), 65 for '=', 255 for
 * anything else.  Built at compile time so no initialisation is needed. */
#define B64_ROW(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const uint8_t b64v[256] = {
    /* 0x00 */ 255, 255, 255, 255, 255, 255, 255, 255, 255, 64, 64, 255, 255, 64, 255, 255,
    /* 0x10 */ B64_ROW(255),
    /* 0x20 */ 64, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 62, 255, 255, 255, 63,
    /* 0x30 */ 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 255, 255, 65, 255, 255,
    /* 0x40 */ 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    /* 0x50 */ 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 255, 255, 255, 255, 255,
    /* 0x60 */ 255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    /* 0x70 */ 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255,
    B64_ROW(255), B64_ROW(255), B64_ROW(255), B64_ROW(255),
    B64_ROW(255), B64_ROW(255), B64_ROW(255), B64_ROW(255),
};

bool mtk_pem_b64_decode(const uint8_t *t, size_t n, uint8_t *out, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i = 0, o = 0, chars = 0, pad = 0;

	*outlen = 0;
	while (i < n) {
		/* The common case: whole quads of alphabet characters (a PEM
		 * line is 16 of them). */
		while (pad == 0 && (chars & 3) == 0 && n - i >= 4) {
			uint32_t a = b64v[t[i]], b = b64v[t[i + 1]], c = b64v[t[i + 2]],
				 d = b64v[t[i + 3]];

			if ((a | b | c | d) >= 64)
				break;
			acc = a << 18 | b << 12 | c << 6 | d;
			out[o] = (uint8_t)(acc >> 16);
			out[o + 1] = (uint8_t)(acc >> 8);
			out[o + 2] = (uint8_t)acc;
			o += 3;
			i += 4;
			chars += 4;
		}
		if (i >= n)
			break;
		{
			uint8_t v = b64v[t[i++]];

			if (v == 64)
				continue;
			if (v == 65) {
				pad++;
				chars++;
				continue;
			}
			if (v == 255 || pad > 0)
				return false; /* a header line, or data after padding */
			acc = acc << 6 | v;
			chars++;
			if ((chars & 3) == 0) {
				out[o] = (uint8_t)(acc >> 16);
				out[o + 1] = (uint8_t)(acc >> 8);
				out[o + 2] = (uint8_t)acc;
				o += 3;
			}
		}
	}
	/* Whole quads only, as OpenSSL's PEM reader wants; '=' or "==" at
	 * the end stands for the missing sextets. */
	if ((chars & 3) != 0 || pad > 2)
		return false;
	if (pad > 0) {
		/* The last quad had 4 - pad data characters: acc holds them. */
		size_t keep = pad == 1 ? 2 : 1;

		acc <<= 6 * pad;
		out[o] = (uint8_t)(acc >> 16);
		if (keep == 2)
			out[o + 1] = (uint8_t)(acc >> 8);
		o += keep;
	}
	*outlen = o;
	return o > 0;
}

static size_t find_str(const uint8_t *d, size_t n, size_t from, const char *s, size_t k)
{
	const uint8_t *p;

	if (from >= n)
		return n;
	p = memmem(d + from, n - from, s, k);
	return p != NULL ? (size_t)(p - d) : n;
}

/* Counts lines up to offset `to` (newlines are counted once). */
static void count_to(mtk_pem_iter *it, size_t to)
{
	const uint8_t *d = it->r.data;

	while (it->counted < to) {
		const uint8_t *p = memchr(d + it->counted, '\n', to - it->counted);

		if (p == NULL) {
			it->counted = to;
			break;
		}
		it->line++;
		it->counted = (size_t)(p - d) + 1;
	}
}

void mtk_pem_iter_init(mtk_pem_iter *it, const uint8_t *data, size_t len, long first_line,
		       bool partial)
{
	memset(it, 0, sizeof(*it));
	mtk_reader_init(&it->r, data, len);
	it->line = first_line > 0 ? first_line : 1;
	it->partial = partial;
	it->keep_line = it->line;
}

size_t mtk_pem_iter_keep(const mtk_pem_iter *it, long *line)
{
	if (line != NULL)
		*line = it->keep_line;
	return it->keep;
}

bool mtk_pem_label_is(const mtk_pem_span *sp, const char *s)
{
	size_t k = strlen(s);
	return sp->label_len == k && memcmp(sp->label, s, k) == 0;
}

static mtk_pem_status need_more(mtk_pem_iter *it, size_t from)
{
	count_to(it, from);
	it->keep = from;
	it->keep_line = it->line;
	return MTK_PEM_MORE;
}

void mtk_pem_iter_init_lines(mtk_pem_iter *it, const uint8_t *data, size_t len)
{
	mtk_pem_iter_init(it, data, len, 1, false);
	it->lines = true;
}

/* The label after a BEGIN/END marker at i: its length, 0 when it does not
 * read (1..79 printable characters other than '-', then "-----"). */
static size_t label_at(const uint8_t *d, size_t i, size_t end)
{
	size_t k = i;

	while (k < end && k - i < 79 && d[k] >= 0x20 && d[k] < 0x7f && d[k] != '-')
		k++;
	if (k == i || end - k < 5 || memcmp(d + k, "-----", 5) != 0)
		return 0;
	return k - i;
}

static mtk_pem_status next_lines(mtk_pem_iter *it, mtk_pem_span *out)
{
	const uint8_t *d = it->r.data;
	size_t n = it->r.len;
	struct line l;
	size_t off = it->r.off, t, k = 0, body;

	/* A BEGIN line with a label that reads. */
	for (;; off = l.next) {
		if (!next_line(d, n, off, &l)) {
			it->r.off = n;
			return MTK_PEM_DONE;
		}
		t = trim_start(d, &l);
		if (starts_with(d, t, l.end, BEGIN) &&
		    (k = label_at(d, t + sizeof(BEGIN) - 1, l.end)) > 0)
			break;
	}
	count_to(it, l.start);
	memset(out, 0, sizeof(*out));
	out->label = (const char *)d + t + sizeof(BEGIN) - 1;
	out->label_len = k;
	out->line = it->line;
	out->begin_off = l.start;
	body = l.next;
	out->body = d + body;
	for (off = body; next_line(d, n, off, &l); off = l.next) {
		t = trim_start(d, &l);
		if (starts_with(d, t, l.end, END)) {
			size_t e = t + sizeof(END) - 1;

			out->body_len = l.start - body;
			out->end_off = l.next;
			it->r.off = l.next;
			if (label_at(d, e, l.end) != k || memcmp(d + e, out->label, k) != 0)
				return MTK_PEM_END_MISMATCH;
			return MTK_PEM_BLOCK;
		}
		if (starts_with(d, t, l.end, BEGIN)) {
			out->body_len = l.start - body;
			out->end_off = l.start;
			it->r.off = l.start; /* that line is read again as a BEGIN */
			return MTK_PEM_NO_END;
		}
	}
	out->body_len = n - body;
	out->end_off = n;
	it->r.off = n;
	return MTK_PEM_NO_END;
}

mtk_pem_status mtk_pem_next(mtk_pem_iter *it, mtk_pem_span *out)
{
	const uint8_t *d = it->r.data;
	size_t n = it->r.len;

	if (it->lines)
		return next_lines(it, out);

	for (;;) {
		size_t b, lab, labend, body, e, eend, k;

		b = find_str(d, n, it->r.off, BEGIN, sizeof(BEGIN) - 1);
		if (b >= n) {
			/* A marker may be cut by the window's end: keep its
			 * possible start. */
			size_t keep = n;

			if (it->partial)
				keep = n - it->r.off > sizeof(BEGIN) - 2 ? n - (sizeof(BEGIN) - 2)
									 : it->r.off;
			it->r.off = n;
			count_to(it, keep);
			it->keep = keep;
			it->keep_line = it->line;
			return MTK_PEM_DONE;
		}
		lab = b + sizeof(BEGIN) - 1;
		labend = lab;
		while (labend < n && labend - lab < 79 && d[labend] >= 0x20 && d[labend] < 0x7f &&
		       d[labend] != '-')
			labend++;
		if (it->partial && (labend >= n || (n - labend < 5 && memcmp(d + labend, "-----",
										n - labend) == 0)))
			return need_more(it, b);
		if (labend == lab || n - labend < 5 || memcmp(d + labend, "-----", 5) != 0) {
			it->r.off = lab; /* not a BEGIN marker after all */
			continue;
		}
		k = labend - lab;
		body = labend + 5;
		e = find_str(d, n, body, END, sizeof(END) - 1);
		if (e >= n && it->partial)
			return need_more(it, b);
		count_to(it, b);
		memset(out, 0, sizeof(*out));
		out->label = (const char *)d + lab;
		out->label_len = k;
		out->line = it->line;
		out->begin_off = b;
		out->body = d + body;
		if (e >= n) {
			out->body_len = n - body;
			out->end_off = n;
			it->r.off = n;
			return MTK_PEM_NO_END;
		}
		eend = e + sizeof(END) - 1;
		if (it->partial && n - eend < k + 5)
			return need_more(it, b);
		out->body_len = e - body;
		if (n - eend < k + 5 || memcmp(d + eend, d + lab, k) != 0 ||
		    memcmp(d + eend + k, "-----", 5) != 0) {
			out->end_off = eend;
			it->r.off = eend;
			return MTK_PEM_END_MISMATCH;
		}
		out->end_off = eend + k + 5;
		it->r.off = out->end_off;
		return MTK_PEM_BLOCK;
	}
}

/* ------------------------------------------------------------------ */
/* A PFX in PEM armour                                                  */

static bool label_eq(const char *label, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(label, s, n) == 0;
}

const char *mtk_pem_pfx_armour(const char *label, size_t label_len, const uint8_t *der,
			       size_t der_len)
{
	if (label_eq(label, label_len, "PKCS12"))
		return "PFX in PEM armour (-----BEGIN PKCS12-----, as GnuTLS certtool writes it)";
	if ((label_eq(label, label_len, "CERTIFICATE") ||
	     label_eq(label, label_len, "X509 CERTIFICATE")) &&
	    der != NULL && mtk_detect(der, der_len) == MTK_FMT_PKCS12)
		return "PFX under a CERTIFICATE label (as `certutil -encode` writes it)";
	return NULL;
}

mtk_rc mtk_pem_single_pfx(const uint8_t *data, size_t len, uint8_t **der, size_t *der_len,
			  const char **note)
{
	mtk_pem_iter it;
	mtk_pem_span sp, more;
	uint8_t *d;
	size_t cap, n = 0;
	const char *what;

	mtk_pem_iter_init_lines(&it, data, len);
	if (mtk_pem_next(&it, &sp) != MTK_PEM_BLOCK || mtk_pem_next(&it, &more) != MTK_PEM_DONE)
		return MTK_E_NOT_FOUND;
	/* Only the two labels that can carry a PFX are decoded at all. */
	if (!label_eq(sp.label, sp.label_len, "PKCS12") &&
	    !label_eq(sp.label, sp.label_len, "CERTIFICATE") &&
	    !label_eq(sp.label, sp.label_len, "X509 CERTIFICATE"))
		return MTK_E_NOT_FOUND;
	cap = sp.body_len / 4 * 3 + 3;
	if ((d = malloc(cap)) == NULL)
		return MTK_E_NOMEM;
	if (!mtk_pem_b64_decode(sp.body, sp.body_len, d, &n))
		n = 0;
	what = mtk_pem_pfx_armour(sp.label, sp.label_len, n > 0 ? d : NULL, n);
	if (what == NULL || mtk_detect(d, n) != MTK_FMT_PKCS12) {
		OPENSSL_cleanse(d, cap);
		free(d);
		return what != NULL ? MTK_E_PKCS12 : MTK_E_NOT_FOUND;
	}
	*der = d;
	*der_len = n;
	if (note != NULL)
		*note = what;
	return MTK_OK;
}
