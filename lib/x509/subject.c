/*
 * subject.c - subject attributes, SANs and their validation (csr.h).
 */
#include "mtlskit/csr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

/* ISO 3166-1 alpha-2, the 249 officially assigned codes (sorted for
 * bsearch).  Exceptionally reserved codes (UK, EU, ...) are not here: a CA
 * or the instance may reject them. */
static const char iso3166[][3] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
	"BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
	"BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
	"CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
	"EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
	"GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
	"HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
	"JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
	"LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
	"ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
	"NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
	"PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
	"SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
	"ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
	"TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
	"VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

static int code_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

bool mtk_country_code_valid(const char *code)
{
	if (code == NULL || strlen(code) != 2 || !isupper((unsigned char)code[0]) ||
	    !isupper((unsigned char)code[1]))
		return false;
	return bsearch(code, iso3166, sizeof(iso3166) / sizeof(iso3166[0]), sizeof(iso3166[0]),
		       code_cmp) != NULL;
}

static const struct {
	const char *name;
	size_t max; /* RFC 5280 Appendix A upper bounds */
	int nid;
} fields[MTK_SUBJ__COUNT] = {
	[MTK_SUBJ_C] = {"C", 2, NID_countryName},
	[MTK_SUBJ_ST] = {"ST", 128, NID_stateOrProvinceName},
	[MTK_SUBJ_L] = {"L", 128, NID_localityName},
	[MTK_SUBJ_O] = {"O", 64, NID_organizationName},
	[MTK_SUBJ_OU] = {"OU", 64, NID_organizationalUnitName},
	[MTK_SUBJ_CN] = {"CN", 64, NID_commonName},
	[MTK_SUBJ_EMAIL] = {"emailAddress", 255, NID_pkcs9_emailAddress},
};

const char *mtk_subj_field_name(mtk_subj_field f)
{
	return (unsigned)f < MTK_SUBJ__COUNT ? fields[f].name : "?";
}

size_t mtk_subj_field_max(mtk_subj_field f)
{
	return (unsigned)f < MTK_SUBJ__COUNT ? fields[f].max : 0;
}

mtk_rc mtk_subject_add(mtk_subject *s, mtk_subj_field f, const char *value, mtk_err *err)
{
	char *v;

	if ((unsigned)f >= MTK_SUBJ__COUNT || value == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "subject attribute");
	if (s->count == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		mtk_subj_entry *n = realloc(s->items, ncap * sizeof(*n));
		if (n == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "subject");
		s->items = n;
		s->cap = ncap;
	}
	v = strdup(value);
	if (v == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "subject");
	s->items[s->count].field = f;
	s->items[s->count].value = v;
	s->count++;
	return MTK_OK;
}

void mtk_subject_free(mtk_subject *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		free(s->items[i].value);
	free(s->items);
	s->items = NULL;
	s->count = s->cap = 0;
}

const char *mtk_subject_get(const mtk_subject *s, mtk_subj_field f)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->items[i].field == f)
			return s->items[i].value;
	return NULL;
}

static bool field_by_name(const char *n, mtk_subj_field *out)
{
	static const struct {
		const char *n;
		mtk_subj_field f;
	} names[] = {
		{"C", MTK_SUBJ_C},	      {"ST", MTK_SUBJ_ST},	   {"S", MTK_SUBJ_ST},
		{"L", MTK_SUBJ_L},	      {"O", MTK_SUBJ_O},	   {"OU", MTK_SUBJ_OU},
		{"CN", MTK_SUBJ_CN},	      {"emailAddress", MTK_SUBJ_EMAIL}, {"E", MTK_SUBJ_EMAIL},
		{"email", MTK_SUBJ_EMAIL},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(n, names[i].n) == 0) {
			*out = names[i].f;
			return true;
		}
	}
	return false;
}

/*
 * The one-line form is read byte by byte through mtk_reader: it comes from
 * the command line or a script and may be anything.
 */
static void trim_spaces(mtk_buf *b)
{
	size_t start = 0;

	while (b->len > 0 && b->data[b->len - 1] == ' ')
		b->len--;
	while (start < b->len && b->data[start] == ' ')
		start++;
	if (start > 0) {
		memmove(b->data, b->data + start, b->len - start);
		b->len -= start;
	}
}

