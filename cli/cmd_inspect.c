/*
 * cmd_inspect.c - `mtlskit inspect FILE...`: say what each input is and
 * describe everything in it.
 *
 * Three phases: read every file (a bad one is reported and skipped, the
 * others still described), then describe every object into c->result (the
 * --json document), matching private keys to certificates across all the
 * inputs, then, in text mode, render that same document for humans.  The
 * text renderer reads only the JSON, so both outputs say the same thing.
 *
 * Exit status: 0 when every input was read, whatever the findings say
 * (inspect describes, `check` judges); otherwise the worst per-file status:
 * 3 unreadable or malformed, 4 wrong password.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "mtlskit/buf.h"
#include "mtlskit/cert.h"
#include "mtlskit/check.h"
#include "mtlskit/describe.h"
#include "mtlskit/file.h"
#include "mtlskit/load.h"
#include "mtlskit/mid.h"

static const char usage[] =
	"Usage: mtlskit inspect [--json] [--pass SPEC] [--key-pass SPEC] [--no-color] FILE...\n"
	"\n"
	"Identify every input and describe what it holds: PEM (any number of blocks, with\n"
	"their line numbers) and DER certificates, PKCS#7 (.p7b), CRLs, CSRs, private keys\n"
	"(PKCS#1, SEC1, PKCS#8, encrypted PKCS#8, legacy encrypted PEM, Ed25519), PFX/PKCS#12\n"
	"(modern and legacy RC2/3DES, no flag needed), JKS and JCEKS keystores.  FILE '-' is\n"
	"standard input.\n"
	"\n"
	"Nothing is decrypted without --pass: an encrypted key or a PFX is described from\n"
	"what it says about itself (algorithm, MAC, iterations).  With --pass, keys are\n"
	"decrypted and matched to the certificates among all the inputs.\n"
	"\n"
	"Options:\n"
	"  --pass SPEC      password of PFX files, keystores and encrypted keys\n"
	"                   (env:VAR, file:PATH, fd:N, pass:TEXT)\n"
	"  --key-pass SPEC  keystore entry password when it differs from the store's\n"
	"  --json           one JSON document: {\"files\":[...],\"findings\":[...]}\n"
	"  --no-color       no colour (colour is used only on a terminal)\n"
	"\n"
	"Findings (pem-crlf, pem-stray-bytes, pem-blank-lines, cert-expired,\n"
	"cert-not-yet-valid, weak-crypto, key-not-pkcs8, key-encrypted) are shown with the\n"
	"command that fixes them; they never change the exit status of inspect (use\n"
	"`mtlskit check` for a verdict).\n"
	"\n"
	"Exit status: 0 every input was read and described; 2 usage; 3 an input is\n"
	"missing, unreadable, empty, too large or malformed; 4 wrong password or failed\n"
	"integrity check.  With several files, every file is described and the worst\n"
	"status is returned.\n";

struct input {
	const char *name;
	mtk_rc rc;
	mtk_err err;
	size_t size;
	bool read_ok;
	mtk_set set;
	mtk_container_info info;
	bool p12_ok;
	mtk_p12_desc p12;
};

struct ictx {
	cli *c;
	struct input *in;
	size_t nin;
};

/* ---- small helpers ---- */

/* A JSON string that is always valid (escapes what is not printable UTF-8). */
static json_t *jstr(const char *s)
{
	char buf[2048];

	if (s == NULL)
		return json_null();
	return json_string(mtk_str_printable(s, strlen(s), buf, sizeof(buf)));
}

static json_t *jtime(time_t t)
{
	char buf[MTK_TIME_RFC3339_LEN];

	return json_string(cli_fmt_time(t, buf, sizeof(buf)));
}

static json_t *jlist(const mtk_strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, jstr(l->v[i]));
	return a;
}

/* The file name as a shell word, for fix commands (the one quoting rule
 * every fix uses). */
static void shell_word(const char *s, char *out, size_t cap)
{
	if (cap == 0)
		return;
	out[0] = '\0';
	mtk_check_quote_append(out, cap, s);
}

/* "dir/key.pem" -> "dir/key-SUFFIX.pem" (shell-quoted). */
static void derived_name(const char *file, const char *suffix, char *out, size_t cap)
{
	char base[1024], name[1100];
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(file, '.');
	size_t bl = strlen(file);

	if (strcmp(file, "-") == 0)
		file = "key.pem", bl = 3, dot = file + 3, slash = NULL;
	else if (dot != NULL && (slash == NULL || dot > slash + 1))
		bl = (size_t)(dot - file);
	snprintf(base, sizeof(base), "%.*s", (int)(bl < sizeof(base) ? bl : sizeof(base) - 1), file);
	snprintf(name, sizeof(name), "%s-%s.pem", base, suffix);
	shell_word(name, out, cap);
}

/* fix: a command that runs as printed; a text that needs what only the user
 * has (their key, their CA) starts with "advice:" and is kept as advice. */
static void finding(struct ictx *x, mtk_finding_id id, mtk_severity sev, const mtk_obj *o,
		    const char *fix, const char *fmt, ...) MTK_PRINTF(6, 7);
