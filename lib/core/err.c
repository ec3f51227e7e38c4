#include "mtlskit/err.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static const struct {
	const char *name;
	const char *message;
	int exit_status;
} table[] = {
#define MTK_X_ROW(name, exitc, msg) {#name, msg, exitc},
	MTK_ERROR_LIST(MTK_X_ROW)
#undef MTK_X_ROW
};

_Static_assert(sizeof(table) / sizeof(table[0]) == MTK_E__COUNT, "error table out of sync");

const char *mtk_rc_name(mtk_rc rc)
{
	if ((unsigned)rc >= MTK_E__COUNT)
		return "MTK_E_UNKNOWN";
	return table[rc].name;
}

const char *mtk_rc_message(mtk_rc rc)
{
	if ((unsigned)rc >= MTK_E__COUNT)
		return "unknown error";
	return table[rc].message;
}

int mtk_rc_exit(mtk_rc rc)
{
	if ((unsigned)rc >= MTK_E__COUNT)
		return MTK_EXIT_INTERNAL;
	return table[rc].exit_status;
}

void mtk_err_clear(mtk_err *err)
{
	if (err == NULL)
		return;
	err->code = MTK_OK;
	err->detail[0] = '\0';
	err->ossl[0] = '\0';
}

void mtk_err_drain_openssl(void)
{
	ERR_clear_error();
}

mtk_rc mtk_err_setv(mtk_err *err, mtk_rc code, const char *fmt, va_list ap)
{
	unsigned long e;

	if (err == NULL || err->code != MTK_OK) {
		ERR_clear_error();
		return code;
	}
	err->code = code;
	err->detail[0] = '\0';
	if (fmt != NULL)
		vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	err->ossl[0] = '\0';
	/* The earliest error in the queue is the root cause; keep that one. */
	e = ERR_get_error();
	if (e != 0) {
		const char *reason = ERR_reason_error_string(e);
		const char *lib = ERR_lib_error_string(e);

		snprintf(err->ossl, sizeof(err->ossl), "%s%s%s", lib ? lib : "",
			 lib && reason ? ": " : "", reason ? reason : "");
	}
	ERR_clear_error();
	return code;
}

mtk_rc mtk_err_set(mtk_err *err, mtk_rc code, const char *fmt, ...)
{
	va_list ap;
	mtk_rc rc;

	va_start(ap, fmt);
	rc = mtk_err_setv(err, code, fmt, ap);
	va_end(ap);
	return rc;
}