mtk_rc mtk_subject_parse(mtk_subject *s, const char *text, size_t len, mtk_err *err)
{
	mtk_subject tmp = MTK_SUBJECT_INIT;
	mtk_buf name = MTK_BUF_INIT, val = MTK_BUF_INIT;
	mtk_reader r;
	uint8_t ch, sep;
	mtk_rc rc = MTK_OK;

	/* Two forms: OpenSSL's "/CN=a/O=b" (in the order given) and the
	 * RFC 4514 / keytool -dname "CN=a, O=b" (most specific first, so read
	 * backwards). */
	mtk_reader_init(&r, (const uint8_t *)text, len);
	if (len > 0 && text[0] == '/') {
		sep = '/';
		if (mtk_reader_u8(&r, &ch) != MTK_OK)
			goto out;
	} else {
		sep = ',';
	}
	if (mtk_reader_eof(&r)) {
		rc = mtk_err_set(err, MTK_E_INVALID_ARG,
				 "--subject must look like /CN=host.example.com/O=Example Corp/C=US "
				 "or CN=host.example.com,O=Example Corp,C=US");
		goto out;
	}
	while (!mtk_reader_eof(&r)) {
		mtk_subj_field f;
		bool have_eq = false;

		name.len = val.len = 0;
		/* name up to '=' */
		while (mtk_reader_u8(&r, &ch) == MTK_OK) {
			if (ch == '=') {
				have_eq = true;
				break;
			}
			if (ch == sep || ch == '\0' || name.len >= 32) {
				break;
			}
			if ((rc = mtk_buf_append_u8(&name, ch)) != MTK_OK)
				goto nomem;
		}
		if (sep == ',')
			trim_spaces(&name);
		if ((rc = mtk_buf_append_u8(&name, 0)) != MTK_OK)
			goto nomem;
		if (!have_eq) {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG,
					 "--subject: attribute '%s' has no '=value'", (char *)name.data);
			goto out;
		}
		if (!field_by_name((char *)name.data, &f)) {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG,
					 "--subject: unknown attribute '%s' (use C, ST, L, O, OU, CN, emailAddress)",
					 (char *)name.data);
			goto out;
		}
		/* value up to an unescaped separator */
		while (mtk_reader_u8(&r, &ch) == MTK_OK) {
			if (ch == sep)
				break;
			if (ch == '\0') {
				rc = mtk_err_set(err, MTK_E_INVALID_ARG, "--subject: NUL byte in a value");
				goto out;
			}
			if (ch == '\\') {
				if (mtk_reader_u8(&r, &ch) != MTK_OK) {
					rc = mtk_err_set(err, MTK_E_INVALID_ARG,
							 "--subject: a backslash at the end escapes nothing");
					goto out;
				}
				if (ch == '\0') {
					rc = mtk_err_set(err, MTK_E_INVALID_ARG, "--subject: NUL byte in a value");
					goto out;
				}
			}
			if ((rc = mtk_buf_append_u8(&val, ch)) != MTK_OK)
				goto nomem;
		}
		if (sep == ',')
			trim_spaces(&val);
		if ((rc = mtk_buf_append_u8(&val, 0)) != MTK_OK)
			goto nomem;
		if ((rc = mtk_subject_add(&tmp, f, (char *)val.data, err)) != MTK_OK)
			goto out;
	}
	/* success: move tmp's entries to s (the comma form backwards) */
	for (size_t k = 0; k < tmp.count; k++) {
		size_t i = sep == ',' ? tmp.count - 1 - k : k;

		if ((rc = mtk_subject_add(s, tmp.items[i].field, tmp.items[i].value, err)) != MTK_OK) {
			/* roll s back */
			size_t keep = s->count - k;
			for (size_t j = keep; j < s->count; j++)
				free(s->items[j].value);
			s->count = keep;
			goto out;
		}
	}
	goto out;
nomem:
	rc = mtk_err_set(err, MTK_E_NOMEM, "--subject");
out:
	mtk_subject_free(&tmp);
	mtk_buf_free(&name);
	mtk_buf_free(&val);
	return rc;
}