static void finding(struct ictx *x, mtk_finding_id id, mtk_severity sev, const mtk_obj *o,
		    const char *fix, const char *fmt, ...)
{
	bool adv = fix != NULL && strncmp(fix, "advice:", 7) == 0;

	char msg[1024], pmsg[1200], file[1024], where[512], pfix[3000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Findings are printed as they are and must be valid JSON strings:
	 * names from certificates and files may hold anything. */
	mtk_str_printable(msg, strlen(msg), pmsg, sizeof(pmsg));
	mtk_str_printable(o->source, strlen(o->source), file, sizeof(file));
	if (o->alias)
		mtk_str_printable(o->alias, strlen(o->alias), where, sizeof(where));
	if (fix)
		mtk_str_printable(fix + (adv ? 7 : 0), strlen(fix + (adv ? 7 : 0)), pfix, sizeof(pfix));
	/* Failing to record a finding must not fail the description. */
	(void)!mtk_findings_add_advice(&x->c->findings, id, sev, file, o->line,
				       o->alias ? where : NULL, fix && !adv ? pfix : NULL,
				       fix && adv ? pfix : NULL, "%s", pmsg);
}

/* Where an object is, for "matches" lists: file:line, file [alias] or file #n. */
static json_t *place_json(const mtk_obj *o)
{
	json_t *p = json_pack("{s:o}", "file", jstr(o->source));

	if (o->line > 0)
		json_object_set_new(p, "line", json_integer(o->line));
	if (o->alias != NULL)
		json_object_set_new(p, "alias", jstr(o->alias));
	json_object_set_new(p, "index", json_integer(o->index));
	return p;
}

/* The shared key object (render.c); a key's own encryption is reported
 * beside it (key_json "encryption"), not inside. */
static json_t *key_facts_json(EVP_PKEY *k)
{
	return cli_key_json(k, NULL, -1);
}

static void ext_json(json_t *o, const mtk_ext_desc *e)
{
	json_object_set_new(o, "san", jlist(&e->san));
	json_object_set_new(o, "key_usage", e->has_key_usage ? jlist(&e->key_usage) : json_null());
	if (e->has_key_usage && e->key_usage_critical)
		json_object_set_new(o, "key_usage_critical", json_true());
	json_object_set_new(o, "extended_key_usage", e->has_eku ? jlist(&e->eku) : json_null());
	if (e->has_basic_constraints) {
		json_t *bc = json_pack("{s:b, s:b}", "ca", e->ca, "critical",
				       e->basic_constraints_critical);
		json_object_set_new(bc, "path_len",
				    e->path_len >= 0 ? json_integer(e->path_len) : json_null());
		json_object_set_new(o, "basic_constraints", bc);
	} else {
		json_object_set_new(o, "basic_constraints", json_null());
	}
	json_object_set_new(o, "ski", e->ski[0] ? json_string(e->ski) : json_null());
	json_object_set_new(o, "aki", e->aki[0] ? json_string(e->aki) : json_null());
	if (e->malformed.n > 0)
		json_object_set_new(o, "malformed_extensions", jlist(&e->malformed));
}

/* The first private key among all the inputs that belongs to cert. */
static json_t *key_for_cert_json(struct ictx *x, X509 *cert)
{
	for (size_t i = 0; i < x->nin; i++) {
		const mtk_set *s = &x->in[i].set;
		for (size_t k = 0; k < s->count; k++) {
			const mtk_obj *ko = &s->objs[k];
			if (ko->kind == MTK_OBJ_KEY && ko->key != NULL &&
			    mtk_key_matches_cert(ko->key, cert))
				return place_json(ko);
		}
	}
	return json_null();
}

/* ---- one object of each kind ---- */

static json_t *cert_json(struct ictx *x, const mtk_obj *o, mtk_err *err)
{
	mtk_cert_summary s;
	mtk_ext_desc e;
	char file_q[1100], fix[1400];
	json_t *j, *cj;

	if (mtk_cert_summarize(o->cert, &s, err) != MTK_OK)
		return NULL;
	if (mtk_ext_describe(X509_get0_extensions(o->cert), &e, err) != MTK_OK)
		return NULL;
	/* The shared certificate object (render.c: subject, issuer, serial,
	 * times, days_left, fingerprints, expired ...), then what only
	 * inspect shows. */
	j = json_pack("{s:s}", "type", "certificate");
	cj = cli_cert_json(&s, x->c->now);
	if (j == NULL || cj == NULL || json_object_update(j, cj) != 0) {
		json_decref(j);
		json_decref(cj);
		mtk_ext_desc_free(&e);
		(void)mtk_err_set(err, MTK_E_NOMEM, "certificate");
		return NULL;
	}
	json_decref(cj);
	json_object_set_new(j, "version", json_integer(s.version));
	json_object_set_new(j, "not_yet_valid", json_boolean(x->c->now < s.not_before));
	json_object_set_new(j, "key", key_facts_json(X509_get0_pubkey(o->cert)));
	json_object_set_new(j, "signature_algorithm", json_string(s.sig_alg));
	ext_json(j, &e);
	json_object_set_new(j, "self_issued", json_boolean(s.self_issued));
	json_object_set_new(j, "private_key", key_for_cert_json(x, o->cert));

	shell_word(o->source, file_q, sizeof(file_q));
	if (x->c->now > s.not_after) {
		snprintf(fix, sizeof(fix),
			 "advice:renew it: mtlskit renew %s --key YOUR-KEY.pem -o renewal.csr, have your "
			 "CA sign the request",
			 file_q);
		long ago = (long)((x->c->now - s.not_after) / 86400); /* whole days */
		char when[40];
		finding(x, MTK_F_CERT_EXPIRED, MTK_SEV_ERROR, o, fix, "certificate %s expired on %s (%s%ld day%s ago)",
			s.subject, cli_fmt_time(s.not_after, when, sizeof(when)), ago == 0 ? "less than " : "",
			ago == 0 ? 1 : ago, ago > 1 ? "s" : "");
	}
	if (x->c->now < s.not_before) {
		finding(x, MTK_F_CERT_NOT_YET_VALID, MTK_SEV_WARNING, o,
			"check this machine's clock (date -u); the certificate becomes usable at notBefore",
			"certificate %s is not valid before %s", s.subject,
			cli_fmt_time(s.not_before, (char[40]){0}, 40));
	}
	{
		mtk_key_facts kf;
		mtk_key_facts_get(X509_get0_pubkey(o->cert), &kf);
		if (kf.weak)
			finding(x, MTK_F_WEAK_CRYPTO, MTK_SEV_WARNING, o,
				"mtlskit key generate --type rsa:2048 -o new-key.pem, then a new CSR and certificate",
				"certificate %s has a %d-bit %s key; at least 2048 bits are required",
				s.subject, kf.bits, kf.type);
	}
	if (s.sig_weak) {
		if (s.self_signed) {
			finding(x, MTK_F_WEAK_CRYPTO, MTK_SEV_INFO, o, NULL,
				"self-signed certificate %s is signed with %s; a trust anchor's own "
				"signature is not checked, so this is harmless for a root CA",
				s.subject, s.sig_alg);
		} else {
			snprintf(fix, sizeof(fix),
				 "advice:mtlskit renew %s --key YOUR-KEY.pem -o renewal.csr, and have the CA sign "
				 "it with SHA-256",
				 file_q);
			finding(x, MTK_F_WEAK_CRYPTO, MTK_SEV_WARNING, o, fix,
				"certificate %s is signed with %s (SHA-1/MD5 signatures are rejected by "
				"current TLS stacks)",
				s.subject, s.sig_alg);
		}
	}
	mtk_ext_desc_free(&e);
	return j;
}

static const char *key_form_text(const mtk_obj *o)
{
	switch (o->key_form) {
	case MTK_KEY_PKCS8:
		return "PKCS#8";
	case MTK_KEY_PKCS8_ENCRYPTED:
		return "encrypted PKCS#8";
	case MTK_KEY_PKCS1:
		return "PKCS#1 (traditional RSA)";
	case MTK_KEY_SEC1:
		return "SEC1 (traditional EC)";
	case MTK_KEY_LEGACY_ENCRYPTED:
		return "legacy OpenSSL-encrypted PEM (Proc-Type: 4,ENCRYPTED)";
	case MTK_KEY_CONTAINER:
		return "in the container";
	default:
		return "unknown";
	}
}

/* The certificates among all the inputs whose public key is key's. */
static json_t *matches_json(struct ictx *x, EVP_PKEY *key)
{
	json_t *matches = json_array();

	for (size_t i = 0; i < x->nin; i++) {
		const mtk_set *s = &x->in[i].set;
		for (size_t k = 0; k < s->count; k++) {
			const mtk_obj *co = &s->objs[k];
			json_t *p;
			char subj[512];

			if (co->kind != MTK_OBJ_CERT || !mtk_key_matches_cert(key, co->cert))
				continue;
			p = place_json(co);
			mtk_name_string(X509_get_subject_name(co->cert), subj, sizeof(subj));
			json_object_set_new(p, "subject", jstr(subj));
			json_array_append_new(matches, p);
		}
	}
	return matches;
}

static json_t *key_json(struct ictx *x, const mtk_obj *o)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "type", "private-key", "form",
			      mtk_key_form_name(o->key_form), "form_description", key_form_text(o),
			      "encrypted", o->encrypted);
	char file_q[1100], out_q[1200], fix[2600];

	json_object_set_new(j, "encryption", o->enc_desc ? jstr(o->enc_desc) : json_null());
	json_object_set_new(j, "decrypted", json_boolean(o->key != NULL));
	json_object_set_new(j, "key", o->key ? key_facts_json(o->key) : json_null());
	json_object_set_new(j, "matches", o->key ? matches_json(x, o->key) : json_null());

	shell_word(o->source, file_q, sizeof(file_q));
	if (o->key_form == MTK_KEY_PKCS1 || o->key_form == MTK_KEY_SEC1 ||
	    o->key_form == MTK_KEY_LEGACY_ENCRYPTED) {
		derived_name(o->source, "pkcs8", out_q, sizeof(out_q));
		snprintf(fix, sizeof(fix), "mtlskit convert %s%s --to pkcs8 -o %s", file_q,
			 o->encrypted ? " --pass env:KEY_PASS" : "", out_q);
		finding(x, MTK_F_KEY_NOT_PKCS8, MTK_SEV_INFO, o, fix,
			"%s private key; Java and the MID Server read only PKCS#8 (\"BEGIN PRIVATE KEY\")",
			o->key_form == MTK_KEY_PKCS1	 ? "PKCS#1 (\"BEGIN RSA PRIVATE KEY\")"
			: o->key_form == MTK_KEY_SEC1 ? "SEC1 (\"BEGIN EC PRIVATE KEY\")"
						       : "legacy encrypted PKCS#1/SEC1");
	}
	if (o->encrypted && o->key_form != MTK_KEY_CONTAINER) {
		derived_name(o->source, "plain", out_q, sizeof(out_q));
		snprintf(fix, sizeof(fix), "mtlskit convert %s --pass env:KEY_PASS --to pkcs8 -o %s",
			 file_q, out_q);
		finding(x, MTK_F_KEY_ENCRYPTED, MTK_SEV_INFO, o, fix,
			"the private key is encrypted (%s); a tool that needs a plain key will fail to read it",
			o->enc_desc ? o->enc_desc : "unknown algorithm");
	}
	if (o->key != NULL) {
		mtk_key_facts kf;
		mtk_key_facts_get(o->key, &kf);
		if (kf.weak)
			finding(x, MTK_F_WEAK_CRYPTO, MTK_SEV_WARNING, o,
				"mtlskit key generate --type rsa:2048 -o new-key.pem",
				"%d-bit %s private key; at least 2048 bits are required", kf.bits, kf.type);
	}
	return j;
}

