/* test_mid.c - the MID Server policy (mid.h): agent keystore by name, when
 * the default password may be tried, the agent directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtlskit/err.h"
#include "mtlskit/mid.h"

static void test_constants(void **state)
{
	(void)state;
	assert_string_equal(MTK_MID_ALIAS, "defaultsecuritykeypairhandle");
	assert_string_equal(MTK_MID_KEYSTORE, "security/" MTK_MID_KEYSTORE_NAME);
	assert_int_equal(mtk_mid_default_pass()->len, 8);
	assert_memory_equal(mtk_mid_default_pass()->s, "changeit", 8);
}

static void test_agent_keystore_by_name(void **state)
{
	(void)state;
	assert_true(mtk_mid_is_agent_keystore("agent_keystore.jks"));
	assert_true(mtk_mid_is_agent_keystore("/opt/mid/agent/security/agent_keystore.jks"));
	assert_false(mtk_mid_is_agent_keystore("my_agent_keystore.jks"));
	assert_false(mtk_mid_is_agent_keystore("agent_keystore.jks.bak-20260101T000000Z"));
	assert_false(mtk_mid_is_agent_keystore("agent_keystore.JKS"));
	assert_false(mtk_mid_is_agent_keystore("a.jks"));
	assert_false(mtk_mid_is_agent_keystore(""));
	assert_false(mtk_mid_is_agent_keystore(NULL));
}

static void test_when_the_default_is_tried(void **state)
{
	(void)state;
	/* Reading: an agent keystore only, by name. */
	assert_ptr_equal(mtk_mid_default_for(MTK_MID_READ, "x/security/agent_keystore.jks"),
			 mtk_mid_default_pass());
	assert_null(mtk_mid_default_for(MTK_MID_READ, "x/security/partners.jks"));
	assert_null(mtk_mid_default_for(MTK_MID_READ, "store.p12"));
	assert_null(mtk_mid_default_for(MTK_MID_READ, NULL));
	/* A keystore verb on a store the user named: any store. */
	assert_ptr_equal(mtk_mid_default_for(MTK_MID_KEYSTORE_VERB, "partners.jks"),
			 mtk_mid_default_pass());
}

static char tmp[64];

static void put(const char *rel)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs("<parameters/>\n", f);
	fclose(f);
}

static void test_agent_dir(void **state)
{
	char p[256], *ks = NULL;
	mtk_err err = {0};

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/mtk-mid-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(p, sizeof(p), "%s/agent", tmp);
	assert_int_equal(mkdir(p, 0700), 0);

	/* No such directory. */
	snprintf(p, sizeof(p), "%s/none", tmp);
	assert_int_equal(mtk_mid_agent_dir(p, &ks, &err), MTK_E_NOENT);
	assert_null(ks);
	mtk_err_clear(&err);

	/* Nothing marks it: the message says what was looked for. */
	snprintf(p, sizeof(p), "%s/agent", tmp);
	assert_int_equal(mtk_mid_agent_dir(p, &ks, &err), MTK_E_NOT_FOUND);
	assert_non_null(strstr(err.detail, "looked for"));
	assert_non_null(strstr(err.detail, "security/agent_keystore.jks"));
	mtk_err_clear(&err);

	/* The MID Server's own directory, one level above agent/. */
	put("agent/config.xml");
	assert_int_equal(mtk_mid_agent_dir(tmp, &ks, &err), MTK_E_NOT_FOUND);
	assert_null(ks);
	assert_non_null(strstr(err.detail, "(use "));
	mtk_err_clear(&err);

	/* The agent directory: its keystore's path, which may not exist yet. */
	assert_int_equal(mtk_mid_agent_dir(p, &ks, &err), MTK_OK);
	snprintf(p, sizeof(p), "%s/agent/security/agent_keystore.jks", tmp);
	assert_string_equal(ks, p);
	free(ks);
	snprintf(p, sizeof(p), "%s/agent/", tmp);
	assert_int_equal(mtk_mid_agent_dir(p, &ks, &err), MTK_OK);
	snprintf(p, sizeof(p), "%s/agent/security/agent_keystore.jks", tmp);
	assert_string_equal(ks, p);
	free(ks);

	snprintf(p, sizeof(p), "%s/agent/config.xml", tmp);
	unlink(p);
	snprintf(p, sizeof(p), "%s/agent", tmp);
	rmdir(p);
	rmdir(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_agent_keystore_by_name),
		cmocka_unit_test(test_when_the_default_is_tried),
		cmocka_unit_test(test_agent_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
