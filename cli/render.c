/*
 * render.c - one rendering of a certificate and of a key, for every verb.
 *
 * The JSON object is built once from the library's facts
 * (cert.h mtk_cert_summary, describe.h mtk_key_facts); the text lines are
 * printed from that same object, so the two never say different things.
 * Strings a file or a peer chose (subject, issuer) are escaped in both.
 */
#include <string.h>

#include "cli.h"
#include "mtlskit/cert.h"
#include "mtlskit/describe.h"

/* A member's string, "" when absent (text rendering only). */
static const char *sget(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

json_t *cli_cert_json(const mtk_cert_summary *s, time_t now)
{
	char nb[MTK_TIME_RFC3339_LEN], na[MTK_TIME_RFC3339_LEN];
	json_t *o;

	o = json_pack(
	    "{s:o, s:o, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:i, s:s, s:b, s:b, s:b}", "subject",
	    cli_json_printable(s->subject), "issuer", cli_json_printable(s->issuer), "serial",
	    s->serial, "not_before", cli_fmt_time(s->not_before, nb, sizeof(nb)), "not_after",
	    cli_fmt_time(s->not_after, na, sizeof(na)), "days_left",
	    (json_int_t)mtk_days_left(s->not_after, now), "sha1", s->sha1, "sha256", s->sha256,
	    "key_type", s->key_type, "key_bits", s->key_bits, "sig_alg", s->sig_alg, "self_signed",
	    s->self_signed, "is_ca", s->is_ca, "expired", now > s->not_after);
	if (o != NULL && s->curve[0])
		json_object_set_new(o, "key_curve", json_string(s->curve));
	return o;
}

void cli_cert_text(FILE *fp, const json_t *cert, const char *indent)
{
	char buf[4 * 512 + 1];
	json_int_t days = json_integer_value(json_object_get(cert, "days_left"));
	const char *curve = sget(cert, "key_curve");

	/* The JSON strings are already escaped; escaping again is harmless
	 * and keeps this safe for objects built elsewhere. */
	fprintf(fp, "%ssubject: %s\n", indent,
		cli_printable(sget(cert, "subject"), buf, sizeof(buf)));
	fprintf(fp, "%sissuer: %s\n", indent,
		cli_printable(sget(cert, "issuer"), buf, sizeof(buf)));
	if (json_object_get(cert, "serial") != NULL)
		fprintf(fp, "%sserial: %s\n", indent, sget(cert, "serial"));
	if (json_object_get(cert, "not_before") != NULL)
		fprintf(fp, "%svalid from: %s\n", indent, sget(cert, "not_before"));
	fprintf(fp, "%sexpires: %s (%lld day%s %s)\n", indent, sget(cert, "not_after"),
		(long long)(days < 0 ? -days : days), days == 1 || days == -1 ? "" : "s",
		days < 0 ? "ago" : "left");
	if (json_object_get(cert, "key_type") != NULL)
		fprintf(fp, "%skey: %s %lld%s%s\n", indent, sget(cert, "key_type"),
			(long long)json_integer_value(json_object_get(cert, "key_bits")),
			curve[0] ? " " : "", curve);
	if (json_object_get(cert, "sig_alg") != NULL)
		fprintf(fp, "%ssignature: %s\n", indent, sget(cert, "sig_alg"));
	if (json_object_get(cert, "sha1") != NULL)
		fprintf(fp, "%sSHA-1: %s\n", indent, sget(cert, "sha1"));
	fprintf(fp, "%sSHA-256: %s\n", indent, sget(cert, "sha256"));
}

json_t *cli_key_json(EVP_PKEY *key, const char *form, int encrypted)
{
	mtk_key_facts kf;
	char desc[96];
	json_t *o;

	mtk_key_facts_get(key, &kf);
	mtk_key_describe(key, desc, sizeof(desc));
	o = json_pack("{s:s, s:i, s:s}", "type", kf.type, "bits", kf.bits, "description", desc);
	if (o == NULL)
		return NULL;
	if (kf.curve[0])
		json_object_set_new(o, "curve", json_string(kf.curve));
	json_object_set_new(o, "weak", json_boolean(kf.weak));
	if (form != NULL)
		json_object_set_new(o, "form", json_string(form));
	if (encrypted >= 0)
		json_object_set_new(o, "encrypted", json_boolean(encrypted));
	return o;
}

void cli_key_text(FILE *fp, const json_t *key, const char *indent)
{
	fprintf(fp, "%skey: %s%s\n", indent, sget(key, "description"),
		json_is_true(json_object_get(key, "weak")) ? " (weak)" : "");
	if (json_object_get(key, "form") != NULL)
		fprintf(fp, "%sform: %s\n", indent, sget(key, "form"));
	if (json_object_get(key, "encrypted") != NULL)
		fprintf(fp, "%sencrypted: %s\n", indent,
			json_is_true(json_object_get(key, "encrypted")) ? "yes" : "no");
}