static json_t *csr_json(struct ictx *x, const mtk_obj *o, mtk_err *err)
{
	mtk_csr_desc d;
	json_t *j;

	if (mtk_csr_describe(o->csr, &d, err) != MTK_OK)
		return NULL;
	j = json_pack("{s:s, s:o, s:i}", "type", "certificate-request", "subject", jstr(d.subject),
		      "version", d.version);
	json_object_set_new(j, "key", d.has_key ? key_facts_json(X509_REQ_get0_pubkey(o->csr))
					       : json_null());
	json_object_set_new(j, "signature_algorithm", json_string(d.sig_alg));
	json_object_set_new(j, "signature_valid", json_boolean(d.sig_valid));
	ext_json(j, &d.ext);
	json_object_set_new(j, "attributes", jlist(&d.attributes));
	if (d.key.weak)
		finding(x, MTK_F_WEAK_CRYPTO, MTK_SEV_WARNING, o,
			"mtlskit key generate --type rsa:2048 -o new-key.pem, then mtlskit csr create",
			"the request's key is %d-bit %s; at least 2048 bits are required", d.key.bits,
			d.key.type);
	if (d.sig_weak)
		finding(x, MTK_F_WEAK_CRYPTO, MTK_SEV_WARNING, o, "mtlskit csr create (signs with SHA-256)",
			"the request is signed with %s", d.sig_alg);
	mtk_csr_desc_free(&d);
	return j;
}

