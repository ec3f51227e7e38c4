/*
 * javaser.c - just enough of the Java Object Serialization Stream Protocol
 * to find where a JCEKS secret-key entry ends (it has no length prefix) and
 * to pick out a few String / byte[] fields (SealedObject's encodedParams and
 * encryptedContent, SecretKeySpec's algorithm and key).
 *
 * Every read goes through mtk_reader.  Recursion depth, handle count and
 * field counts are bounded, and bounded by the bytes left, so hostile input
 * can neither exhaust the stack nor make us allocate from a length field.
 */
#include <stdlib.h>
#include <string.h>

#include "ks_int.h"

enum {
	TC_NULL = 0x70,
	TC_REFERENCE = 0x71,
	TC_CLASSDESC = 0x72,
	TC_OBJECT = 0x73,
	TC_STRING = 0x74,
	TC_ARRAY = 0x75,
	TC_CLASS = 0x76,
	TC_BLOCKDATA = 0x77,
	TC_ENDBLOCKDATA = 0x78,
	TC_RESET = 0x79,
	TC_BLOCKDATALONG = 0x7A,
	TC_EXCEPTION = 0x7B,
	TC_LONGSTRING = 0x7C,
	TC_PROXYCLASSDESC = 0x7D,
	TC_ENUM = 0x7E,
};

enum {
	SC_WRITE_METHOD = 0x01,
	SC_SERIALIZABLE = 0x02,
	SC_EXTERNALIZABLE = 0x04,
	SC_BLOCK_DATA = 0x08,
};

#define BASE_HANDLE 0x7E0000u
#define MAX_DEPTH   32
#define MAX_HANDLES 4096
#define MAX_FIELDS  256

typedef struct jfield {
	char type;	     /* B C D F I J S Z L [ */
	const uint8_t *name; /* borrowed modified UTF-8 */
	size_t name_len;
} jfield;

typedef struct jclass {
	uint8_t flags;
	const uint8_t *name;
	size_t name_len;
	jfield *fields;
	size_t nfields;
	long super; /* index into classes, -1 for none */
} jclass;

enum hkind { H_CLASS, H_STRING, H_OTHER };

typedef struct jhandle {
	enum hkind kind;
	long cls;	    /* H_CLASS: index into classes */
	const uint8_t *str; /* H_STRING */
	size_t str_len;
} jhandle;

typedef struct jser {
	mtk_reader *r;
	jhandle *handles;
	size_t nhandles;
	jclass *classes;
	size_t nclasses;
	jser_capture *caps;
	size_t ncaps;
} jser;

/* What a content read produced, for field capture. */
typedef struct jval {
	enum { V_NONE, V_STRING, V_BYTES } kind;
	const uint8_t *p;
	size_t len;
} jval;

static mtk_rc read_content(jser *s, int depth, jval *v);

static mtk_rc new_handle(jser *s, enum hkind kind, long cls, const uint8_t *str, size_t len)
{
	jhandle *h;

	if (s->nhandles >= MAX_HANDLES)
		return MTK_E_KEYSTORE;
	if ((s->nhandles % 64) == 0) {
		h = realloc(s->handles, (s->nhandles + 64) * sizeof(*h));
		if (h == NULL)
			return MTK_E_NOMEM;
		s->handles = h;
	}
	h = &s->handles[s->nhandles++];
	h->kind = kind;
	h->cls = cls;
	h->str = str;
	h->str_len = len;
	return MTK_OK;
}

static mtk_rc get_handle(jser *s, jhandle **out)
{
	uint32_t h;
	mtk_rc rc = mtk_reader_u32be(s->r, &h);

	if (rc != MTK_OK)
		return rc;
	if (h < BASE_HANDLE || h - BASE_HANDLE >= s->nhandles)
		return MTK_E_KEYSTORE;
	*out = &s->handles[h - BASE_HANDLE];
	return MTK_OK;
}

static mtk_rc read_utf(jser *s, const uint8_t **p, size_t *len)
{
	uint16_t n;
	mtk_rc rc = mtk_reader_u16be(s->r, &n);

	if (rc != MTK_OK)
		return rc;
	*len = n;
	return mtk_reader_bytes(s->r, n, p);
}

static void capture(jser *s, const uint8_t *name, size_t name_len, const jval *v)
{
	if (v->kind == V_NONE)
		return;
	for (size_t i = 0; i < s->ncaps; i++) {
		jser_capture *c = &s->caps[i];
		if (!c->found && strlen(c->name) == name_len &&
		    memcmp(c->name, name, name_len) == 0) {
			c->found = true;
			c->p = v->p;
			c->len = v->len;
		}
	}
}