mtk_rc mtk_subject_from_name(mtk_subject *s, const X509_NAME *name, mtk_err *err)
{
	int n = X509_NAME_entry_count(name);

	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		unsigned char *u = NULL;
		int ulen;
		mtk_rc rc;

		for (int f = 0; f < MTK_SUBJ__COUNT; f++) {
			if (fields[f].nid != nid)
				continue;
			ulen = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
			if (ulen < 0)
				return mtk_err_set(err, MTK_E_DER, "subject attribute %s", fields[f].name);
			/* an embedded NUL would hide the rest of the value */
			if (memchr(u, 0, (size_t)ulen) != NULL) {
				OPENSSL_free(u);
				return mtk_err_set(err, MTK_E_MALFORMED, "NUL byte in subject %s",
						   fields[f].name);
			}
			rc = mtk_subject_add(s, (mtk_subj_field)f, (char *)u, err);
			OPENSSL_free(u);
			if (rc != MTK_OK)
				return rc;
			break;
		}
	}
	return MTK_OK;
}

mtk_rc mtk_subject_to_name(const mtk_subject *s, X509_NAME **out, mtk_err *err)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "subject");
	for (size_t i = 0; i < s->count; i++) {
		const mtk_subj_entry *e = &s->items[i];
		/* countryName and emailAddress are PrintableString / IA5String by
		 * definition; the rest UTF8String (RFC 5280 4.1.2.4). */
		int type = e->field == MTK_SUBJ_C ? V_ASN1_PRINTABLESTRING
			   : e->field == MTK_SUBJ_EMAIL ? V_ASN1_IA5STRING
							 : MBSTRING_UTF8;
		if (X509_NAME_add_entry_by_NID(n, fields[e->field].nid, type,
					       (const unsigned char *)e->value, -1, -1, 0) != 1) {
			X509_NAME_free(n);
			return mtk_err_set(err, MTK_E_INVALID_ARG, "subject %s '%s' cannot be encoded",
					   fields[e->field].name, e->value);
		}
	}
	*out = n;
	return MTK_OK;
}

/* --- host names --- */

bool mtk_fqdn_valid(const char *name, bool wildcard)
{
	size_t len = name ? strlen(name) : 0, label = 0, labels = 0;
	const char *p = name, *last = NULL;
	bool all_digits_tld = true;

	if (len == 0 || len > 253)
		return false;
	if (wildcard && strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0')
		return false;
	for (const char *q = p;; q++) {
		if (*q == '.' || *q == '\0') {
			if (label == 0 || label > 63 || q[-1] == '-')
				return false;
			labels++;
			if (*q == '\0')
				break;
			label = 0;
			last = q + 1;
			continue;
		}
		if (!(isalnum((unsigned char)*q) || *q == '-'))
			return false;
		if (label == 0 && *q == '-')
			return false;
		label++;
	}
	if (labels < 2 || last == NULL)
		return false;
	for (const char *q = last; *q; q++)
		if (!isdigit((unsigned char)*q))
			all_digits_tld = false;
	return !all_digits_tld;
}

static bool ends_with_domain(const char *name, const char *dom)
{
	size_t n = strlen(name), d = strlen(dom);

	if (n == d)
		return strcasecmp(name, dom) == 0;
	return n > d && name[n - d - 1] == '.' && strcasecmp(name + n - d, dom) == 0;
}

bool mtk_servicenow_domain(const char *name)
{
	char tmp[256];
	size_t n;

	if (name == NULL)
		return false;
	/* a trailing root dot is the same name */
	n = strlen(name);
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, name, n + 1);
	if (tmp[n - 1] == '.')
		tmp[n - 1] = '\0';
	return ends_with_domain(tmp, "service-now.com") || ends_with_domain(tmp, "servicenow.com");
}

/* --- SANs --- */

void mtk_sans_free(mtk_sans *sans)
{
	if (sans == NULL)
		return;
	for (size_t i = 0; i < sans->count; i++)
		free(sans->items[i]);
	free(sans->items);
	sans->items = NULL;
	sans->count = sans->cap = 0;
}

