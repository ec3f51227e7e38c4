/* conf.c - mtk_track_conf_* and mtk_track_state_*: NAME.conf and NAME.state,
 * both in the gateway's "key value" format (lib/gateway/lines.h). */
#include "mtlskit/renew.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/buf.h"
#include "mtlskit/check.h"
#include "mtlskit/file.h"
#include "mtlskit/timeval.h"
#include "mtlskit/gateway.h"

#include "../gateway/lines.h"
#include "internal.h"

static const char *const target_names[] = {NULL, "pem", "bundle", "mid", "keystore", "gateway"};
static const char *const issuer_names[] = {NULL, "ca-dir", "helper", "acme"};

const char *mtk_trk_target_name(mtk_trk_target t)
{
	return t >= MTK_TRK_PEM && t <= MTK_TRK_GATEWAY ? target_names[t] : "unknown";
}

const char *mtk_trk_issuer_name(mtk_trk_issuer i)
{
	return i >= MTK_TRK_CA_DIR && i <= MTK_TRK_ACME ? issuer_names[i] : "unknown";
}

bool mtk_track_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' &&
		    name[i] != '-')
			return false;
	return true;
}

/* "30d", "12h", "90s", "2w", "15m" -> seconds: the one duration parser
 * (timeval.h), a unit required. */
static mtk_rc parse_span(const char *s, long *out)
{
	int64_t ms = 0;

	if (mtk_duration_parse(s, 0, &ms) != MTK_OK || ms < 1000)
		return MTK_E_INVALID_ARG;
	*out = (long)(ms / 1000);
	return MTK_OK;
}

static mtk_rc set_str(char **f, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return MTK_E_NOMEM;
	free(*f);
	*f = s;
	return MTK_OK;
}

