/* test_renew.c - `track`'s configuration and state parsers, names, and when
 * a certificate is due (lib/renew). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/buf.h"
#include "mtlskit/renew.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static void test_conf_defaults(void **state)
{
	mtk_track_conf c;
	mtk_err e = {0};
	const char *f = "# a MID Server\n"
			"target mid\n"
			"agent /opt/servicenow/mid/agent\n"
			"issuer helper\n"
			"helper /usr/libexec/certmonger/scep-submit -u http://ndes/x\n"
			"hook systemctl restart mid\r\n";
	(void)state;
	assert_int_equal(mtk_track_conf_parse(&c, "mid1", "mid1.conf", S(f), &e), MTK_OK);
	assert_string_equal(c.name, "mid1");
	assert_int_equal(c.target, MTK_TRK_MID);
	assert_int_equal(c.issuer, MTK_TRK_HELPER);
	assert_int_equal(c.usage, MTK_USAGE_CLIENT); /* a client target by default */
	assert_int_equal(c.renew_num, 2);
	assert_int_equal(c.renew_den, 3);
	assert_false(c.keep_key);
	assert_string_equal(c.hook, "systemctl restart mid");
	mtk_track_conf_free(&c);

	assert_int_equal(mtk_track_conf_parse(&c, "gw", "gw.conf",
					      S("target gateway\ncert /c\nkey /k\nissuer ca-dir\n"
						"ca_dir /ca\nrenew_at 0.75\nwithin 30d\njitter 6h\n"
						"key_policy keep\n"),
					      &e),
			 MTK_OK);
	assert_int_equal(c.usage, MTK_USAGE_SERVER); /* the gateway's is a server certificate */
	assert_int_equal(c.renew_num, 75);
	assert_int_equal(c.renew_den, 100);
	assert_int_equal(c.within_s, 30L * 86400);
	assert_int_equal(c.jitter_s, 6L * 3600);
	assert_true(c.keep_key);
	mtk_track_conf_free(&c);
}

static void expect_config_error(const char *name, const char *text, const char *detail)
{
	mtk_track_conf c;
	mtk_err e = {0};

	assert_int_equal(mtk_track_conf_parse(&c, name, "t.conf", S(text), &e), MTK_E_CONFIG);
	if (strstr(e.detail, detail) == NULL)
		fail_msg("detail '%s' lacks '%s'", e.detail, detail);
}

static void test_conf_errors(void **state)
{
	(void)state;
	expect_config_error("a", "target pem\nissuer ca-dir\nca_dir /x\ncert /c\n",
			    "target pem needs cert and key");
	expect_config_error("a", "target pem\ncert /c\nkey /k\n", "issuer: not set");
	expect_config_error("a", "target pm\n", "t.conf:1: target: expected pem");
	expect_config_error("a", "issuer ca-dir\nrenew_at 3/2\n", "t.conf:2: renew_at");
	expect_config_error("a", "renew_at 0.12345678901234567890123\n", "t.conf:1: renew_at");
	expect_config_error("a", "renew_at x/3\n", "t.conf:1: renew_at");
	expect_config_error("a", "renew_at 2/3x\n", "t.conf:1: renew_at");
	expect_config_error("a", "within 30x\n", "t.conf:1: within: expected a duration");
	expect_config_error("a", "frobnicate 1\n", "unknown setting 'frobnicate'");
	expect_config_error("a", "target keystore\nkeystore k\nalias a\nstore_pass pass:x\n"
				 "issuer ca-dir\nca_dir /c\n",
			    "store_pass: expected env:VAR or file:PATH");
	expect_config_error("a", "target pem\ncert c\nkey k\nissuer acme\n"
				 "acme_directory https://x/dir\nacme_account_key a\n",
			    "one of acme_http_listen or acme_webroot");
	expect_config_error("a", "cert a\x01b\n", "control character");
	expect_config_error("../etc", "target pem\n", "not a valid name");
	expect_config_error(".hidden", "target pem\n", "not a valid name");
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(mtk_track_name_valid("mid01.example.com"));
	assert_true(mtk_track_name_valid("a_b-c"));
	assert_false(mtk_track_name_valid(""));
	assert_false(mtk_track_name_valid("a/b"));
	assert_false(mtk_track_name_valid("a b"));
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_false(mtk_track_name_valid(long_name));
	long_name[64] = '\0';
	assert_true(mtk_track_name_valid(long_name));
}

static void test_due(void **state)
{
	mtk_track_conf c;
	mtk_err e = {0};
	const time_t nb = 1700000000, na = nb + 90 * 86400;
	uint64_t h;

	(void)state;
	assert_int_equal(mtk_track_conf_parse(&c, "web", "w.conf",
					      S("target pem\ncert c\nkey k\nissuer ca-dir\nca_dir d\n"),
					      &e),
			 MTK_OK);
	assert_int_equal(mtk_track_due(&c, nb, na), nb + 60 * 86400);
	c.within_s = 7 * 86400;
	assert_int_equal(mtk_track_due(&c, nb, na), na - 7 * 86400);
	c.within_s = 0;
	c.jitter_s = 3600;
	h = mtk_fnv1a(MTK_FNV1A_INIT, "web", 3);
	assert_int_equal(mtk_track_due(&c, nb, na), nb + 60 * 86400 - (time_t)(h % 3601));
	/* deterministic: the same name, the same time */
	assert_int_equal(mtk_track_due(&c, nb, na), mtk_track_due(&c, nb, na));
	mtk_track_conf_free(&c);
}

static void test_state(void **state)
{
	mtk_track_state s;
	mtk_err e = {0};
	const char *f = "# written by mtlskit track run; do not edit\n"
			"last_attempt 2026-12-04T10:00:00Z\n"
			"last_success 2026-06-01T00:00:00Z\n"
			"last_error staged: 127.0.0.1:8443/x answered 403\n"
			"cookie ticket-42\n"
			"staged yes\n"
			"future_key from a newer mtlskit\n";
	(void)state;
	assert_int_equal(mtk_track_state_parse(&s, "s", S(f), &e), MTK_OK);
	assert_int_equal(s.last_attempt, 1796378400);
	assert_string_equal(s.last_error, "staged: 127.0.0.1:8443/x answered 403");
	assert_string_equal(s.cookie, "ticket-42");
	assert_true(s.staged);
	assert_false(s.pending);
	assert_int_equal(mtk_track_state_parse(&s, "s", S("last_attempt yesterday\n"), &e),
			 MTK_E_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_defaults), cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_names),         cmocka_unit_test(test_due),
		cmocka_unit_test(test_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