static mtk_rc sans_push(mtk_sans *sans, const char *type, const char *val, size_t vlen)
{
	char *s;
	size_t tl = strlen(type);

	if (sans->count == sans->cap) {
		size_t ncap = sans->cap ? sans->cap * 2 : 8;
		char **n = realloc(sans->items, ncap * sizeof(*n));
		if (n == NULL)
			return MTK_E_NOMEM;
		sans->items = n;
		sans->cap = ncap;
	}
	s = malloc(tl + 1 + vlen + 1);
	if (s == NULL)
		return MTK_E_NOMEM;
	memcpy(s, type, tl);
	s[tl] = ':';
	memcpy(s + tl + 1, val, vlen);
	s[tl + 1 + vlen] = '\0';
	sans->items[sans->count++] = s;
	return MTK_OK;
}

static const char *san_type(const char *t, size_t n)
{
	static const char *const types[] = {"DNS", "IP", "email", "URI"};

	for (size_t i = 0; i < 4; i++)
		if (strlen(types[i]) == n && strncasecmp(t, types[i], n) == 0)
			return types[i];
	return NULL;
}

mtk_rc mtk_sans_parse(mtk_sans *sans, const char *spec, mtk_err *err)
{
	size_t start = sans->count;
	const char *p = spec;
	mtk_rc rc = MTK_OK;

	if (spec == NULL || *spec == '\0')
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--san: empty");
	while (*p) {
		const char *end = strchr(p, ',');
		const char *colon;
		const char *type;
		size_t n = end ? (size_t)(end - p) : strlen(p);

		colon = memchr(p, ':', n);
		if (colon == NULL || (type = san_type(p, (size_t)(colon - p))) == NULL) {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG,
					 "--san: '%.*s' needs a type: DNS:, IP:, email: or URI:", (int)n, p);
			goto fail;
		}
		if ((size_t)(colon - p) + 1 == n) {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG, "--san: '%.*s' has no value", (int)n, p);
			goto fail;
		}
		if (strcmp(type, "IP") == 0) {
			char ip[64];
			size_t vl = n - (size_t)(colon - p) - 1;
			ASN1_OCTET_STRING *o;

			if (vl >= sizeof(ip)) {
				rc = mtk_err_set(err, MTK_E_INVALID_ARG, "--san: IP address too long");
				goto fail;
			}
			memcpy(ip, colon + 1, vl);
			ip[vl] = '\0';
			o = a2i_IPADDRESS(ip);
			if (o == NULL) {
				rc = mtk_err_set(err, MTK_E_INVALID_ARG, "--san: '%s' is not an IP address", ip);
				goto fail;
			}
			ASN1_OCTET_STRING_free(o);
		}
		if (sans_push(sans, type, colon + 1, n - (size_t)(colon - p) - 1) != MTK_OK) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "--san");
			goto fail;
		}
		if (end == NULL)
			break;
		p = end + 1;
		if (*p == '\0') {
			rc = mtk_err_set(err, MTK_E_INVALID_ARG, "--san: trailing comma");
			goto fail;
		}
	}
	return MTK_OK;
fail:
	while (sans->count > start)
		free(sans->items[--sans->count]);
	return rc;
}

mtk_rc mtk_sans_from_names(mtk_sans *sans, const GENERAL_NAMES *gens, mtk_err *err)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s = NULL;
		const char *type = NULL;
		char ipbuf[64];
		mtk_rc rc;

		switch (g->type) {
		case GEN_DNS:
			type = "DNS";
			s = g->d.dNSName;
			break;
		case GEN_EMAIL:
			type = "email";
			s = g->d.rfc822Name;
			break;
		case GEN_URI:
			type = "URI";
			s = g->d.uniformResourceIdentifier;
			break;
		case GEN_IPADD: {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			int l = ASN1_STRING_length(g->d.iPAddress);
			if (l == 4) {
				snprintf(ipbuf, sizeof(ipbuf), "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
			} else if (l == 16) {
				size_t o = 0;
				for (int k = 0; k < 16; k += 2)
					o += (size_t)snprintf(ipbuf + o, sizeof(ipbuf) - o, "%s%x",
							      k ? ":" : "", (unsigned)(d[k] << 8 | d[k + 1]));
			} else {
				continue;
			}
			rc = sans_push(sans, "IP", ipbuf, strlen(ipbuf));
			if (rc != MTK_OK)
				return mtk_err_set(err, rc, "SAN");
			continue;
		}
		default:
			continue;
		}
		if (memchr(ASN1_STRING_get0_data(s), 0, (size_t)ASN1_STRING_length(s)) != NULL)
			return mtk_err_set(err, MTK_E_MALFORMED, "NUL byte in a %s SAN", type);
		rc = sans_push(sans, type, (const char *)ASN1_STRING_get0_data(s),
			       (size_t)ASN1_STRING_length(s));
		if (rc != MTK_OK)
			return mtk_err_set(err, rc, "SAN");
	}
	return MTK_OK;
}