/* Reads blockdata and objects up to TC_ENDBLOCKDATA (class and object
 * annotations). */
static mtk_rc skip_annotation(jser *s, int depth)
{
	for (;;) {
		uint8_t tc;
		mtk_rc rc = mtk_reader_peek_u8(s->r, &tc);
		jval v = {V_NONE, NULL, 0};

		if (rc != MTK_OK)
			return rc;
		if (tc == TC_ENDBLOCKDATA)
			return mtk_reader_skip(s->r, 1);
		if ((rc = read_content(s, depth + 1, &v)) != MTK_OK)
			return rc;
	}
}

/* classDesc: TC_CLASSDESC ... | TC_PROXYCLASSDESC ... | TC_NULL | TC_REFERENCE.
 * *cls = index into s->classes, or -1 for null. */
static mtk_rc read_classdesc(jser *s, int depth, long *cls)
{
	uint8_t tc;
	mtk_rc rc;

	if (depth > MAX_DEPTH)
		return MTK_E_KEYSTORE;
	if ((rc = mtk_reader_u8(s->r, &tc)) != MTK_OK)
		return rc;
	switch (tc) {
	case TC_NULL:
		*cls = -1;
		return MTK_OK;
	case TC_REFERENCE: {
		jhandle *h;
		if ((rc = get_handle(s, &h)) != MTK_OK)
			return rc;
		if (h->kind != H_CLASS)
			return MTK_E_KEYSTORE;
		*cls = h->cls;
		return MTK_OK;
	}
	case TC_CLASSDESC: {
		jclass c = {0};
		uint16_t nf;
		long idx;

		if ((rc = read_utf(s, &c.name, &c.name_len)) != MTK_OK ||
		    (rc = mtk_reader_skip(s->r, 8)) != MTK_OK) /* serialVersionUID */
			return rc;
		if (s->nclasses >= MAX_HANDLES)
			return MTK_E_KEYSTORE;
		if ((s->nclasses % 16) == 0) {
			jclass *p = realloc(s->classes, (s->nclasses + 16) * sizeof(*p));
			if (p == NULL)
				return MTK_E_NOMEM;
			s->classes = p;
		}
		idx = (long)s->nclasses++;
		s->classes[idx] = c;
		s->classes[idx].super = -1;
		if ((rc = new_handle(s, H_CLASS, idx, NULL, 0)) != MTK_OK)
			return rc;
		if ((rc = mtk_reader_u8(s->r, &s->classes[idx].flags)) != MTK_OK ||
		    (rc = mtk_reader_u16be(s->r, &nf)) != MTK_OK)
			return rc;
		/* Each field takes at least 3 bytes. */
		if (nf > MAX_FIELDS || (size_t)nf * 3 > mtk_reader_left(s->r))
			return MTK_E_KEYSTORE;
		if (nf > 0) {
			s->classes[idx].fields = calloc(nf, sizeof(jfield));
			if (s->classes[idx].fields == NULL)
				return MTK_E_NOMEM;
		}
		for (uint16_t i = 0; i < nf; i++) {
			jfield *f = &s->classes[idx].fields[i];
			uint8_t t;

			if ((rc = mtk_reader_u8(s->r, &t)) != MTK_OK ||
			    (rc = read_utf(s, &f->name, &f->name_len)) != MTK_OK)
				return rc;
			if (strchr("BCDFIJSZL[", (char)t) == NULL || t == 0)
				return MTK_E_KEYSTORE;
			f->type = (char)t;
			s->classes[idx].nfields = (size_t)i + 1;
			if (t == 'L' || t == '[') {
				/* className1: a String object (TC_STRING or reference). */
				jval v = {V_NONE, NULL, 0};
				uint8_t sc;
				if ((rc = mtk_reader_peek_u8(s->r, &sc)) != MTK_OK)
					return rc;
				if (sc != TC_STRING && sc != TC_LONGSTRING && sc != TC_REFERENCE)
					return MTK_E_KEYSTORE;
				if ((rc = read_content(s, depth + 1, &v)) != MTK_OK)
					return rc;
				if (v.kind != V_STRING)
					return MTK_E_KEYSTORE;
			}
		}
		if ((rc = skip_annotation(s, depth)) != MTK_OK)
			return rc;
		{
			long sup;
			if ((rc = read_classdesc(s, depth + 1, &sup)) != MTK_OK)
				return rc;
			s->classes[idx].super = sup;
		}
		*cls = idx;
		return MTK_OK;
	}
	case TC_PROXYCLASSDESC: {
		uint32_t n;
		long idx;
		if (s->nclasses >= MAX_HANDLES)
			return MTK_E_KEYSTORE;
		if ((s->nclasses % 16) == 0) {
			jclass *p = realloc(s->classes, (s->nclasses + 16) * sizeof(*p));
			if (p == NULL)
				return MTK_E_NOMEM;
			s->classes = p;
		}
		idx = (long)s->nclasses++;
		memset(&s->classes[idx], 0, sizeof(jclass));
		s->classes[idx].super = -1;
		s->classes[idx].flags = SC_SERIALIZABLE;
		if ((rc = new_handle(s, H_CLASS, idx, NULL, 0)) != MTK_OK ||
		    (rc = mtk_reader_u32be(s->r, &n)) != MTK_OK)
			return rc;
		if ((size_t)n * 2 > mtk_reader_left(s->r))
			return MTK_E_KEYSTORE;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *p;
			size_t l;
			if ((rc = read_utf(s, &p, &l)) != MTK_OK)
				return rc;
		}
		if ((rc = skip_annotation(s, depth)) != MTK_OK)
			return rc;
		{
			long sup;
			if ((rc = read_classdesc(s, depth + 1, &sup)) != MTK_OK)
				return rc;
			s->classes[idx].super = sup;
		}
		*cls = idx;
		return MTK_OK;
	}
	default:
		return MTK_E_KEYSTORE;
	}
}