/* The first certificate among the inputs whose key verifies the CRL. */
static json_t *crl_signer_json(struct ictx *x, X509_CRL *crl)
{
	for (size_t i = 0; i < x->nin; i++) {
		const mtk_set *s = &x->in[i].set;
		for (size_t k = 0; k < s->count; k++) {
			const mtk_obj *co = &s->objs[k];
			EVP_PKEY *pub;

			if (co->kind != MTK_OBJ_CERT ||
			    X509_NAME_cmp(X509_get_subject_name(co->cert), X509_CRL_get_issuer(crl)) != 0)
				continue;
			pub = X509_get0_pubkey(co->cert);
			if (pub != NULL && X509_CRL_verify(crl, pub) == 1)
				return place_json(co);
		}
	}
	return json_null();
}

static json_t *crl_json(struct ictx *x, const mtk_obj *o, mtk_err *err)
{
	mtk_crl_desc d;
	json_t *j, *rev;

	if (mtk_crl_describe(o->crl, &d, err) != MTK_OK)
		return NULL;
	j = json_pack("{s:s, s:o, s:i}", "type", "crl", "issuer", jstr(d.issuer), "version", d.version);
	json_object_set_new(j, "this_update", jtime(d.this_update));
	json_object_set_new(j, "next_update", d.has_next_update ? jtime(d.next_update) : json_null());
	json_object_set_new(j, "next_update_passed",
			    json_boolean(d.has_next_update && x->c->now > d.next_update));
	json_object_set_new(j, "crl_number", d.crl_number[0] ? json_string(d.crl_number) : json_null());
	json_object_set_new(j, "signature_algorithm", json_string(d.sig_alg));
	json_object_set_new(j, "aki", d.aki[0] ? json_string(d.aki) : json_null());
	json_object_set_new(j, "revoked_count", json_integer((json_int_t)d.revoked_count));
	rev = json_array();
	for (size_t i = 0; i < d.revoked_count; i++) {
		json_t *e = json_pack("{s:s}", "serial", d.revoked[i].serial);
		json_object_set_new(e, "date", jtime(d.revoked[i].date));
		if (d.revoked[i].reason[0])
			json_object_set_new(e, "reason", json_string(d.revoked[i].reason));
		json_array_append_new(rev, e);
	}
	json_object_set_new(j, "revoked", rev);
	/* Which certificate among the inputs signed it. */
	json_object_set_new(j, "verified_by", crl_signer_json(x, o->crl));
	mtk_err_drain_openssl();
	mtk_crl_desc_free(&d);
	return j;
}

static json_t *object_json(struct ictx *x, const mtk_obj *o, mtk_err *err)
{
	json_t *j = NULL;

	switch (o->kind) {
	case MTK_OBJ_CERT:
		j = cert_json(x, o, err);
		break;
	case MTK_OBJ_KEY:
		j = key_json(x, o);
		break;
	case MTK_OBJ_CSR:
		j = csr_json(x, o, err);
		break;
	case MTK_OBJ_CRL:
		j = crl_json(x, o, err);
		break;
	case MTK_OBJ_PUBKEY:
		j = json_pack("{s:s}", "type", "public-key");
		json_object_set_new(j, "key", key_facts_json(o->key));
		json_object_set_new(j, "matches", matches_json(x, o->key));
		break;
	case MTK_OBJ_SECRET_KEY:
		j = json_pack("{s:s}", "type", "secret-key");
		json_object_set_new(j, "note", jstr(o->note));
		break;
	default:
		j = json_pack("{s:s}", "type", "other");
		json_object_set_new(j, "note", o->note ? jstr(o->note) : json_string("not interpreted"));
		break;
	}
	if (j == NULL)
		return NULL;
	/* Position first-class in every object. */
	if (o->line > 0)
		json_object_set_new(j, "line", json_integer(o->line));
	json_object_set_new(j, "index", json_integer(o->index));
	if (o->label != NULL)
		json_object_set_new(j, "label", jstr(o->label));
	if (o->alias != NULL)
		json_object_set_new(j, "alias", jstr(o->alias));
	if (o->note != NULL && json_object_get(j, "note") == NULL)
		json_object_set_new(j, "note", jstr(o->note)); /* what the loader noticed */
	return j;
}

/* ---- containers ---- */

