/*
 * scan.c - the expiry scan (see expiry.h).
 *
 * Speed is the point of this file: a tree of 100,000 small PEM files must
 * scan in about a second on two cores.  Reading a small file costs ~7 us
 * and OpenSSL's full d2i_X509 ~100+ us, so the hot path never calls
 * OpenSSL: it finds PEM blocks itself, decodes base64 with a table, walks
 * the DER with fastcert.c and renders the two names.  OpenSSL is the slow
 * path for the odd certificate the walker declines, and for containers.
 *
 * Threads share one LIFO work list of jobs: a directory to read, or a batch
 * of names in an already open directory (opened relative to its fd, so a
 * deep path is resolved once per directory, not once per file).  Each
 * worker owns a sink (records, errors, string arena, counters); nothing is
 * shared on the hot path but the work list.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "x509/fastcert.h"
#include "mtlskit/file.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"
#include "mtlskit/pem.h"
#include "mtlskit/thread.h"

/* ------------------------------------------------------------------ */
/* Arena and sinks */

struct exp_chunk {
	struct exp_chunk *next;
	size_t used, cap;
	char data[];
};

static char *arena_alloc(struct exp_arena *a, size_t n)
{
	struct exp_chunk *c = a->head;

	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > 60000 ? n : 60000;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
		a->bytes += sizeof(*c) + cap;
	}
	c->used += n;
	return c->data + c->used - n;
}