mtk_rc mtk_usage_parse(const char *s, mtk_usage *out, mtk_err *err)
{
	if (s && strcmp(s, "client") == 0)
		*out = MTK_USAGE_CLIENT;
	else if (s && strcmp(s, "server") == 0)
		*out = MTK_USAGE_SERVER;
	else if (s && strcmp(s, "both") == 0)
		*out = MTK_USAGE_BOTH;
	else
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--usage must be client, server or both");
	return MTK_OK;
}

/* --- validation --- */

/* Characters of a UTF-8 string, or -1 when it is not valid UTF-8. */
static long utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p) {
		int extra;
		if (*p < 0x80)
			extra = 0;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			extra = 1;
		else if ((*p & 0xf0) == 0xe0)
			extra = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			extra = 3;
		else
			return -1;
		p++;
		for (int i = 0; i < extra; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return -1;
		n++;
	}
	return n;
}

/* "CA", "NY", "NSW", "Calif.", "St. Louis": the articles ask for the full
 * name of state and locality. */
static bool looks_abbreviated(const char *v)
{
	size_t n = strlen(v);
	bool all_upper = n >= 2 && n <= 3;

	for (size_t i = 0; all_upper && i < n; i++)
		if (!isupper((unsigned char)v[i]))
			all_upper = false;
	if (all_upper)
		return true;
	/* a word that ends in a dot: "St.", "Mt.", "Calif." */
	for (size_t i = 1; i < n; i++)
		if (v[i] == '.' && isalpha((unsigned char)v[i - 1]) &&
		    (i + 1 == n || v[i + 1] == ' '))
			return true;
	return false;
}

#define ADD(sev, id, fix, ...)                                                              \
	do {                                                                                   \
		if (mtk_findings_add(fs, id, sev, file, 0, where, fix, __VA_ARGS__) != MTK_OK) \
			return MTK_E_NOMEM;                                                    \
	} while (0)

static mtk_rc check_country(const char *v, const char *file, const char *where, mtk_findings *fs)
{
	char up[4] = "";
	bool lower_ok = false;

	if (strlen(v) == 2) {
		up[0] = (char)toupper((unsigned char)v[0]);
		up[1] = (char)toupper((unsigned char)v[1]);
		up[2] = '\0';
		lower_ok = mtk_country_code_valid(up);
	}
	if (lower_ok)
		ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
		    "country '%s' must be upper case: use --country %s", v, up);
	else if (strcasecmp(v, "UK") == 0)
		ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
		    "country 'UK' is not an ISO 3166-1 code; the United Kingdom is GB: use --country GB");
	else if (strcasecmp(v, "USA") == 0)
		ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
		    "country 'USA' is not a two-letter ISO 3166-1 code: use --country US");
	else
		ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
		    "country '%s' is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. US, GB, DE)",
		    v);
	return MTK_OK;
}