static json_t *container_json(const struct input *in)
{
	const mtk_container_info *ci = &in->info;
	json_t *j = NULL;

	if (ci->format == MTK_FMT_PKCS12) {
		const mtk_p12_desc *d = &in->p12;
		j = json_pack("{s:s}", "type", "pkcs12");
		if (in->p12_ok && d->has_mac) {
			json_object_set_new(j, "mac",
					    json_pack("{s:s, s:I, s:i}", "algorithm", d->mac_alg,
						      "iterations", (json_int_t)d->mac_iter, "salt_length",
						      d->mac_salt_len));
		} else {
			json_object_set_new(j, "mac", json_null());
		}
		if (in->p12_ok) {
			json_object_set_new(j, "certificates_encryption",
					    json_pack("{s:s, s:I}", "algorithm", d->cert_enc, "iterations",
						      (json_int_t)d->cert_iter));
			json_object_set_new(j, "key_encryption",
					    json_pack("{s:s, s:I}", "algorithm", d->key_enc, "iterations",
						      (json_int_t)d->key_iter));
			json_object_set_new(j, "safes", json_integer((json_int_t)d->safes));
			json_object_set_new(j, "encrypted_safes",
					    json_integer((json_int_t)d->encrypted_safes));
		}
		json_object_set_new(j, "legacy",
				    json_boolean(ci->p12_legacy || (in->p12_ok && d->legacy)));
		json_object_set_new(j, "needs_password", json_boolean(ci->needs_password));
	} else if (ci->format == MTK_FMT_JKS || ci->format == MTK_FMT_JCEKS) {
		j = json_pack("{s:s, s:I, s:I, s:b}", "type", ci->format == MTK_FMT_JKS ? "jks" : "jceks",
			      "version", (json_int_t)ci->ks_version, "entries",
			      (json_int_t)ci->ks_entries, "needs_password", ci->needs_password);
		json_object_set_new(j, "entries_read", json_boolean(in->set.count > 0));
	}
	return j;
}

static size_t pem_blocks(const mtk_set *s)
{
	size_t n = 0;
	long last = -1;

	/* Objects of one PKCS#7 block share its line; lines only grow. */
	for (size_t i = 0; i < s->count; i++) {
		if (s->objs[i].line != last)
			n++;
		last = s->objs[i].line;
	}
	return n;
}

static json_t *error_json(mtk_rc rc, const mtk_err *err)
{
	json_t *e = json_pack("{s:s, s:s, s:i}", "code", mtk_rc_name(rc), "message", mtk_rc_message(rc),
			      "exit", mtk_rc_exit(rc));

	if (err->detail[0])
		json_object_set_new(e, "detail", jstr(err->detail));
	if (err->ossl[0])
		json_object_set_new(e, "openssl", jstr(err->ossl));
	return e;
}

/* One line on stderr, composed as every error is (cli_compose_error); the
 * file's name first when the detail does not start with it. */
static void report_error(cli *c, const struct input *in)
{
	const char *detail = in->err.detail;
	size_t nl = strlen(in->name);
	char name[1024], d[1200], full[2300], o[1200], line[4096];

	mtk_str_printable(in->name, nl, name, sizeof(name));
	mtk_str_printable(detail, strlen(detail), d, sizeof(d));
	if (detail[0] == '\0')
		snprintf(full, sizeof(full), "%s", name);
	else if (strncmp(detail, in->name, nl) == 0)
		snprintf(full, sizeof(full), "%s", d);
	else
		snprintf(full, sizeof(full), "%s: %s", name, d);
	if (in->err.ossl[0])
		mtk_str_printable(in->err.ossl, strlen(in->err.ossl), o, sizeof(o));
	cli_compose_error(in->rc, full, in->err.ossl[0] ? o : NULL, line, sizeof(line));
	fprintf(stderr, "mtlskit %s: %s\n", c->verb, line);
}

/* ---- reading ---- */

static void read_input(struct input *in, const mtk_load_opts *opts, mtk_findings *out_fs)
{
	mtk_buf b = MTK_BUF_SECRET_INIT; /* may hold private keys */
	mtk_findings fs = MTK_FINDINGS_INIT;

	in->rc = mtk_file_read(in->name, 0, &b, &in->err);
	if (in->rc != MTK_OK)
		return;
	in->read_ok = true;
	in->size = b.len;
	if (mtk_detect(b.data, b.len) == MTK_FMT_PKCS12) {
		mtk_err e2 = {0};
		in->p12_ok = mtk_p12_describe(b.data, b.len, &in->p12, &e2) == MTK_OK;
	}
	{
		/* The MID default for an agent keystore, by name (mid.h). */
		mtk_load_opts o = *opts;
		o.default_pass = mtk_mid_default_for(MTK_MID_READ, in->name);
		in->rc = mtk_load_mem(&in->set, in->name, b.data, b.len, &o, &in->info, &fs,
				      &in->err);
	}
	/* A file that could not be read is reported by its error alone. */
	if (in->rc == MTK_OK)
		(void)!mtk_findings_move(out_fs, &fs);
	mtk_findings_free(&fs);
	mtk_buf_free(&b);
}

/* ---- text rendering (from the JSON document) ---- */

struct out {
	cli *c;
	FILE *fp;
};

static const char *bold(const struct out *o)
{
	return o->c->color ? "\033[1m" : "";
}
static const char *red(const struct out *o)
{
	return o->c->color ? "\033[31m" : "";
}
static const char *yellow(const struct out *o)
{
	return o->c->color ? "\033[33m" : "";
}
static const char *green(const struct out *o)
{
	return o->c->color ? "\033[32m" : "";
}
static const char *reset(const struct out *o)
{
	return o->c->color ? "\033[0m" : "";
}

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void field(const struct out *o, const char *label, const char *fmt, ...) MTK_PRINTF(3, 4);
static void field(const struct out *o, const char *label, const char *fmt, ...)
{
	va_list ap;

	fprintf(o->fp, "    %-13s ", label);
	va_start(ap, fmt);
	vfprintf(o->fp, fmt, ap);
	va_end(ap);
	fputc('\n', o->fp);
}

static void list_field(const struct out *o, const char *label, json_t *arr, const char *suffix)
{
	size_t i;
	json_t *v;
	mtk_buf b = MTK_BUF_INIT;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, v)
	{
		if (mtk_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(v)) != MTK_OK)
			break;
	}
	field(o, label, "%s%s", json_array_size(arr) ? (const char *)b.data : "(none)", suffix);
	mtk_buf_free(&b);
}

static void time_field(const struct out *o, const char *label, json_t *t)
{
	const char *s = json_string_value(t);
	char buf[40];

	/* "2026-01-01T00:00:00Z" -> "2026-01-01 00:00:00 UTC" */
	if (s && strlen(s) == 20)
		snprintf(buf, sizeof(buf), "%.10s %.8s UTC", s, s + 11);
	else
		snprintf(buf, sizeof(buf), "%s", s ? s : "-");
	field(o, label, "%s", buf);
}