static size_t prim_size(char t)
{
	switch (t) {
	case 'B':
	case 'Z':
		return 1;
	case 'C':
	case 'S':
		return 2;
	case 'I':
	case 'F':
		return 4;
	case 'J':
	case 'D':
		return 8;
	default:
		return 0;
	}
}

/* Field values of one class of an object's hierarchy. */
static mtk_rc read_class_data(jser *s, long cls, int depth)
{
	/* Copy what we need: s->classes may move while nested reads add classes. */
	uint8_t flags = s->classes[cls].flags;
	size_t nf = s->classes[cls].nfields;
	mtk_rc rc;

	if ((flags & SC_EXTERNALIZABLE) != 0) {
		/* Only the block-data form can be skipped without the class. */
		if ((flags & SC_BLOCK_DATA) == 0)
			return MTK_E_KEYSTORE;
		return skip_annotation(s, depth);
	}
	if ((flags & SC_SERIALIZABLE) == 0)
		return MTK_OK;
	for (size_t i = 0; i < nf; i++) {
		jfield f = s->classes[cls].fields[i];
		if (f.type == 'L' || f.type == '[') {
			jval v = {V_NONE, NULL, 0};
			if ((rc = read_content(s, depth + 1, &v)) != MTK_OK)
				return rc;
			capture(s, f.name, f.name_len, &v);
		} else if ((rc = mtk_reader_skip(s->r, prim_size(f.type))) != MTK_OK) {
			return rc;
		}
	}
	if ((flags & SC_WRITE_METHOD) != 0)
		return skip_annotation(s, depth);
	return MTK_OK;
}

static mtk_rc read_object_data(jser *s, long cls, int depth)
{
	long chain[MAX_DEPTH];
	size_t n = 0;
	mtk_rc rc;

	/* Superclass first. */
	for (long c = cls; c >= 0; c = s->classes[c].super) {
		if (n >= MAX_DEPTH)
			return MTK_E_KEYSTORE;
		chain[n++] = c;
	}
	while (n-- > 0) {
		if ((rc = read_class_data(s, chain[n], depth)) != MTK_OK)
			return rc;
	}
	return MTK_OK;
}