void exp_arena_free(struct exp_arena *a)
{
	while (a->head != NULL) {
		struct exp_chunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->bytes = 0;
}

char *exp_strndup(struct exp_arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *exp_strdup(struct exp_arena *a, const char *s)
{
	return exp_strndup(a, s, strlen(s));
}

struct exp_sink *exp_sink_new(mtk_expiry *x)
{
	struct exp_sink *s;

	if (x->nsinks == x->capsinks) {
		size_t cap = x->capsinks ? x->capsinks * 2 : 8;
		struct exp_sink **p = realloc(x->sinks, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		x->sinks = p;
		x->capsinks = cap;
	}
	s = calloc(1, sizeof(*s));
	if (s != NULL)
		x->sinks[x->nsinks++] = s;
	return s;
}

static void sink_free(struct exp_sink *s)
{
	if (s == NULL)
		return;
	free(s->certs);
	free(s->errs);
	exp_arena_free(&s->arena);
	exp_arena_free(&s->earena);
	exp_runs_free(s->runs);
	EVP_MD_CTX_free(s->md);
	free(s);
}

static mtk_expiry_cert *sink_cert(struct exp_sink *s)
{
	if (s->ncerts == s->capcerts) {
		size_t cap = s->capcerts ? s->capcerts * 2 : 256;
		mtk_expiry_cert *p = realloc(s->certs, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		s->certs = p;
		s->capcerts = cap;
	}
	memset(&s->certs[s->ncerts], 0, sizeof(s->certs[0]));
	return &s->certs[s->ncerts++];
}

mtk_rc exp_add_error(struct exp_sink *s, const char *path, long line, mtk_rc code, const char *fmt,
		     ...)
{
	char msg[512];
	va_list ap;
	mtk_expiry_error *e;

	if (s->nerrs == s->caperrs) {
		size_t cap = s->caperrs ? s->caperrs * 2 : 16;
		mtk_expiry_error *p = realloc(s->errs, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		s->errs = p;
		s->caperrs = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = &s->errs[s->nerrs];
	e->path = exp_strdup(&s->earena, path);
	e->detail = exp_strdup(&s->earena, msg);
	if (e->path == NULL || e->detail == NULL)
		return MTK_E_NOMEM;
	e->line = line;
	e->code = code;
	s->nerrs++;
	s->st.errors++;
	return MTK_OK;
}

mtk_expiry *mtk_expiry_new(void)
{
	return calloc(1, sizeof(mtk_expiry));
}

void mtk_expiry_free(mtk_expiry *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->nsinks; i++)
		sink_free(x->sinks[i]);
	free(x->sinks);
	free(x->certs);
	free(x->errs);
	exp_runs_free(x->runs);
	free(x);
}

const char *mtk_expiry_src_name(mtk_expiry_src s)
{
	switch (s) {
	case MTK_EXP_SRC_PEM:
		return "pem";
	case MTK_EXP_SRC_DER:
		return "der";
	case MTK_EXP_SRC_PKCS7:
		return "pkcs7";
	case MTK_EXP_SRC_CONTAINER:
		return "container";
	case MTK_EXP_SRC_ENDPOINT:
		return "tls";
	}
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* Records */

#define XN_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

/* OpenSSL's rendering of a name, for what the fast renderer declines. */
static char *name_openssl(struct exp_arena *a, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long n;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAGS) < 0) {
		BIO_free(b);
		return exp_strdup(a, "(unprintable name)");
	}
	n = BIO_get_mem_data(b, &p);
	s = exp_strndup(a, p != NULL ? p : "", n > 0 ? (size_t)n : 0);
	BIO_free(b);
	return s;
}

static char *name_render(struct exp_arena *a, const uint8_t *der, size_t len)
{
	char buf[1024];
	X509_NAME *nm = NULL;
	const unsigned char *p = der;
	char *s;

	if (mtk_fastcert_name(der, len, buf, sizeof(buf)) == MTK_OK)
		return exp_strdup(a, buf);
	if (len > LONG_MAX || (nm = d2i_X509_NAME(NULL, &p, (long)len)) == NULL) {
		mtk_err_drain_openssl();
		return exp_strdup(a, "(malformed name)");
	}
	s = name_openssl(a, nm);
	X509_NAME_free(nm);
	return s;
}

/* SHA-256, fetched once: an implicit fetch per digest would cost more
 * than the digest of a small certificate. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_init(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256 of der through the sink's own context (one per worker thread,
 * reused: a context made and wiped per certificate cost more than the
 * hash of most). */
static bool fingerprint(struct exp_sink *s, const uint8_t *der, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	pthread_once(&sha256_once, sha256_init);
	if (s->md == NULL)
		s->md = EVP_MD_CTX_new();
	if (sha256_md == NULL || s->md == NULL || EVP_DigestInit_ex2(s->md, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(s->md, der, len) != 1 || EVP_DigestFinal_ex(s->md, out, &n) != 1 || n != 32) {
		mtk_err_drain_openssl();
		return false;
	}
	return true;
}

static mtk_rc add_fast(struct exp_sink *s, const mtk_fastcert *fc, const uint8_t *der,
		       const char *path, long line, int index, mtk_expiry_src src)
{
	char serial[520];
	mtk_expiry_cert *c = sink_cert(s);

	if (c == NULL)
		return MTK_E_NOMEM;
	c->not_before = fc->not_before;
	c->not_after = fc->not_after;
	c->path = path;
	c->line = line;
	c->index = index;
	c->src = src;
	if (s->times_only) {
		memset(c->sha256, 0, sizeof(c->sha256));
		c->subject = c->issuer = c->serial = "";
		s->st.certs++;
		return MTK_OK;
	}
	if (!fingerprint(s, der, fc->der_len, c->sha256)) {
		s->ncerts--;
		return MTK_E_NOMEM;
	}
	c->subject = name_render(&s->arena, fc->subject, fc->subject_len);
	if (fc->issuer_len == fc->subject_len &&
	    memcmp(fc->issuer, fc->subject, fc->issuer_len) == 0) {
		c->issuer = c->subject;
		c->self_issued = true;
	} else {
		c->issuer = name_render(&s->arena, fc->issuer, fc->issuer_len);
		c->self_issued = c->subject && c->issuer && strcmp(c->subject, c->issuer) == 0;
	}
	if (mtk_fastcert_serial_hex(fc->serial, fc->serial_len, serial, sizeof(serial)) != MTK_OK)
		snprintf(serial, sizeof(serial), "(too long)");
	c->serial = exp_strdup(&s->arena, serial);
	if (c->subject == NULL || c->issuer == NULL || c->serial == NULL)
		return MTK_E_NOMEM;
	s->st.certs++;
	return MTK_OK;
}

static bool asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

mtk_rc exp_add_x509(struct exp_sink *s, X509 *cert, const char *path, long line, int index,
		    const char *alias, mtk_expiry_src src)
{
	mtk_expiry_cert *c;
	BIGNUM *bn = NULL;
	char *hex = NULL;

	c = sink_cert(s);
	if (c == NULL)
		return MTK_E_NOMEM;
	c->path = path;
	c->line = line;
	c->index = index;
	c->src = src;
	c->slow_path = true;
	if (!asn1_time_epoch(X509_get0_notBefore(cert), &c->not_before) ||
	    !asn1_time_epoch(X509_get0_notAfter(cert), &c->not_after)) {
		s->ncerts--;
		mtk_err_drain_openssl();
		return exp_add_error(s, path, line, MTK_E_DER,
				     "certificate #%d: unreadable validity dates", index + 1);
	}
	if (s->times_only) {
		memset(c->sha256, 0, sizeof(c->sha256));
		c->subject = c->issuer = c->serial = "";
		c->alias = NULL;
		s->st.certs++;
		s->st.slow_path++;
		return MTK_OK;
	}
	{
		unsigned int mdlen = 0;

		pthread_once(&sha256_once, sha256_init);
		if (sha256_md == NULL || X509_digest(cert, sha256_md, c->sha256, &mdlen) != 1 ||
		    mdlen != 32) {
			s->ncerts--;
			mtk_err_drain_openssl();
			return MTK_E_NOMEM;
		}
	}
	c->subject = name_openssl(&s->arena, X509_get_subject_name(cert));
	c->issuer = name_openssl(&s->arena, X509_get_issuer_name(cert));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	if (bn != NULL && (hex = BN_bn2hex(bn)) != NULL) {
		for (char *h = hex; *h; h++)
			if (*h >= 'A' && *h <= 'F')
				*h = (char)(*h - 'A' + 'a');
	}
	c->serial = exp_strdup(&s->arena, hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	c->alias = alias ? exp_strdup(&s->arena, alias) : NULL;
	if (c->subject == NULL || c->issuer == NULL || c->serial == NULL || (alias && !c->alias))
		return MTK_E_NOMEM;
	c->self_issued = strcmp(c->subject, c->issuer) == 0;
	s->st.certs++;
	s->st.slow_path++;
	return MTK_OK;
}

/* ------------------------------------------------------------------ */
/* Decoding one file's bytes */

struct worker {
	mtk_expiry *x;
	struct scan *sc;
	struct exp_sink *sink;
	mtk_buf file; /* the current file's bytes */
	mtk_buf der;  /* decoded PEM body */
	char path[4096];
	const char *path_in_arena; /* path interned once a record needs it */
};

static const char *wpath(struct worker *w)
{
	if (w->path_in_arena == NULL)
		w->path_in_arena = exp_strdup(&w->sink->arena, w->path);
	return w->path_in_arena;
}

/* Decodes a block's body into w->der: MTK_OK, MTK_E_PEM_SYNTAX when it is
 * not base64, MTK_E_NOMEM. */
static mtk_rc b64(struct worker *w, const mtk_pem_span *sp)
{
	w->der.len = 0;
	if (mtk_buf_reserve(&w->der, sp->body_len / 4 * 3 + 3) != MTK_OK)
		return MTK_E_NOMEM;
	return mtk_pem_b64_decode(sp->body, sp->body_len, w->der.data, &w->der.len)
		   ? MTK_OK
		   : MTK_E_PEM_SYNTAX;
}

/* A certificate (or TRUSTED CERTIFICATE) in DER; fast walker first. */
static mtk_rc one_cert(struct worker *w, const uint8_t *der, size_t len, long line, int index,
		       mtk_expiry_src src, bool trusted)
{
	mtk_fastcert fc;
	X509 *x = NULL;
	const unsigned char *p = der;
	mtk_rc rc;

	if (mtk_fastcert_parse(der, len, &fc) == MTK_OK && (trusted || fc.der_len == len))
		return add_fast(w->sink, &fc, der, wpath(w), line, index, src);
	/* The odd one: BER, unusual time forms... OpenSSL decides. */
	if (len <= LONG_MAX)
		x = trusted ? d2i_X509_AUX(NULL, &p, (long)len) : d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		mtk_err_drain_openssl();
		return exp_add_error(w->sink, wpath(w), line, MTK_E_DER,
				     "certificate #%d is not a valid X.509 certificate", index + 1);
	}
	rc = exp_add_x509(w->sink, x, wpath(w), line, index, NULL, src);
	X509_free(x);
	return rc;
}

static mtk_rc pkcs7_certs(struct worker *w, const uint8_t *der, size_t len, long line, int *index)
{
	PKCS7 *p7 = NULL;
	const unsigned char *p = der;
	STACK_OF(X509) *certs = NULL;
	mtk_rc rc = MTK_OK;

	if (len <= LONG_MAX)
		p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 == NULL) {
		mtk_err_drain_openssl();
		return exp_add_error(w->sink, wpath(w), line, MTK_E_DER,
				     "malformed PKCS#7 structure");
	}
	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	for (int i = 0; rc == MTK_OK && i < sk_X509_num(certs); i++)
		rc = exp_add_x509(w->sink, sk_X509_value(certs, i), wpath(w), line, (*index)++,
				  NULL, MTK_EXP_SRC_PKCS7);
	PKCS7_free(p7);
	return rc;
}

/* Every PEM block in a window of the file (the whole file, or with
 * `partial` a piece of a large one: then a block cut by the window's end is
 * left for the next window; see mtk_pem_iter_keep()).  *index counts the
 * certificates of the file across windows. */
static mtk_rc scan_pem(struct worker *w, const uint8_t *d, size_t n, long first_line,
		       bool partial, int *index, mtk_pem_iter *it)
{
	mtk_pem_span sp;
	mtk_pem_status ps;
	mtk_rc rc = MTK_OK;

	mtk_pem_iter_init(it, d, n, first_line, partial);
	while (rc == MTK_OK) {
		char label[80];
		bool trusted;

		ps = mtk_pem_next(it, &sp);
		if (ps == MTK_PEM_DONE || ps == MTK_PEM_MORE)
			break;
		memcpy(label, sp.label, sp.label_len);
		label[sp.label_len] = '\0';
		if (ps == MTK_PEM_NO_END) {
			rc = exp_add_error(w->sink, wpath(w), sp.line, MTK_E_PEM_SYNTAX,
					   "%s block has no END line", label);
			break;
		}
		if (ps == MTK_PEM_END_MISMATCH) {
			rc = exp_add_error(w->sink, wpath(w), sp.line, MTK_E_PEM_SYNTAX,
					   "%s block ends with a different END line", label);
			continue;
		}
		trusted = mtk_pem_label_is(&sp, "TRUSTED CERTIFICATE");
		if (trusted || mtk_pem_label_is(&sp, "CERTIFICATE") ||
		    mtk_pem_label_is(&sp, "X509 CERTIFICATE")) {
			if ((rc = b64(w, &sp)) != MTK_OK) {
				if (rc == MTK_E_NOMEM)
					break;
				rc = exp_add_error(
				    w->sink, wpath(w), sp.line, MTK_E_PEM_SYNTAX,
				    "certificate #%d: the base64 body does not decode", *index + 1);
				(*index)++;
				continue;
			}
			rc = one_cert(w, w->der.data, w->der.len, sp.line, (*index)++,
				      MTK_EXP_SRC_PEM, trusted);
		} else if (mtk_pem_label_is(&sp, "PKCS7") ||
			   mtk_pem_label_is(&sp, "CERTIFICATE CHAIN")) {
			if ((rc = b64(w, &sp)) == MTK_E_PEM_SYNTAX)
				rc = exp_add_error(w->sink, wpath(w), sp.line, MTK_E_PEM_SYNTAX,
						   "PKCS7 block: the base64 body does not decode");
			else if (rc == MTK_OK)
				rc = pkcs7_certs(w, w->der.data, w->der.len, sp.line, index);
		} else {
			w->sink->st.skipped_blocks++; /* keys, CSRs, CRLs, parameters */
		}
	}
	return rc;
}

/* PFX, JKS, JCEKS through the object loader. */
static mtk_rc scan_container(struct worker *w, const uint8_t *d, size_t n, const mtk_secret *pass,
			     int *found);

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Named like a certificate file: an unrecognised one is worth a word. */
static bool cert_like_name(const char *path)
{
	static const char *ext[] = {".pem", ".crt",   ".cer", ".der",	   ".p12", ".pfx",
				    ".jks", ".jceks", ".p7b", ".keystore", NULL};

	for (int i = 0; ext[i]; i++)
		if (ends_with(path, ext[i]))
			return true;
	return false;
}

/* Counts the file as a certificate file, a skipped one, or (when it gave
 * errors and no certificate) neither. */
static void count_file(struct worker *w, uint64_t certs0, uint64_t errs0)
{
	if (w->sink->st.certs > certs0)
		w->sink->st.cert_files++;
	else if (w->sink->st.errors == errs0)
		w->sink->st.skipped_files++;
}

static mtk_rc scan_bytes(struct worker *w, const uint8_t *d, size_t n, const mtk_secret *pass)
{
	uint64_t certs0 = w->sink->st.certs, errs0 = w->sink->st.errors;
	int found = 0, idx = 0;
	mtk_rc rc = MTK_OK;

	if (n == 0) {
		if (cert_like_name(w->path))
			rc = exp_add_error(w->sink, w->path, 0, MTK_E_EMPTY, "the file is empty");
		else
			w->sink->st.skipped_files++;
		return rc;
	}
	if (memmem(d, n, "-----BEGIN ", 11) != NULL) {
		mtk_pem_iter it;

		rc = scan_pem(w, d, n, 1, false, &idx, &it);
	} else {
		mtk_format f = mtk_detect(d, n);

		switch (f) {
		case MTK_FMT_DER_CERT:
			rc = one_cert(w, d, n, 0, 0, MTK_EXP_SRC_DER, false);
			break;
		case MTK_FMT_DER_PKCS7:
			rc = pkcs7_certs(w, d, n, 0, &idx);
			break;
		case MTK_FMT_PKCS12:
		case MTK_FMT_JKS:
		case MTK_FMT_JCEKS:
			rc = scan_container(w, d, n, pass, &found);
			break;
		case MTK_FMT_UNKNOWN:
			if (cert_like_name(w->path))
				rc = exp_add_error(w->sink, w->path, 0, MTK_E_UNKNOWN_FORMAT,
						   "not a certificate, PFX or keystore");
			break;
		default: /* DER keys, CSRs, CRLs */
			break;
		}
	}
	(void)found;
	count_file(w, certs0, errs0);
	return rc;
}

static mtk_rc errno_rc(int e);

/* A large PEM bundle, `got` bytes of it already in w->file: read through a
 * window of MTK_EXPIRY_WINDOW bytes, each window's whole blocks scanned and
 * the block cut by its end carried into the next.  Memory does not grow
 * with the file. */
static mtk_rc scan_stream(struct worker *w, int fd, size_t got)
{
	uint64_t certs0 = w->sink->st.certs, errs0 = w->sink->st.errors;
	long line = 1;
	int index = 0;
	bool eof = false;
	mtk_rc rc = MTK_OK;

	w->file.len = got;
	if (w->file.cap < MTK_EXPIRY_WINDOW &&
	    mtk_buf_reserve(&w->file, MTK_EXPIRY_WINDOW - got) != MTK_OK)
		return MTK_E_NOMEM;
	for (;;) {
		mtk_pem_iter it;
		size_t keep;

		while (!eof && got < w->file.cap) {
			ssize_t r = read(fd, w->file.data + got, w->file.cap - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = exp_add_error(w->sink, w->path, 0, errno_rc(errno),
						   "read error: %s", strerror(errno));
				goto out;
			}
			if (r == 0)
				eof = true;
			got += (size_t)r;
		}
		rc = scan_pem(w, w->file.data, got, line, !eof, &index, &it);
		if (rc != MTK_OK || eof)
			break;
		keep = mtk_pem_iter_keep(&it, &line);
		if (keep == 0) {
			/* One block fills the window: widen it, within reason. */
			if (w->file.cap >= MTK_MAX_INPUT) {
				rc = exp_add_error(w->sink, wpath(w), line, MTK_E_TOO_LARGE,
						   "a PEM block larger than %zu bytes; not read",
						   (size_t)MTK_MAX_INPUT);
				break;
			}
			w->file.len = got;
			if (mtk_buf_reserve(&w->file, w->file.cap) != MTK_OK) {
				rc = MTK_E_NOMEM;
				break;
			}
			continue;
		}
		if (exp_over_budget(w->sink)) {
			if ((rc = exp_spill(w->sink)) != MTK_OK)
				break;
			w->path_in_arena = NULL; /* freed with the arena */
		}
		/* What was scanned may be a private key: wipe it as it goes. */
		memmove(w->file.data, w->file.data + keep, got - keep);
		mtk_cleanse(w->file.data + (got - keep), keep);
		got -= keep;
	}
out:
	mtk_cleanse(w->file.data, got);
	w->file.len = 0;
	count_file(w, certs0, errs0);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The work list */

struct dirref {
	int fd;
	int refs; /* under the scan's lock */
	char *path;
};

enum job_kind { JOB_DIR, JOB_FILES };

struct job {
	struct job *next;
	enum job_kind kind;
	char *path;	    /* JOB_DIR: the directory, as reached */
	bool via_symlink;   /* JOB_DIR reached through a symlink */
	struct dirref *dir; /* JOB_FILES */
	size_t n;
	struct fentry {
		char *name;
		unsigned char type; /* d_type */
	} * names;
};

struct devino {
	dev_t dev;
	ino_t ino;
};

struct scan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *stack;
	int busy;
	bool failed; /* allocation failure, or no room for a run: stop */
	mtk_rc fail_rc;
	const mtk_expiry_opts *opts;
	const mtk_secret *pass;
	struct devino *seen;
	size_t nseen, capseen;
	atomic_uint_fast64_t files_done;
	atomic_uint_fast64_t certs_done;
};

static void push_job(struct scan *sc, struct job *j)
{
	pthread_mutex_lock(&sc->mu);
	j->next = sc->stack;
	sc->stack = j;
	pthread_cond_signal(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
}

static void dirref_put(struct scan *sc, struct dirref *d)
{
	bool last;

	pthread_mutex_lock(&sc->mu);
	last = --d->refs == 0;
	pthread_mutex_unlock(&sc->mu);
	if (last) {
		close(d->fd);
		free(d->path);
		free(d);
	}
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n; i++)
		free(j->names[i].name);
	free(j->names);
	free(j->path);
	free(j);
}

/* Records (dev, ino) in an open-addressing set; false when it was
 * already there (a loop, or a second link to the same directory). */
static size_t devino_slot(const struct devino *tab, size_t cap, dev_t dev, ino_t ino)
{
	uint64_t h =
	    ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)ino * 0xc2b2ae3d27d4eb4fULL);
	size_t k = (size_t)(h ^ (h >> 29)) & (cap - 1);

	while (tab[k].ino != 0 && !(tab[k].dev == dev && tab[k].ino == ino))
		k = (k + 1) & (cap - 1);
	return k;
}

static bool seen_once(struct scan *sc, dev_t dev, ino_t ino, bool *nomem)
{
	bool fresh;
	size_t k;

	if (ino == 0)
		ino = (ino_t)-1; /* 0 marks a free slot */
	pthread_mutex_lock(&sc->mu);
	if (sc->nseen * 2 >= sc->capseen) {
		size_t cap = sc->capseen ? sc->capseen * 2 : 256;
		struct devino *t = calloc(cap, sizeof(*t));

		if (t == NULL) {
			*nomem = true;
			pthread_mutex_unlock(&sc->mu);
			return false;
		}
		for (size_t i = 0; i < sc->capseen; i++)
			if (sc->seen[i].ino != 0)
				t[devino_slot(t, cap, sc->seen[i].dev, sc->seen[i].ino)] =
				    sc->seen[i];
		free(sc->seen);
		sc->seen = t;
		sc->capseen = cap;
	}
	k = devino_slot(sc->seen, sc->capseen, dev, ino);
	fresh = sc->seen[k].ino == 0;
	if (fresh) {
		sc->seen[k].dev = dev;
		sc->seen[k].ino = ino;
		sc->nseen++;
	}
	pthread_mutex_unlock(&sc->mu);
	return fresh;
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	bool slash = a > 0 && dir[a - 1] == '/';
	char *p = malloc(a + b + 2);

	if (p != NULL) {
		memcpy(p, dir, a);
		if (!slash)
			p[a++] = '/';
		memcpy(p + a, name, b + 1);
	}
	return p;
}

static struct job *dir_job(const char *path, bool via_symlink)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->kind = JOB_DIR;
	j->via_symlink = via_symlink;
	j->path = strdup(path);
	if (j->path == NULL) {
		free(j);
		return NULL;
	}
	return j;
}

static mtk_rc errno_rc(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
		return MTK_E_NOENT;
	case EACCES:
	case EPERM:
		return MTK_E_PERM;
	default:
		return MTK_E_IO;
	}
}