static mtk_rc conf_set(void *ctx, const char *key, const char *v, mtk_err *err)
{
	mtk_track_conf *c = ctx;
	struct {
		const char *key;
		char **field;
	} strs[] = {
	    {"cert", &c->cert},         {"key", &c->key},
	    {"chain", &c->chain},       {"bundle", &c->bundle},
	    {"agent", &c->agent},       {"keystore", &c->keystore},
	    {"alias", &c->alias},       {"store_pass", &c->store_pass},
	    {"ca_dir", &c->ca_dir},     {"ca_pass", &c->ca_pass},
	    {"helper", &c->helper},     {"acme_directory", &c->acme_directory},
	    {"acme_account_key", &c->acme_account_key}, {"acme_http_listen", &c->acme_http_listen},
	    {"acme_webroot", &c->acme_webroot}, {"acme_ca", &c->acme_ca},
	    {"acme_eab_kid", &c->acme_eab_kid}, {"acme_eab_hmac", &c->acme_eab_hmac},
	    {"chain_ca", &c->chain_ca},
	    {"key_type", &c->key_type}, {"verify", &c->verify},
	    {"verify_ca", &c->verify_ca}, {"verify_path", &c->verify_path},
	    {"hook", &c->hook},         {"post_check", &c->post_check},
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(key, strs[i].key) == 0)
			return set_str(strs[i].field, v) == MTK_OK
				   ? MTK_OK
				   : mtk_err_set(err, MTK_E_NOMEM, "%s", key);
	if (strcmp(key, "target") == 0) {
		for (int t = MTK_TRK_PEM; t <= MTK_TRK_GATEWAY; t++)
			if (strcmp(v, target_names[t]) == 0) {
				c->target = (mtk_trk_target)t;
				return MTK_OK;
			}
		return mtk_err_set(err, MTK_E_CONFIG,
				   "target: expected pem, bundle, mid, keystore or gateway, not '%s'", v);
	}
	if (strcmp(key, "issuer") == 0) {
		for (int t = MTK_TRK_CA_DIR; t <= MTK_TRK_ACME; t++)
			if (strcmp(v, issuer_names[t]) == 0) {
				c->issuer = (mtk_trk_issuer)t;
				return MTK_OK;
			}
		return mtk_err_set(err, MTK_E_CONFIG,
				   "issuer: expected ca-dir, helper or acme, not '%s'", v);
	}
	if (strcmp(key, "usage") == 0) {
		if (mtk_usage_parse(v, &c->usage, NULL) != MTK_OK)
			return mtk_err_set(err, MTK_E_CONFIG,
					   "usage: expected client, server or both, not '%s'", v);
		return MTK_OK;
	}
	if (strcmp(key, "profile") == 0) {
		mtk_profile pr;
		if (mtk_profile_from_name(v, &pr) != MTK_OK)
			return mtk_err_set(err, MTK_E_CONFIG, "profile: unknown profile '%s'", v);
		c->profile = (int)pr;
		return MTK_OK;
	}
	if (strcmp(key, "days") == 0) {
		char *end;
		errno = 0;
		c->days = strtol(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || c->days < 1 ||
		    c->days > 36500)
			return mtk_err_set(err, MTK_E_CONFIG, "days: expected 1-36500, not '%s'", v);
		return MTK_OK;
	}
	if (strcmp(key, "renew_at") == 0) {
		long num = 0, den = 0;
		char *end = NULL, *end2 = NULL;
		size_t nd = strspn(v + (strncmp(v, "0.", 2) == 0 ? 2 : 0), "0123456789");
		/* N/M, or 0.DDD (at most six decimals) */
		errno = 0;
		if (strncmp(v, "0.", 2) == 0 && nd >= 1 && nd <= 6 && v[2 + nd] == '\0') {
			num = strtol(v + 2, &end, 10);
			den = 1;
			for (size_t i = 0; i < nd; i++)
				den *= 10;
		} else if (isdigit((unsigned char)v[0])) {
			num = strtol(v, &end, 10);
			if (*end == '/' && isdigit((unsigned char)end[1])) {
				den = strtol(end + 1, &end2, 10);
				if (*end2 != '\0')
					den = 0;
			}
		}
		if (errno != 0 || den <= 0 || num <= 0 || num >= den || den > 1000000)
			return mtk_err_set(err, MTK_E_CONFIG,
					   "renew_at: expected a fraction below 1 (2/3, 0.75), not '%s'",
					   v);
		c->renew_num = num;
		c->renew_den = den;
		return MTK_OK;
	}
	if (strcmp(key, "within") == 0 || strcmp(key, "jitter") == 0) {
		long *f = key[0] == 'w' ? &c->within_s : &c->jitter_s;
		if (strcmp(v, "0") == 0) {
			*f = 0;
			return MTK_OK;
		}
		if (parse_span(v, f) != MTK_OK)
			return mtk_err_set(err, MTK_E_CONFIG,
					   "%s: expected a duration (90s, 12h, 30d, 2w), not '%s'", key,
					   v);
		return MTK_OK;
	}
	if (strcmp(key, "key_policy") == 0) {
		if (strcmp(v, "new") == 0)
			c->keep_key = false;
		else if (strcmp(v, "keep") == 0)
			c->keep_key = true;
		else
			return mtk_err_set(err, MTK_E_CONFIG, "key_policy: expected new or keep, not '%s'",
					   v);
		return MTK_OK;
	}
	if (strcmp(key, "hook_shell") == 0) {
		if (strcmp(v, "yes") == 0)
			c->hook_shell = true;
		else if (strcmp(v, "no") == 0)
			c->hook_shell = false;
		else
			return mtk_err_set(err, MTK_E_CONFIG, "hook_shell: expected yes or no");
		return MTK_OK;
	}
	return mtk_err_set(err, MTK_E_CONFIG, "unknown setting '%s'", key);
}