static mtk_rc read_content(jser *s, int depth, jval *v)
{
	uint8_t tc;
	mtk_rc rc;

	if (depth > MAX_DEPTH)
		return MTK_E_KEYSTORE;
	if ((rc = mtk_reader_peek_u8(s->r, &tc)) != MTK_OK)
		return rc;
	switch (tc) {
	case TC_NULL:
		return mtk_reader_skip(s->r, 1);
	case TC_REFERENCE: {
		jhandle *h;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK || (rc = get_handle(s, &h)) != MTK_OK)
			return rc;
		if (h->kind == H_STRING) {
			v->kind = V_STRING;
			v->p = h->str;
			v->len = h->str_len;
		}
		return MTK_OK;
	}
	case TC_STRING:
	case TC_LONGSTRING: {
		const uint8_t *p;
		size_t len;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK)
			return rc;
		if (tc == TC_STRING) {
			if ((rc = read_utf(s, &p, &len)) != MTK_OK)
				return rc;
		} else {
			uint64_t l;
			if ((rc = mtk_reader_u64be(s->r, &l)) != MTK_OK)
				return rc;
			if (l > mtk_reader_left(s->r))
				return MTK_E_TRUNCATED;
			len = (size_t)l;
			if ((rc = mtk_reader_bytes(s->r, len, &p)) != MTK_OK)
				return rc;
		}
		v->kind = V_STRING;
		v->p = p;
		v->len = len;
		return new_handle(s, H_STRING, -1, p, len);
	}
	case TC_CLASSDESC:
	case TC_PROXYCLASSDESC: {
		long cls;
		return read_classdesc(s, depth, &cls);
	}
	case TC_CLASS: {
		long cls;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK ||
		    (rc = read_classdesc(s, depth + 1, &cls)) != MTK_OK)
			return rc;
		return new_handle(s, H_OTHER, -1, NULL, 0);
	}
	case TC_OBJECT: {
		long cls;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK ||
		    (rc = read_classdesc(s, depth + 1, &cls)) != MTK_OK)
			return rc;
		if (cls < 0)
			return MTK_E_KEYSTORE;
		if ((rc = new_handle(s, H_OTHER, -1, NULL, 0)) != MTK_OK)
			return rc;
		return read_object_data(s, cls, depth + 1);
	}
	case TC_ENUM: {
		long cls;
		jval name = {V_NONE, NULL, 0};
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK ||
		    (rc = read_classdesc(s, depth + 1, &cls)) != MTK_OK)
			return rc;
		if ((rc = new_handle(s, H_OTHER, -1, NULL, 0)) != MTK_OK ||
		    (rc = read_content(s, depth + 1, &name)) != MTK_OK)
			return rc;
		return name.kind == V_STRING ? MTK_OK : MTK_E_KEYSTORE;
	}
	case TC_ARRAY: {
		long cls;
		uint32_t n;
		char et;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK ||
		    (rc = read_classdesc(s, depth + 1, &cls)) != MTK_OK)
			return rc;
		if (cls < 0 || s->classes[cls].name_len < 2 || s->classes[cls].name[0] != '[')
			return MTK_E_KEYSTORE;
		et = (char)s->classes[cls].name[1];
		if ((rc = new_handle(s, H_OTHER, -1, NULL, 0)) != MTK_OK ||
		    (rc = mtk_reader_u32be(s->r, &n)) != MTK_OK)
			return rc;
		if (n > 0x7FFFFFFFu)
			return MTK_E_KEYSTORE;
		if (et == 'L' || et == '[') {
			/* Each element takes at least one byte. */
			if (n > mtk_reader_left(s->r))
				return MTK_E_TRUNCATED;
			for (uint32_t i = 0; i < n; i++) {
				jval ev = {V_NONE, NULL, 0};
				if ((rc = read_content(s, depth + 1, &ev)) != MTK_OK)
					return rc;
			}
			return MTK_OK;
		} else {
			size_t es = prim_size(et);
			const uint8_t *p;
			if (es == 0)
				return MTK_E_KEYSTORE;
			if (n > mtk_reader_left(s->r) / es)
				return MTK_E_TRUNCATED;
			if ((rc = mtk_reader_bytes(s->r, (size_t)n * es, &p)) != MTK_OK)
				return rc;
			if (et == 'B') {
				v->kind = V_BYTES;
				v->p = p;
				v->len = n;
			}
			return MTK_OK;
		}
	}
	case TC_BLOCKDATA: {
		uint8_t n;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK ||
		    (rc = mtk_reader_u8(s->r, &n)) != MTK_OK)
			return rc;
		return mtk_reader_skip(s->r, n);
	}
	case TC_BLOCKDATALONG: {
		uint32_t n;
		if ((rc = mtk_reader_skip(s->r, 1)) != MTK_OK ||
		    (rc = mtk_reader_u32be(s->r, &n)) != MTK_OK)
			return rc;
		return mtk_reader_skip(s->r, n);
	}
	default:
		/* TC_RESET, TC_EXCEPTION and unknown codes: not in a keystore. */
		return MTK_E_KEYSTORE;
	}
}

mtk_rc mtk_jser_read(mtk_reader *r, jser_capture *caps, size_t ncaps)
{
	jser s = {r, NULL, 0, NULL, 0, caps, ncaps};
	uint16_t magic, version;
	jval v = {V_NONE, NULL, 0};
	mtk_rc rc;

	if ((rc = mtk_reader_u16be(r, &magic)) != MTK_OK ||
	    (rc = mtk_reader_u16be(r, &version)) != MTK_OK)
		goto out;
	if (magic != 0xACED || version != 5) {
		rc = MTK_E_KEYSTORE;
		goto out;
	}
	rc = read_content(&s, 0, &v);
out:
	for (size_t i = 0; i < s.nclasses; i++)
		free(s.classes[i].fields);
	free(s.classes);
	free(s.handles);
	return rc;
}