#define BATCH 32 /* names per job: small enough that a few hundred files in one
		   directory still spread over every reader */

static mtk_rc do_dir(struct worker *w, struct job *j)
{
	struct scan *sc = w->sc;
	struct dirref *dr = NULL;
	struct job *batch = NULL;
	struct stat st;
	DIR *dp = NULL;
	struct dirent *de;
	bool nomem = false;
	int fd, dfd;
	mtk_rc rc = MTK_OK;

	/* O_NOFOLLOW: a directory entry swapped for a symlink after it was
	 * listed is not followed unless links are. */
	fd = open(j->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
			       (sc->opts->follow_symlinks || j->via_symlink ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return exp_add_error(w->sink, j->path, 0, errno_rc(errno),
				     "cannot open directory: %s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = exp_add_error(w->sink, j->path, 0, MTK_E_IO, "%s", strerror(errno));
		close(fd);
		return rc;
	}
	if (!seen_once(sc, st.st_dev, st.st_ino, &nomem)) {
		close(fd);
		if (nomem)
			return MTK_E_NOMEM;
		return exp_add_error(
		    w->sink, j->path, 0, MTK_E_DIR_LOOP,
		    "already scanned (symbolic link loop or second link); skipped");
	}
	w->sink->st.dirs++;
	dfd = dup(fd);
	if (dfd < 0 || (dp = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		close(fd);
		return exp_add_error(w->sink, j->path, 0, MTK_E_IO, "%s", strerror(errno));
	}
	dr = calloc(1, sizeof(*dr));
	if (dr == NULL || (dr->path = strdup(j->path)) == NULL) {
		free(dr);
		closedir(dp);
		close(fd);
		return MTK_E_NOMEM;
	}
	dr->fd = fd;
	dr->refs = 1; /* ours, dropped at the end */
	errno = 0;
	while ((de = readdir(dp)) != NULL) {
		const char *nm = de->d_name;

		if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
			continue;
		if (de->d_type == DT_DIR) {
			char *sub = join(j->path, nm);
			struct job *dj = sub ? dir_job(sub, false) : NULL;

			free(sub);
			if (dj == NULL) {
				rc = MTK_E_NOMEM;
				break;
			}
			push_job(sc, dj);
			continue;
		}
		if (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
			continue; /* FIFOs, sockets, devices: never certificate files */
		if (batch == NULL) {
			batch = calloc(1, sizeof(*batch));
			if (batch == NULL ||
			    (batch->names = calloc(BATCH, sizeof(*batch->names))) == NULL) {
				free(batch);
				batch = NULL;
				rc = MTK_E_NOMEM;
				break;
			}
			batch->kind = JOB_FILES;
			batch->dir = dr;
			pthread_mutex_lock(&sc->mu);
			dr->refs++;
			pthread_mutex_unlock(&sc->mu);
		}
		batch->names[batch->n].type = de->d_type;
		batch->names[batch->n].name = strdup(nm);
		if (batch->names[batch->n].name == NULL) {
			rc = MTK_E_NOMEM;
			break;
		}
		batch->n++;
		if (batch->n == BATCH) {
			push_job(sc, batch);
			batch = NULL;
		}
	}
	if (rc == MTK_OK && de == NULL && errno != 0)
		rc = exp_add_error(w->sink, j->path, 0, MTK_E_IO, "reading the directory: %s",
				   strerror(errno));
	if (batch != NULL) {
		if (rc == MTK_E_NOMEM) {
			job_free(batch);
			dirref_put(sc, dr);
		} else {
			push_job(sc, batch);
		}
	}
	closedir(dp);
	dirref_put(sc, dr);
	return rc;
}

static void progress(struct worker *w, bool file_done)
{
	struct scan *sc = w->sc;
	uint_fast64_t n;

	if (!file_done || sc->opts->progress == NULL)
		return;
	n = atomic_fetch_add(&sc->files_done, 1) + 1;
	if ((n & 2047) == 0)
		sc->opts->progress(sc->opts->progress_ctx, n, atomic_load(&sc->certs_done));
}

/* The first read of a file is this big; most certificate files fit. */
#define FIRST_READ 16384

/* fstat() of an open entry: directories reached through a link are queued
 * (or skipped without --follow-symlinks), anything but a regular file is
 * skipped (*skip). */
static mtk_rc check_type(struct worker *w, int dirfd, const char *name, unsigned char type, int fd,
			 struct stat *st, bool *skip)
{
	struct scan *sc = w->sc;

	*skip = true;
	if (fstat(fd, st) != 0)
		return exp_add_error(w->sink, w->path, 0, MTK_E_IO, "%s", strerror(errno));
	if (S_ISDIR(st->st_mode)) {
		struct stat lst;
		bool link =
		    type == DT_LNK ||
		    (type == DT_UNKNOWN && fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		     S_ISLNK(lst.st_mode));
		struct job *dj;

		if (link && !sc->opts->follow_symlinks) {
			w->sink->st.symlinked_dirs_skipped++;
			return MTK_OK;
		}
		if ((dj = dir_job(w->path, link)) == NULL)
			return MTK_E_NOMEM;
		push_job(sc, dj);
		return MTK_OK;
	}
	*skip = !S_ISREG(st->st_mode);
	return MTK_OK;
}

/* Reads one file (opened relative to dirfd) and scans it. */
static mtk_rc do_file(struct worker *w, int dirfd, const char *name, unsigned char type)
{
	struct scan *sc = w->sc;
	size_t max = sc->opts->max_file ? sc->opts->max_file : MTK_MAX_INPUT;
	const mtk_secret *pass = sc->pass;
	struct stat st;
	size_t got = 0;
	uint64_t certs_before = w->sink->st.certs;
	bool checked = false, skip = false;
	int fd;
	mtk_rc rc = MTK_OK;

	memset(&st, 0, sizeof(st));
	w->path_in_arena = NULL;
	/* Between files no record points into the arena: the place to
	 * spill when over the budget. */
	if (exp_over_budget(w->sink) && (rc = exp_spill(w->sink)) != MTK_OK)
		return rc;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		struct stat lst;

		if (e == ENOENT && fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(lst.st_mode))
			return exp_add_error(w->sink, w->path, 0, MTK_E_NOENT,
					     "dangling symbolic link (its target does not exist)");
		return exp_add_error(w->sink, w->path, 0, errno_rc(e), "cannot open: %s",
				     strerror(e));
	}
	/* readdir said "regular file" for most entries: then the first read()
	 * comes before any fstat(), and a file shorter than the buffer is
	 * done in one call (a short read of a regular file is its end).  That
	 * saves a system call per file; whatever fills the buffer is checked
	 * with fstat() before more is read. */
	if (type != DT_REG) {
		if ((rc = check_type(w, dirfd, name, type, fd, &st, &skip)) != MTK_OK || skip)
			goto out;
		checked = true;
	}
	w->file.len = 0;
	if (mtk_buf_reserve(&w->file, FIRST_READ) != MTK_OK) {
		rc = MTK_E_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, w->file.data + got, w->file.cap - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && !checked) {
			got = 0; /* a FIFO put in the file's place: not ours */
			break;
		}
		if (r < 0) {
			rc = exp_add_error(w->sink, w->path, 0, errno_rc(errno), "read error: %s",
					   strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got < w->file.cap)
			break; /* a short read of a regular file is its end */
		if (!checked) {
			if ((rc = check_type(w, dirfd, name, type, fd, &st, &skip)) != MTK_OK ||
			    skip)
				goto out;
			checked = true;
		}
		if ((uint64_t)st.st_size > MTK_EXPIRY_WINDOW &&
		    memmem(w->file.data, got, "-----BEGIN ", 11) != NULL) {
			w->sink->st.files++;
			rc = scan_stream(w, fd, got);
			atomic_fetch_add(&sc->certs_done, w->sink->st.certs - certs_before);
			progress(w, true);
			goto out;
		}
		if ((uint64_t)st.st_size > max || got > max) {
			rc = exp_add_error(
			    w->sink, w->path, 0, MTK_E_TOO_LARGE,
			    "%llu bytes, more than any certificate file (limit %zu); not read",
			    (unsigned long long)(got > (size_t)st.st_size ? got
									  : (size_t)st.st_size),
			    max);
			goto out;
		}
		w->file.len = got; /* reserve() counts from len */
		if (mtk_buf_reserve(&w->file, (size_t)st.st_size > got
						  ? (size_t)st.st_size - got + 1
						  : 65536) != MTK_OK) {
			rc = MTK_E_NOMEM;
			goto out;
		}
	}
	w->file.len = got;
	w->sink->st.files++;
	if (pass == NULL) /* the MID agent keystore's default, by name (mid.h) */
		pass = mtk_mid_default_for(MTK_MID_READ, w->path);
	rc = scan_bytes(w, w->file.data, got, pass);
	/* The file may hold a private key: do not leave it in the heap. */
	mtk_cleanse(w->file.data, got);
	w->file.len = 0;
	atomic_fetch_add(&sc->certs_done, w->sink->st.certs - certs_before);
	progress(w, true);
out:
	close(fd);
	return rc;
}

static mtk_rc do_files(struct worker *w, struct job *j)
{
	mtk_rc rc = MTK_OK;

	for (size_t i = 0; rc == MTK_OK && i < j->n; i++) {
		size_t a = strlen(j->dir->path), b = strlen(j->names[i].name);

		if (a + b + 2 > sizeof(w->path)) {
			rc = exp_add_error(w->sink, j->names[i].name, 0, MTK_E_NOENT,
					   "path too long");
			continue;
		}
		memcpy(w->path, j->dir->path, a);
		if (a == 0 || j->dir->path[a - 1] != '/')
			w->path[a++] = '/';
		memcpy(w->path + a, j->names[i].name, b + 1);
		rc = do_file(w, j->dir->fd, j->names[i].name, j->names[i].type);
	}
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct scan *sc = w->sc;

	for (;;) {
		struct job *j;
		mtk_rc rc;

		pthread_mutex_lock(&sc->mu);
		while (sc->stack == NULL && sc->busy > 0 && !sc->failed)
			pthread_cond_wait(&sc->cv, &sc->mu);
		if (sc->stack == NULL || sc->failed) {
			pthread_cond_broadcast(&sc->cv);
			pthread_mutex_unlock(&sc->mu);
			break;
		}
		j = sc->stack;
		sc->stack = j->next;
		sc->busy++;
		pthread_mutex_unlock(&sc->mu);

		rc = j->kind == JOB_DIR ? do_dir(w, j) : do_files(w, j);
		if (j->kind == JOB_FILES)
			dirref_put(sc, j->dir);
		job_free(j);

		pthread_mutex_lock(&sc->mu);
		sc->busy--;
		if (rc == MTK_E_NOMEM || rc == MTK_E_WRITE) {
			sc->failed = true;
			sc->fail_rc = rc;
		}
		if ((sc->stack == NULL && sc->busy == 0) || sc->failed)
			pthread_cond_broadcast(&sc->cv);
		pthread_mutex_unlock(&sc->mu);
	}
	return NULL;
}

mtk_rc mtk_expiry_scan_path(mtk_expiry *x, const char *path, const mtk_expiry_opts *opts,
			    mtk_err *err)
{
	mtk_expiry_opts defopts = {0};
	struct scan sc;
	struct worker *ws = NULL;
	pthread_t *tids = NULL;
	struct stat st;
	int nt;
	mtk_rc rc = MTK_OK;

	if (opts == NULL)
		opts = &defopts;
	memset(&sc, 0, sizeof(sc));
	sc.opts = opts;
	sc.pass = opts->pass;
	nt = opts->threads > 0 ? opts->threads : MTK_EXPIRY_WORKERS;
	if (nt > 64)
		nt = 64;
	if (stat(path, &st) != 0) {
		int e = errno;
		struct exp_sink *s = exp_sink_new(x);
		struct stat lst;
		const char *what = (e == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
				       ? "dangling symbolic link"
				       : strerror(e);

		if (s == NULL || exp_add_error(s, path, 0, errno_rc(e), "%s", what) != MTK_OK)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		return mtk_err_set(err, errno_rc(e), "%s: %s", path, what);
	}
	ws = calloc((size_t)nt, sizeof(*ws));
	tids = calloc((size_t)nt, sizeof(*tids));
	if (ws == NULL || tids == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		goto out;
	}
	for (int i = 0; i < nt; i++) {
		ws[i].x = x;
		ws[i].sc = &sc;
		ws[i].sink = exp_sink_new(x);
		if (ws[i].sink == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
			goto out;
		}
		ws[i].sink->budget = opts->mem_budget / (size_t)nt;
		ws[i].sink->times_only = opts->times_only;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* A named file: read it in this thread, path as given. */
		int dfd = AT_FDCWD;

		snprintf(ws[0].path, sizeof(ws[0].path), "%s", path);
		rc = do_file(&ws[0], dfd, path, DT_UNKNOWN);
		if (rc == MTK_E_WRITE)
			rc = mtk_err_set(err, rc,
					 "%s: cannot write the records beyond the memory budget to "
					 "$TMPDIR",
					 path);
		else if (rc != MTK_OK)
			rc = mtk_err_set(err, rc, "%s", path);
		goto out;
	}
	pthread_mutex_init(&sc.mu, NULL);
	pthread_cond_init(&sc.cv, NULL);
	{
		struct job *root = dir_job(path, true);

		if (root == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		} else {
			int started = 0;

			sc.stack = root;
			for (int i = 0; i < nt; i++)
				if (mtk_thread_spawn(&tids[i], worker_main, &ws[i]) == 0)
					started++;
				else
					tids[i] = 0;
			if (started == 0)
				worker_main(&ws[0]);
			for (int i = 0; i < nt; i++)
				if (tids[i])
					pthread_join(tids[i], NULL);
			while (sc.stack != NULL) { /* left after a failure */
				struct job *j = sc.stack;
				sc.stack = j->next;
				if (j->kind == JOB_FILES)
					dirref_put(&sc, j->dir);
				job_free(j);
			}
			if (sc.failed)
				rc = sc.fail_rc == MTK_E_WRITE
					 ? mtk_err_set(err, MTK_E_WRITE,
						       "%s: cannot write the records beyond the "
						       "memory budget to $TMPDIR",
						       path)
					 : mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		}
	}
	pthread_cond_destroy(&sc.cv);
	pthread_mutex_destroy(&sc.mu);
out:
	if (ws != NULL) {
		for (int i = 0; i < nt; i++) {
			mtk_buf_free(&ws[i].file);
			mtk_buf_free(&ws[i].der);
		}
	}
	free(sc.seen);
	free(ws);
	free(tids);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Containers */

static mtk_rc scan_container(struct worker *w, const uint8_t *d, size_t n, const mtk_secret *pass,
			     int *found)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo;
	mtk_container_info info;
	mtk_err err = {0};
	int idx = 0;
	mtk_rc rc;

	memset(&lo, 0, sizeof(lo));
	memset(&info, 0, sizeof(info));
	lo.pass = pass;
	/* Fail loudly on a container we cannot open rather than skip it. */
	lo.require_decrypt = true;
	rc = mtk_load_mem(&set, w->path, d, n, &lo, &info, NULL, &err);
	if (rc == MTK_E_NOMEM)
		return rc;
	if (rc != MTK_OK) {
		const char *detail = err.detail[0] ? err.detail : mtk_rc_message(rc);
		size_t pl = strlen(w->path);

		/* The loader's detail starts with the file name; ours names it. */
		if (strncmp(detail, w->path, pl) == 0 && detail[pl] == ':' && detail[pl + 1] == ' ')
			detail += pl + 2;
		rc = exp_add_error(w->sink, w->path, 0, rc, "%s", detail);
		mtk_set_free(&set);
		return rc;
	}
	for (size_t i = 0; rc == MTK_OK && i < set.count; i++) {
		if (set.objs[i].kind != MTK_OBJ_CERT || set.objs[i].cert == NULL)
			continue;
		rc = exp_add_x509(w->sink, set.objs[i].cert, wpath(w), 0, idx++, set.objs[i].alias,
				  MTK_EXP_SRC_CONTAINER);
		(*found)++;
	}
	if (rc == MTK_OK && idx == 0 && info.needs_password)
		rc = exp_add_error(w->sink, w->path, 0, MTK_E_PASSWORD_NEEDED,
				   "%s is password-protected; give the password with --pass",
				   mtk_format_name(info.format));
	mtk_set_free(&set);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Results */

int exp_cmp_cert(const void *a, const void *b)
{
	const mtk_expiry_cert *x = a, *y = b;
	int c;

	if (x->not_after != y->not_after)
		return x->not_after < y->not_after ? -1 : 1;
	if ((c = strcmp(x->path, y->path)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	/* The same place read twice (two operands): any order is the same
	 * output, but keep it total anyway. */
	if ((c = memcmp(x->sha256, y->sha256, sizeof(x->sha256))) != 0)
		return c;
	return strcmp(x->alias ? x->alias : "", y->alias ? y->alias : "");
}

static int cmp_err(const void *a, const void *b)
{
	const mtk_expiry_error *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->code != y->code)
		return x->code < y->code ? -1 : 1;
	return strcmp(x->detail, y->detail);
}

mtk_rc mtk_expiry_finish(mtk_expiry *x)
{
	/* Records merged by an earlier call are kept (the sinks hand theirs
	 * over); errors and counters stay in the sinks and are merged anew. */
	mtk_expiry_cert *old = x->certs;
	size_t nold = x->certs != NULL ? x->ncerts : 0, nc = nold, ne = 0;

	free(x->errs);
	x->certs = NULL;
	x->errs = NULL;
	memset(&x->st, 0, sizeof(x->st));
	for (size_t i = 0; i < x->nsinks; i++) {
		const mtk_expiry_stats *s = &x->sinks[i]->st;

		nc += x->sinks[i]->ncerts;
		ne += x->sinks[i]->nerrs;
		x->st.files += s->files;
		x->st.cert_files += s->cert_files;
		x->st.certs += s->certs;
		x->st.skipped_files += s->skipped_files;
		x->st.skipped_blocks += s->skipped_blocks;
		x->st.slow_path += s->slow_path;
		x->st.dirs += s->dirs;
		x->st.symlinked_dirs_skipped += s->symlinked_dirs_skipped;
		x->st.endpoints += s->endpoints;
		x->st.errors += s->errors;
		/* Runs move to x (their records are counted there). */
		while (x->sinks[i]->runs != NULL) {
			struct exp_run *r = x->sinks[i]->runs;

			x->sinks[i]->runs = r->next;
			r->next = x->runs;
			x->runs = r;
			x->spilled += r->count;
		}
		x->sinks[i]->spilled = 0;
	}
	x->certs = malloc((nc ? nc : 1) * sizeof(*x->certs));
	x->errs = malloc((ne ? ne : 1) * sizeof(*x->errs));
	if (x->certs == NULL || x->errs == NULL) {
		free(x->certs);
		x->certs = old;
		x->ncerts = nold;
		x->finished = false;
		return MTK_E_NOMEM;
	}
	if (nold)
		memcpy(x->certs, old, nold * sizeof(*old));
	free(old);
	x->ncerts = nold;
	x->nerrs = 0;
	for (size_t i = 0; i < x->nsinks; i++) {
		struct exp_sink *s = x->sinks[i];

		if (s->ncerts)
			memcpy(x->certs + x->ncerts, s->certs, s->ncerts * sizeof(*s->certs));
		x->ncerts += s->ncerts;
		/* The records are in x->certs now (their strings stay in the
		 * sink's arena): a million of them need not be held twice. */
		free(x->sinks[i]->certs);
		x->sinks[i]->certs = NULL;
		x->sinks[i]->ncerts = x->sinks[i]->capcerts = 0;
		if (s->nerrs)
			memcpy(x->errs + x->nerrs, s->errs, s->nerrs * sizeof(*s->errs));
		x->nerrs += s->nerrs;
	}
	qsort(x->certs, x->ncerts, sizeof(*x->certs), exp_cmp_cert);
	qsort(x->errs, x->nerrs, sizeof(*x->errs), cmp_err);
	x->finished = true;
	return MTK_OK;
}

size_t mtk_expiry_count(const mtk_expiry *x)
{
	return x->finished ? x->ncerts + x->spilled : 0;
}

const mtk_expiry_cert *mtk_expiry_get(const mtk_expiry *x, size_t i)
{
	return x->finished && x->runs == NULL && i < x->ncerts ? &x->certs[i] : NULL;
}

size_t mtk_expiry_error_count(const mtk_expiry *x)
{
	return x->finished ? x->nerrs : 0;
}

const mtk_expiry_error *mtk_expiry_error_get(const mtk_expiry *x, size_t i)
{
	return x->finished && i < x->nerrs ? &x->errs[i] : NULL;
}

void mtk_expiry_get_stats(const mtk_expiry *x, mtk_expiry_stats *out)
{
	*out = x->st;
}

