/*
 * pass.h - passwords: where they come from and how long they live.
 *
 * A password source (SPEC) is one of env:VAR, file:PATH (first line),
 * fd:N (first line), pass:TEXT (works, but is visible in the process list:
 * MTK_PASS_VISIBLE is set so the caller can warn).  With no SPEC the prompt
 * callback is used if the caller provided one (a terminal).
 *
 * The library never reads the environment or a terminal itself: the caller
 * passes mtk_pass_io with getenv and prompt callbacks.
 *
 * mtk_secret holds a NUL-terminated password; mtk_secret_free wipes it.
 */
#ifndef MTLSKIT_PASS_H
#define MTLSKIT_PASS_H

#include <stddef.h>

#include "mtlskit/err.h"

typedef struct mtk_secret {
	char *s;
	size_t len;
} mtk_secret;

/* Copies len bytes of s into a new secret; NULL on allocation failure. */
mtk_secret *mtk_secret_new(const char *s, size_t len);
mtk_secret *mtk_secret_dup(const mtk_secret *s);
/* Wipes and frees; NULL-safe. */
void mtk_secret_free(mtk_secret *s);

typedef struct mtk_pass_io {
	/* Returns the value of an environment variable, or NULL. */
	const char *(*getenv_fn)(void *ctx, const char *name);
	/* Asks for a password; writes at most cap-1 bytes and a NUL into buf.
	 * NULL when no terminal is available. */
	mtk_rc (*prompt_fn)(void *ctx, const char *prompt, char *buf, size_t cap);
	void *ctx;
} mtk_pass_io;

enum {
	MTK_PASS_VISIBLE = 1u << 0, /* came from pass:TEXT, visible in ps */
	MTK_PASS_PROMPTED = 1u << 1,
};

#define MTK_PASS_MAX 1024

/* Resolves spec (may be NULL: prompt) into *out.  Errors: MTK_E_PASS_SPEC for
 * an unknown scheme or bad fd, MTK_E_NOENT/MTK_E_PERM for file:,
 * MTK_E_PASSWORD_NEEDED when spec is NULL and there is no prompt. */
MTK_WUR mtk_rc mtk_pass_resolve(const char *spec, const char *prompt, const mtk_pass_io *io,
				mtk_secret **out, unsigned *flags, mtk_err *err);

#endif