static void key_text(const struct out *o, json_t *k, const char *label)
{
	if (!json_is_object(k)) {
		field(o, label, "unknown");
		return;
	}
	field(o, label, "%s", js(k, "description"));
}

static void ext_text(const struct out *o, json_t *j)
{
	json_t *bc = json_object_get(j, "basic_constraints");

	list_field(o, "SAN", json_object_get(j, "san"), "");
	if (json_is_array(json_object_get(j, "key_usage")))
		list_field(o, "key usage", json_object_get(j, "key_usage"),
			   json_is_true(json_object_get(j, "key_usage_critical")) ? " (critical)" : "");
	if (json_is_array(json_object_get(j, "extended_key_usage")))
		list_field(o, "ext. usage", json_object_get(j, "extended_key_usage"), "");
	if (json_is_object(bc)) {
		json_t *pl = json_object_get(bc, "path_len");
		if (json_is_true(json_object_get(bc, "ca")) && json_is_integer(pl))
			field(o, "CA", "yes (path length %lld)", (long long)json_integer_value(pl));
		else
			field(o, "CA", "%s", json_is_true(json_object_get(bc, "ca")) ? "yes" : "no");
	}
	if (json_is_string(json_object_get(j, "ski")))
		field(o, "SKI", "%s", js(j, "ski"));
	if (json_is_string(json_object_get(j, "aki")))
		field(o, "AKI", "%s", js(j, "aki"));
	if (json_is_array(json_object_get(j, "malformed_extensions")))
		list_field(o, "malformed", json_object_get(j, "malformed_extensions"), "");
}

static void place_text(json_t *p, char *buf, size_t cap)
{
	json_t *line = json_object_get(p, "line");
	json_t *alias = json_object_get(p, "alias");

	if (json_is_integer(line))
		snprintf(buf, cap, "%s:%lld", js(p, "file"), (long long)json_integer_value(line));
	else if (json_is_string(alias))
		snprintf(buf, cap, "%s [%s]", js(p, "file"), json_string_value(alias));
	else
		snprintf(buf, cap, "%s #%lld", js(p, "file"),
			 (long long)json_integer_value(json_object_get(p, "index")) + 1);
}

static void matches_text(const struct out *o, json_t *m)
{
	size_t i;
	json_t *p;

	if (!json_is_array(m))
		return;
	if (json_array_size(m) == 0)
		field(o, "matches", "no certificate among the inputs");
	json_array_foreach(m, i, p)
	{
		char pl[1200];
		place_text(p, pl, sizeof(pl));
		field(o, i == 0 ? "matches" : "", "%s %s", pl, js(p, "subject"));
	}
}

