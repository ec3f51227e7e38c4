/*
 * file.h - reading inputs and writing outputs safely.
 *
 * Reads are bounded (MTK_MAX_INPUT by default) and refuse directories and
 * devices that would hang.  Writes go to a temporary file in the target's
 * directory, created O_EXCL|O_NOFOLLOW with the final mode (0600 for keys and
 * keystores), are fsync'd, and are then moved into place: an existing file is
 * never replaced unless MTK_WRITE_FORCE is given, and a failed write never
 * leaves a half-written file under the final name.
 *
 * mtk_outset commits several files together: every temporary is written and
 * every destination checked before the first rename, so a command producing
 * three files produces all or none of them.
 */
#ifndef MTLSKIT_FILE_H
#define MTLSKIT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

#define MTK_MAX_INPUT ((size_t)64 << 20)

/* Reads path ("-" is standard input) into out, at most max bytes (0 means
 * MTK_MAX_INPUT).  Errors: MTK_E_NOENT, MTK_E_ISDIR, MTK_E_PERM, MTK_E_IO,
 * MTK_E_TOO_LARGE.  out is written only on success. */
MTK_WUR mtk_rc mtk_file_read(const char *path, size_t max, mtk_buf *out, mtk_err *err);

enum {
	MTK_WRITE_SECRET = 1u << 0, /* mode 0600: private keys, keystores */
	MTK_WRITE_FORCE = 1u << 1,  /* replace an existing file */
};

MTK_WUR mtk_rc mtk_file_write(const char *path, const void *data, size_t len, unsigned flags,
			      mtk_err *err);

typedef struct mtk_outset mtk_outset;

mtk_outset *mtk_outset_new(void);
/* Writes data to a temporary file beside path now; nothing appears under
 * path until mtk_outset_commit().  "-" means standard output: then the bytes
 * are kept and written to fd 1 at commit. */
MTK_WUR mtk_rc mtk_outset_add(mtk_outset *o, const char *path, const void *data, size_t len,
			      unsigned flags, mtk_err *err);
/* Checks every destination, then renames all temporaries into place. */
MTK_WUR mtk_rc mtk_outset_commit(mtk_outset *o, mtk_err *err);
/* Removes temporaries that were not committed, frees o; NULL-safe. */
void mtk_outset_free(mtk_outset *o);

#endif
