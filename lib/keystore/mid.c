/* mid.c - the MID Server policy (mid.h): alias, agent directory, default
 * password and when it may be tried. */
#include "mtlskit/mid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const mtk_secret default_pass = {(char *)MTK_MID_DEFAULT_PASS,
					sizeof(MTK_MID_DEFAULT_PASS) - 1};

const mtk_secret *mtk_mid_default_pass(void)
{
	return &default_pass;
}

bool mtk_mid_is_agent_keystore(const char *path)
{
	static const char base[] = MTK_MID_KEYSTORE_NAME;
	size_t n, b = sizeof(base) - 1;

	if (path == NULL)
		return false;
	n = strlen(path);
	return n >= b && strcmp(path + n - b, base) == 0 && (n == b || path[n - b - 1] == '/');
}

const mtk_secret *mtk_mid_default_for(mtk_mid_use use, const char *path)
{
	if (use == MTK_MID_KEYSTORE_VERB)
		return &default_pass;
	return mtk_mid_is_agent_keystore(path) ? &default_pass : NULL;
}

/* "dir/name", or NULL (out of memory). */
static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s%s%s", dir,
			 dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return p;
}

static bool is_regular(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

mtk_rc mtk_mid_agent_dir(const char *dir, char **keystore_path, mtk_err *err)
{
	char *mark = NULL, *below = NULL;
	struct stat st;
	mtk_rc rc = MTK_OK;

	*keystore_path = NULL;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return mtk_err_set(
		    err, MTK_E_NOENT,
		    "%s (the MID Server's agent directory, holding " MTK_MID_AGENT_MARK ")", dir);
	if ((mark = path_join(dir, MTK_MID_AGENT_MARK)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
	if (!is_regular(mark)) {
		/* The articles' classic slip: the MID Server's own directory,
		 * one level above agent/. */
		if ((below = path_join(dir, "agent/" MTK_MID_AGENT_MARK)) == NULL)
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
		else if (is_regular(below))
			rc = mtk_err_set(err, MTK_E_NOT_FOUND,
					 "%s is not a MID Server agent directory: looked for %s, "
					 "found %s (use %s%sagent)",
					 dir, mark, below, dir,
					 dir[strlen(dir) - 1] == '/' ? "" : "/");
		else
			rc = mtk_err_set(err, MTK_E_NOT_FOUND,
					 "%s is not a MID Server agent directory: looked for %s "
					 "(the agent directory holds " MTK_MID_AGENT_MARK
					 ", bin/, conf/ and " MTK_MID_KEYSTORE ")",
					 dir, mark);
	} else if ((*keystore_path = path_join(dir, MTK_MID_KEYSTORE)) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
	}
	free(mark);
	free(below);
	return rc;
}