static void object_text(const struct out *o, json_t *j)
{
	const char *type = js(j, "type");
	json_t *line = json_object_get(j, "line");
	json_t *alias = json_object_get(j, "alias");
	const char *title = strcmp(type, "certificate") == 0		? "certificate"
			    : strcmp(type, "private-key") == 0		? "private key"
			    : strcmp(type, "certificate-request") == 0 ? "certificate request"
			    : strcmp(type, "crl") == 0			? "CRL"
			    : strcmp(type, "public-key") == 0		? "public key"
			    : strcmp(type, "secret-key") == 0		? "secret key"
									: "block";
	char where[160] = "";

	if (json_is_integer(line))
		snprintf(where, sizeof(where), " (line %lld)", (long long)json_integer_value(line));
	fprintf(o->fp, "  %s%s%s%s", bold(o), title, reset(o), where);
	if (json_is_string(alias))
		fprintf(o->fp, " [alias \"%s\"]", json_string_value(alias));
	if (strcmp(type, "other") == 0)
		fprintf(o->fp, " %s", js(j, "label"));
	fputc('\n', o->fp);

	if (strcmp(type, "certificate") == 0) {
		long long days = json_integer_value(json_object_get(j, "days_left"));
		char vb[40], va[40];
		const char *nb = js(j, "not_before"), *na = js(j, "not_after");

		field(o, "subject", "%s", js(j, "subject"));
		field(o, "issuer", "%s", js(j, "issuer"));
		field(o, "serial", "%s", js(j, "serial"));
		snprintf(vb, sizeof(vb), "%.10s %.8s UTC", nb, strlen(nb) >= 19 ? nb + 11 : "");
		snprintf(va, sizeof(va), "%.10s %.8s UTC", na, strlen(na) >= 19 ? na + 11 : "");
		if (json_is_true(json_object_get(j, "expired")))
			field(o, "valid", "%s to %s (%sEXPIRED%s)", vb, va, red(o), reset(o));
		else if (json_is_true(json_object_get(j, "not_yet_valid")))
			field(o, "valid", "%s to %s (%sNOT YET VALID%s)", vb, va, red(o), reset(o));
		else
			field(o, "valid", "%s to %s (%s%lld day%s left%s)", vb, va,
			      days < 30 ? yellow(o) : green(o), days, days == 1 ? "" : "s", reset(o));
		key_text(o, json_object_get(j, "key"), "key");
		field(o, "signature", "%s", js(j, "signature_algorithm"));
		ext_text(o, j);
		field(o, "SHA-1", "%s", js(j, "sha1"));
		field(o, "SHA-256", "%s", js(j, "sha256"));
		field(o, "self-signed", "%s", json_is_true(json_object_get(j, "self_signed")) ? "yes" : "no");
		if (json_is_object(json_object_get(j, "private_key"))) {
			char p[1200];
			place_text(json_object_get(j, "private_key"), p, sizeof(p));
			field(o, "private key", "%s", p);
		}
	} else if (strcmp(type, "private-key") == 0) {
		json_t *m = json_object_get(j, "matches");
		field(o, "form", "%s", js(j, "form_description"));
		if (json_is_true(json_object_get(j, "encrypted")))
			field(o, "encrypted", "yes, %s%s", js(j, "encryption"),
			      json_is_true(json_object_get(j, "decrypted")) ? " (decrypted with --pass)"
			      : json_is_string(json_object_get(j, "note")) ? " (not decrypted)"
									   : " (give --pass to decrypt)");
		else
			field(o, "encrypted", "no");
		if (json_is_object(json_object_get(j, "key")))
			key_text(o, json_object_get(j, "key"), "key");
		matches_text(o, m);
	} else if (strcmp(type, "certificate-request") == 0) {
		field(o, "subject", "%s", js(j, "subject"));
		key_text(o, json_object_get(j, "key"), "key");
		field(o, "signature", "%s, %s%s%s", js(j, "signature_algorithm"),
		      json_is_true(json_object_get(j, "signature_valid")) ? green(o) : red(o),
		      json_is_true(json_object_get(j, "signature_valid")) ? "valid" : "INVALID", reset(o));
		ext_text(o, j);
		if (json_array_size(json_object_get(j, "attributes")) > 0)
			list_field(o, "attributes", json_object_get(j, "attributes"), "");
	} else if (strcmp(type, "crl") == 0) {
		json_t *rev = json_object_get(j, "revoked");
		size_t i, n = json_array_size(rev);
		json_t *e;
		mtk_buf b = MTK_BUF_INIT;

		field(o, "issuer", "%s", js(j, "issuer"));
		time_field(o, "this update", json_object_get(j, "this_update"));
		if (json_is_string(json_object_get(j, "next_update"))) {
			time_field(o, "next update", json_object_get(j, "next_update"));
			if (json_is_true(json_object_get(j, "next_update_passed")))
				field(o, "", "%sthe next update is overdue: this CRL is stale%s", yellow(o),
				      reset(o));
		}
		if (json_is_string(json_object_get(j, "crl_number")))
			field(o, "number", "%s", js(j, "crl_number"));
		field(o, "signature", "%s", js(j, "signature_algorithm"));
		if (json_is_object(json_object_get(j, "verified_by"))) {
			char pl[1200];
			place_text(json_object_get(j, "verified_by"), pl, sizeof(pl));
			field(o, "signed by", "%s", pl);
		}
		json_array_foreach(rev, i, e)
		{
			if (i == 20) {
				(void)!mtk_buf_printf(&b, ", ... (%zu more; --json lists all)", n - 20);
				break;
			}
			(void)!mtk_buf_printf(&b, "%s%s", i ? ", " : "", js(e, "serial"));
		}
		field(o, "revoked", "%zu%s%s", n, n ? ": " : "", n ? (const char *)b.data : "");
		mtk_buf_free(&b);
	} else if (strcmp(type, "public-key") == 0) {
		key_text(o, json_object_get(j, "key"), "key");
		matches_text(o, json_object_get(j, "matches"));
	}
	if (strcmp(type, "other") != 0 && json_is_string(json_object_get(j, "note")))
		field(o, "note", "%s", js(j, "note"));
}