void mtk_track_conf_free(mtk_track_conf *c)
{
	if (c == NULL)
		return;
	char **strs[] = {&c->name,     &c->cert,      &c->key,         &c->chain,
			 &c->bundle,   &c->agent,     &c->keystore,    &c->alias,
			 &c->store_pass, &c->ca_dir,  &c->ca_pass,     &c->helper,
			 &c->acme_directory, &c->acme_account_key, &c->acme_http_listen,
			 &c->acme_webroot, &c->acme_ca, &c->acme_eab_kid, &c->acme_eab_hmac,
			 &c->chain_ca, &c->key_type, &c->verify, &c->verify_ca,
			 &c->verify_path, &c->hook,   &c->post_check};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

mtk_rc mtk_track_conf_parse(mtk_track_conf *c, const char *name, const char *file,
			    const uint8_t *data, size_t len, mtk_err *err)
{
	mtk_rc rc;

	memset(c, 0, sizeof(*c));
	c->renew_num = 2;
	c->renew_den = 3;
	if (!mtk_track_name_valid(name))
		return mtk_err_set(err, MTK_E_CONFIG,
				   "%s: not a valid name ([A-Za-z0-9._-], at most 64)", name);
	if ((c->name = strdup(name)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", file);
	if ((rc = gw_kv_parse(file, data, len, conf_set, c, err)) != MTK_OK)
		goto fail;
	rc = MTK_E_CONFIG;
	if (c->target == 0) {
		mtk_err_set(err, rc, "%s: target: not set", file);
		goto fail;
	}
	if (c->issuer == 0) {
		mtk_err_set(err, rc, "%s: issuer: not set", file);
		goto fail;
	}
	switch (c->target) {
	case MTK_TRK_PEM:
	case MTK_TRK_GATEWAY:
		if (c->cert == NULL || c->key == NULL) {
			mtk_err_set(err, rc, "%s: target %s needs cert and key", file,
				    mtk_trk_target_name(c->target));
			goto fail;
		}
		break;
	case MTK_TRK_BUNDLE:
		if (c->bundle == NULL) {
			mtk_err_set(err, rc, "%s: target bundle needs bundle", file);
			goto fail;
		}
		break;
	case MTK_TRK_MID:
		if (c->agent == NULL) {
			mtk_err_set(err, rc, "%s: target mid needs agent", file);
			goto fail;
		}
		break;
	case MTK_TRK_KEYSTORE:
		if (c->keystore == NULL || c->alias == NULL || c->store_pass == NULL) {
			mtk_err_set(err, rc, "%s: target keystore needs keystore, alias and store_pass",
				    file);
			goto fail;
		}
		break;
	}
	if (c->store_pass != NULL && strncmp(c->store_pass, "env:", 4) != 0 &&
	    strncmp(c->store_pass, "file:", 5) != 0) {
		mtk_err_set(err, rc, "%s: store_pass: expected env:VAR or file:PATH", file);
		goto fail;
	}
	if (c->ca_pass != NULL && strncmp(c->ca_pass, "env:", 4) != 0 &&
	    strncmp(c->ca_pass, "file:", 5) != 0) {
		mtk_err_set(err, rc, "%s: ca_pass: expected env:VAR or file:PATH", file);
		goto fail;
	}
	if (c->issuer == MTK_TRK_CA_DIR && c->ca_dir == NULL) {
		mtk_err_set(err, rc, "%s: issuer ca-dir needs ca_dir", file);
		goto fail;
	}
	if (c->issuer == MTK_TRK_HELPER && c->helper == NULL) {
		mtk_err_set(err, rc, "%s: issuer helper needs helper", file);
		goto fail;
	}
	if (c->issuer == MTK_TRK_ACME &&
	    (c->acme_directory == NULL || c->acme_account_key == NULL ||
	     (c->acme_http_listen == NULL) == (c->acme_webroot == NULL))) {
		mtk_err_set(err, rc,
			    "%s: issuer acme needs acme_directory, acme_account_key and one of "
			    "acme_http_listen or acme_webroot", file);
		goto fail;
	}
	if (c->acme_eab_hmac != NULL && strncmp(c->acme_eab_hmac, "env:", 4) != 0 &&
	    strncmp(c->acme_eab_hmac, "file:", 5) != 0) {
		mtk_err_set(err, rc, "%s: acme_eab_hmac: expected env:VAR or file:PATH", file);
		goto fail;
	}
	if (c->verify_path != NULL && c->verify == NULL) {
		mtk_err_set(err, rc, "%s: verify_path needs verify", file);
		goto fail;
	}
	if (c->usage == MTK_USAGE_NONE)
		c->usage = c->target == MTK_TRK_GATEWAY ? MTK_USAGE_SERVER : MTK_USAGE_CLIENT;
	if (c->profile == MTK_PROFILE_AUTO)
		c->profile = c->target == MTK_TRK_MID || c->target == MTK_TRK_BUNDLE
				 ? MTK_PROFILE_MID
				 : c->target == MTK_TRK_GATEWAY || c->usage == MTK_USAGE_SERVER
				       ? MTK_PROFILE_SERVER
				       : MTK_PROFILE_OUTBOUND;
	return MTK_OK;
fail:
	mtk_track_conf_free(c);
	return rc;
}

mtk_rc mtk_track_conf_load(const char *dir, const char *name, mtk_track_conf *c, mtk_err *err)
{
	char path[4096];
	mtk_buf b = MTK_BUF_INIT;
	mtk_rc rc;

	if (!mtk_track_name_valid(name))
		return mtk_err_set(err, MTK_E_CONFIG,
				   "%s: not a valid name ([A-Za-z0-9._-], at most 64)", name);
	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	if ((rc = mtk_file_read(path, 1 << 20, &b, err)) != MTK_OK)
		return rc;
	rc = mtk_track_conf_parse(c, name, path, b.data, b.len, err);
	mtk_buf_free(&b);
	return rc;
}

/* ---- state ---- */

static mtk_rc state_set(void *ctx, const char *key, const char *v, mtk_err *err)
{
	mtk_track_state *s = ctx;
	time_t *t = NULL;

	if (strcmp(key, "last_attempt") == 0)
		t = &s->last_attempt;
	else if (strcmp(key, "last_success") == 0)
		t = &s->last_success;
	else if (strcmp(key, "not_after") == 0)
		t = &s->not_after;
	else if (strcmp(key, "next_renewal") == 0)
		t = &s->next_renewal;
	else if (strcmp(key, "poll_after") == 0)
		t = &s->poll_after;
	if (t != NULL)
		return trk_time_parse(v, t) == MTK_OK
			   ? MTK_OK
			   : mtk_err_set(err, MTK_E_CONFIG, "%s: bad time", key);
	if (strcmp(key, "last_error") == 0) {
		snprintf(s->last_error, sizeof(s->last_error), "%s", v);
		return MTK_OK;
	}
	if (strcmp(key, "cookie") == 0) {
		snprintf(s->cookie, sizeof(s->cookie), "%s", v);
		return MTK_OK;
	}
	if (strcmp(key, "staged") == 0 || strcmp(key, "pending") == 0) {
		bool *f = key[0] == 's' ? &s->staged : &s->pending;
		*f = strcmp(v, "yes") == 0;
		return MTK_OK;
	}
	/* A newer mtlskit may know more: the state is ours, not the operator's,
	 * so an unknown key is skipped rather than fatal. */
	return MTK_OK;
}

mtk_rc mtk_track_state_parse(mtk_track_state *s, const char *file, const uint8_t *data,
			     size_t len, mtk_err *err)
{
	memset(s, 0, sizeof(*s));
	return gw_kv_parse(file, data, len, state_set, s, err);
}

mtk_rc mtk_track_state_load(const char *dir, const char *name, mtk_track_state *s, mtk_err *err)
{
	char path[4096];
	mtk_buf b = MTK_BUF_INIT;
	mtk_rc rc;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%s.state", dir, name);
	rc = mtk_file_read(path, 1 << 20, &b, err);
	if (rc == MTK_E_NOENT) {
		mtk_err_clear(err);
		return MTK_OK;
	}
	if (rc != MTK_OK)
		return rc;
	rc = mtk_track_state_parse(s, path, b.data, b.len, err);
	mtk_buf_free(&b);
	return rc;
}

void trk_time_str(time_t t, char *out, size_t cap)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "-");
}

mtk_rc trk_state_save(const char *dir, const char *name, const mtk_track_state *s, mtk_err *err)
{
	char path[4096], t[32];
	mtk_buf b = MTK_BUF_INIT;
	mtk_rc rc = MTK_OK;
	struct {
		const char *k;
		time_t v;
	} ts[] = {{"last_attempt", s->last_attempt},
		  {"last_success", s->last_success},
		  {"not_after", s->not_after},
		  {"next_renewal", s->next_renewal},
		  {"poll_after", s->pending ? s->poll_after : 0}};

	snprintf(path, sizeof(path), "%s/%s.state", dir, name);
	rc = mtk_buf_append_str(&b, "# written by mtlskit track run; do not edit\n");
	for (size_t i = 0; rc == MTK_OK && i < sizeof(ts) / sizeof(ts[0]); i++)
		if (ts[i].v != 0) {
			trk_time_str(ts[i].v, t, sizeof(t));
			rc = mtk_buf_printf(&b, "%s %s\n", ts[i].k, t);
		}
	if (rc == MTK_OK && s->last_error[0] != '\0')
		rc = mtk_buf_printf(&b, "last_error %s\n", s->last_error);
	if (rc == MTK_OK && s->cookie[0] != '\0')
		rc = mtk_buf_printf(&b, "cookie %s\n", s->cookie);
	if (rc == MTK_OK && s->staged)
		rc = mtk_buf_append_str(&b, "staged yes\n");
	if (rc == MTK_OK && s->pending)
		rc = mtk_buf_append_str(&b, "pending yes\n");
	if (rc != MTK_OK)
		rc = mtk_err_set(err, rc, "%s", path);
	else
		rc = mtk_file_write(path, b.data, b.len, MTK_WRITE_SECRET | MTK_WRITE_FORCE, err);
	mtk_buf_free(&b);
	return rc;
}

time_t mtk_track_due(const mtk_track_conf *c, time_t nb, time_t na)
{
	uint64_t h = mtk_fnv1a(MTK_FNV1A_INIT, c->name, strlen(c->name));
	time_t jitter = c->jitter_s > 0 ? (time_t)(h % (uint64_t)(c->jitter_s + 1)) : 0;
	time_t due;

	if (c->within_s > 0)
		due = na - c->within_s;
	else
		due = nb + (time_t)((double)(na - nb) * (double)c->renew_num / (double)c->renew_den);
	return due - jitter;
}