mtk_rc mtk_csr_validate(const mtk_subject *s, const mtk_sans *sans, mtk_usage usage,
			const char *file, mtk_findings *fs)
{
	const char *cn = mtk_subject_get(s, MTK_SUBJ_CN);
	const char *where = "subject";
	bool fqdn = false;
	size_t ndns = 0;

	if (cn == NULL && (sans == NULL || sans->count == 0))
		ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
		    "the subject has no CN and there is no SAN: give --cn with the host name you own");
	for (size_t i = 0; i < s->count; i++) {
		const mtk_subj_entry *e = &s->items[i];
		const char *name = fields[e->field].name;
		long chars = utf8_chars(e->value);

		if (e->value[0] == '\0') {
			ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
			    "%s is empty: leave it out or give a value", name);
			continue;
		}
		if (chars < 0) {
			ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL, "%s is not valid UTF-8", name);
			continue;
		}
		if (e->field == MTK_SUBJ_C) {
			if (!mtk_country_code_valid(e->value) &&
			    check_country(e->value, file, where, fs) != MTK_OK)
				return MTK_E_NOMEM;
			continue;
		}
		if ((size_t)chars > fields[e->field].max)
			ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
			    "%s is %ld characters long; RFC 5280 allows at most %zu", name, chars,
			    fields[e->field].max);
		if ((e->field == MTK_SUBJ_ST || e->field == MTK_SUBJ_L) && looks_abbreviated(e->value))
			ADD(MTK_SEV_WARNING, MTK_F_SUBJECT_INVALID, NULL,
			    "%s '%s' looks abbreviated; CAs ask for the full name (e.g. California, not CA)",
			    e->field == MTK_SUBJ_ST ? "state (ST)" : "locality (L)", e->value);
		if (e->field == MTK_SUBJ_EMAIL) {
			const char *at = strrchr(e->value, '@');
			if (at == NULL || at == e->value || at[1] == '\0')
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
				    "emailAddress '%s' is not an e-mail address", e->value);
			else if (mtk_servicenow_domain(at + 1))
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_SERVICENOW_DOMAIN, NULL,
				    "emailAddress '%s' is on ServiceNow's domain; use an address of your organisation",
				    e->value);
		}
		if (e->field == MTK_SUBJ_CN) {
			if (mtk_servicenow_domain(e->value))
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_SERVICENOW_DOMAIN, NULL,
				    "CN '%s' is on ServiceNow's domain; the certificate must be for a domain your organisation owns (e.g. mid01.example.com)",
				    e->value);
			if (mtk_fqdn_valid(e->value, true))
				fqdn = true;
			else if (usage != MTK_USAGE_NONE)
				ADD(MTK_SEV_WARNING, MTK_F_SUBJECT_INVALID, NULL,
				    "CN '%s' is not a fully qualified host name; the articles use the host's FQDN (e.g. mid01.example.com)",
				    e->value);
		}
	}
	where = "subjectAltName";
	for (size_t i = 0; sans != NULL && i < sans->count; i++) {
		const char *v = strchr(sans->items[i], ':') + 1;

		if (strncmp(sans->items[i], "DNS:", 4) == 0) {
			ndns++;
			if (!mtk_fqdn_valid(v, true) && strcasecmp(v, "localhost") != 0)
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
				    "SAN DNS:%s is not a valid host name", v);
			else if (strcasecmp(v, "localhost") != 0)
				fqdn = true;
			if (mtk_servicenow_domain(v))
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_SERVICENOW_DOMAIN, NULL,
				    "SAN DNS:%s is on ServiceNow's domain; the certificate must be for a domain your organisation owns",
				    v);
		} else if (strncmp(sans->items[i], "email:", 6) == 0) {
			const char *at = strrchr(v, '@');
			if (at == NULL || at == v || at[1] == '\0')
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
				    "SAN email:%s is not an e-mail address", v);
			else if (mtk_servicenow_domain(at + 1))
				ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_SERVICENOW_DOMAIN, NULL,
				    "SAN email:%s is on ServiceNow's domain", v);
		} else if (strncmp(sans->items[i], "URI:", 4) == 0) {
			const char *h = strstr(v, "://");
			char host[256];
			size_t n = 0;
			if (h != NULL) {
				h += 3;
				while (h[n] && h[n] != '/' && h[n] != ':' && h[n] != '?' && n + 1 < sizeof(host)) {
					host[n] = h[n];
					n++;
				}
				host[n] = '\0';
				if (mtk_servicenow_domain(host))
					ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_SERVICENOW_DOMAIN, NULL,
					    "SAN URI:%s is on ServiceNow's domain", v);
			}
		}
	}
	(void)ndns;
	if ((usage & MTK_USAGE_SERVER) && !fqdn)
		ADD(MTK_SEV_ERROR, MTK_F_SUBJECT_INVALID, NULL,
		    "a server certificate needs the host's FQDN: add --san DNS:host.example.com");
	return MTK_OK;
}