static const char *format_title(const char *f)
{
	static const struct {
		const char *id, *title;
	} t[] = {
		{"pem", "PEM"},
		{"der-certificate", "DER certificate"},
		{"der-csr", "DER certificate request"},
		{"der-crl", "DER CRL"},
		{"pkcs7", "PKCS#7 (DER)"},
		{"der-key", "DER private key"},
		{"pkcs12", "PKCS#12/PFX"},
		{"jks", "JKS keystore"},
		{"jceks", "JCEKS keystore"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(f, t[i].id) == 0)
			return t[i].title;
	return f;
}

static void file_text(const struct out *o, json_t *f)
{
	json_t *objs = json_object_get(f, "objects");
	json_t *ct = json_object_get(f, "container");
	json_t *v;
	size_t i, n = json_array_size(objs);

	if (json_is_object(json_object_get(f, "error")))
		return; /* reported on stderr */
	fprintf(o->fp, "%s%s%s: %s", bold(o), js(f, "file"), reset(o), format_title(js(f, "format")));
	if (json_is_integer(json_object_get(f, "blocks"))) {
		long long b = json_integer_value(json_object_get(f, "blocks"));
		fprintf(o->fp, ", %lld block%s", b, b == 1 ? "" : "s");
	} else if (!json_is_object(ct)) {
		fprintf(o->fp, ", %zu object%s", n, n == 1 ? "" : "s");
	}
	if (json_is_object(ct) && strcmp(js(ct, "type"), "pkcs12") != 0) {
		long long e = json_integer_value(json_object_get(ct, "entries"));
		fprintf(o->fp, ", version %lld, %lld entr%s", (long long)json_integer_value(json_object_get(ct, "version")),
			e, e == 1 ? "y" : "ies");
	}
	fputc('\n', o->fp);
	if (json_is_object(ct) && strcmp(js(ct, "type"), "pkcs12") == 0) {
		json_t *mac = json_object_get(ct, "mac");
		json_t *ce = json_object_get(ct, "certificates_encryption");
		json_t *ke = json_object_get(ct, "key_encryption");
		if (json_is_object(mac))
			field(o, "MAC", "%s, %lld iteration%s", js(mac, "algorithm"),
			      (long long)json_integer_value(json_object_get(mac, "iterations")),
			      json_integer_value(json_object_get(mac, "iterations")) == 1 ? "" : "s");
		else
			field(o, "MAC", "none (no integrity protection)");
		if (json_is_object(ce)) {
			long long it = json_integer_value(json_object_get(ce, "iterations"));
			if (strcmp(js(ce, "algorithm"), "none") == 0)
				field(o, "certificates", "not encrypted");
			else if (it > 0)
				field(o, "certificates", "%s, %lld iterations", js(ce, "algorithm"), it);
			else
				field(o, "certificates", "%s", js(ce, "algorithm"));
		}
		if (json_is_object(ke) && strcmp(js(ke, "algorithm"), "none") != 0) {
			long long it = json_integer_value(json_object_get(ke, "iterations"));
			if (it > 0)
				field(o, "keys", "%s, %lld iterations", js(ke, "algorithm"), it);
			else
				field(o, "keys", "%s", js(ke, "algorithm"));
		}
		field(o, "legacy", "%s", json_is_true(json_object_get(ct, "legacy"))
					     ? "yes (RC2/RC4/DES: read with OpenSSL's legacy provider, loaded automatically)"
					     : "no");
		if (json_is_true(json_object_get(ct, "needs_password")))
			field(o, "password", "%sneeded%s: give --pass to list its keys and certificates",
			      yellow(o), reset(o));
	} else if (json_is_object(ct)) {
		if (json_is_true(json_object_get(ct, "needs_password")))
			field(o, "password", "%sneeded%s: give --pass to list its entries", yellow(o),
			      reset(o));
		else if (!json_is_true(json_object_get(ct, "entries_read")) &&
			 json_integer_value(json_object_get(ct, "entries")) > 0)
			field(o, "entries", "list them with: mtlskit keystore list %s", js(f, "file"));
	}
	json_array_foreach(objs, i, v) object_text(o, v);
}

/* ---- the verb ---- */

int cmd_inspect(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {CLI_COMMON_LONGOPTS};
	struct input *in = NULL;
	struct ictx x = {c, NULL, 0};
	mtk_secret *pass = NULL, *key_pass = NULL;
	mtk_load_opts opts = {0};
	mtk_err err = {0};
	json_t *files = NULL;
	int first = 0, r, worst = MTK_EXIT_OK;
	const struct input *worst_in = NULL;
	mtk_rc rc;

	r = cli_parse(c, argc, argv, "", longopts, NULL, NULL, usage, &first);
	if (r != 0)
		return r;
	if (c->out != NULL)
		return cli_usage_error(c, usage, "inspect writes no file; -o is not an option of inspect");
	if (c->out_pass_spec != NULL)
		return cli_usage_error(c, usage, "inspect writes nothing; --out-pass is not an option of inspect");
	if (first >= argc)
		return cli_usage_error(c, usage, "give at least one FILE");
	/* Passwords only when asked for: inspect never prompts. */
	if ((rc = cli_password(c, CLI_PASS_IN, "Password: ", false, &pass, &err)) != MTK_OK ||
	    (rc = cli_password(c, CLI_PASS_KEY, "Key password: ", false, &key_pass, &err)) != MTK_OK) {
		r = cli_error(c, rc, &err);
		goto out;
	}
	opts.pass = pass;
	opts.key_pass = key_pass;
	opts.findings = true;

	x.nin = (size_t)(argc - first);
	in = calloc(x.nin, sizeof(*in));
	if (in == NULL) {
		r = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	x.in = in;
	for (size_t i = 0; i < x.nin; i++) {
		in[i].name = argv[first + (int)i];
		read_input(&in[i], &opts, &c->findings);
	}

	files = json_array();
	for (size_t i = 0; i < x.nin; i++) {
		struct input *p = &in[i];
		json_t *f = json_pack("{s:o}", "file", jstr(p->name));
		json_t *objs = json_array();
		json_t *ct;

		json_object_set_new(f, "format",
				    p->read_ok && p->info.format != MTK_FMT_UNKNOWN
					? json_string(mtk_format_name(p->info.format))
					: json_null());
		if (p->read_ok)
			json_object_set_new(f, "size", json_integer((json_int_t)p->size));
		for (size_t k = 0; p->rc == MTK_OK && k < p->set.count; k++) {
			mtk_err oe = {0};
			json_t *oj = object_json(&x, &p->set.objs[k], &oe);
			if (oj == NULL) {
				/* a structure OpenSSL decoded but we cannot describe */
				p->rc = oe.code != MTK_OK ? oe.code : MTK_E_MALFORMED;
				mtk_err_clear(&p->err);
				(void)mtk_err_set(&p->err, p->rc, "%s%s%ld: %s", p->name,
						  p->set.objs[k].line ? ":" : "", p->set.objs[k].line,
						  oe.detail[0] ? oe.detail : "cannot describe the object");
				break;
			}
			json_array_append_new(objs, oj);
		}
		if (p->info.format == MTK_FMT_PEM && p->rc == MTK_OK)
			json_object_set_new(f, "blocks", json_integer((json_int_t)pem_blocks(&p->set)));
		if (p->read_ok && (ct = container_json(p)) != NULL)
			json_object_set_new(f, "container", ct);
		json_object_set_new(f, "objects", objs);
		if (p->rc != MTK_OK) {
			int e = mtk_rc_exit(p->rc);
			json_object_set_new(f, "error", error_json(p->rc, &p->err));
			report_error(c, p);
			if (e > worst) {
				worst = e;
				worst_in = p;
			}
		}
		json_array_append_new(files, f);
	}

	cli_set(c, "files", files);
	if (!c->json) {
		struct out o = {c, stdout};
		size_t i;
		json_t *f;
		bool any = false;

		json_array_foreach(files, i, f)
		{
			if (json_is_object(json_object_get(f, "error")))
				continue;
			if (any)
				fputc('\n', stdout);
			file_text(&o, f);
			any = true;
		}
		if (c->findings.count > 0) {
			if (any)
				fputc('\n', stdout);
			printf("%sFindings%s\n", bold(&o), reset(&o));
			cli_print_findings(c, stdout);
		}
	}
	if (worst_in != NULL && c->error == NULL)
		c->error = error_json(worst_in->rc, &worst_in->err);
	r = worst;
out:
	for (size_t i = 0; in != NULL && i < x.nin; i++)
		mtk_set_free(&in[i].set);
	free(in);
	mtk_secret_free(pass);
	mtk_secret_free(key_pass);
	return r;
}
