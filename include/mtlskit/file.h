/*
 * file.h - reading inputs and writing outputs safely.
 *
 * Reads are bounded (MTK_MAX_INPUT by default) and refuse directories and
 * devices that would hang.  Writes go to a temporary file in the target's
 * directory with the final mode (0600 for keys and keystores), are fsync'd,
 * and are then moved into place (then the directory is fsync'd): an existing
 * file is never replaced unless MTK_WRITE_FORCE is given, and a failed write
 * never leaves a half-written file under the final name.
 *
 * The temporary is an unnamed O_TMPFILE inode where the filesystem has them
 * (Linux tmpfs, ext4, xfs, btrfs) and /proc is mounted: it is linked under
 * its final name at commit, so a process killed before that leaves nothing.
 * Replacing a file needs a name for the rename: the inode is linked as
 * "<path>.tmp-l<hex>" just before the rename, with a flock(2) held on it.
 * Elsewhere the temporary is a named "<path>.tmp-<hex>" (O_EXCL|O_NOFOLLOW),
 * flock'd by its writer while it lives.  A writer killed with SIGKILL can
 * leave one of these names behind; the next write that replaces the same
 * path (MTK_WRITE_FORCE, or any write while named temporaries are in use)
 * removes those whose lock is free: at once for the ".tmp-l" kind (locked before
 * they had a name), after a minute for the other (between its creation and
 * its lock there is an instant when it is unlocked).
 *
 * mtk_outset commits several files together: every temporary is written and
 * every destination checked before the first rename, so a command producing
 * three files produces all or none of them.
 */
#ifndef MTLSKIT_FILE_H
#define MTLSKIT_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

#define MTK_MAX_INPUT ((size_t)64 << 20)

/* Reads path ("-" is standard input) into out, at most max bytes (0 means
 * MTK_MAX_INPUT).  Errors: MTK_E_NOENT, MTK_E_ISDIR, MTK_E_PERM, MTK_E_IO,
 * MTK_E_TOO_LARGE.  out is written only on success. */
MTK_WUR mtk_rc mtk_file_read(const char *path, size_t max, mtk_buf *out, mtk_err *err);

/* A regular file mapped read-only (at most max bytes; 0 means
 * MTK_MAX_INPUT), for a large file read once under the lock of its state:
 * no copy, pages come from the page cache.  Whoever changes the file
 * without that lock may cut it under the mapping (then reading it is
 * SIGBUS): only state files that every writer edits under one lock are
 * mapped.  An empty file maps to data NULL, len 0.  Errors as
 * mtk_file_read. */
typedef struct mtk_map {
	const uint8_t *data;
	size_t len;
} mtk_map;

MTK_WUR mtk_rc mtk_file_map(const char *path, size_t max, mtk_map *out, mtk_err *err);
/* NULL-safe; out is zeroed. */
void mtk_file_unmap(mtk_map *m);

enum {
	MTK_WRITE_SECRET = 1u << 0, /* mode 0600: private keys, keystores */
	MTK_WRITE_FORCE = 1u << 1,  /* replace an existing file */
	/* mtk_outset_addv: the rest of the file follows by mtk_outset_append
	 * (a digest over what precedes it).  The bytes given are sent to the
	 * disk without waiting, so that computing the rest overlaps their IO;
	 * the commit waits for all of it.  No effect for "-". */
	MTK_WRITE_MORE = 1u << 2,
};

MTK_WUR mtk_rc mtk_file_write(const char *path, const void *data, size_t len, unsigned flags,
			      mtk_err *err);

/* Appends data to the existing regular file path, for a caller that holds
 * the lock of that file's state (mtk_lock_take): the file is first cut to
 * keep bytes (what the caller read and accepted; bytes after them are an
 * earlier append that was interrupted), data is written there in one call,
 * then fdatasync'd.  On failure the file is cut back to keep.  A file longer
 * than it was read or shorter than keep is MTK_E_IO: someone changed it
 * without the lock. */
MTK_WUR mtk_rc mtk_file_append(const char *path, uint64_t keep, uint64_t was, const void *data, size_t len,
			       mtk_err *err);

/* mtk_file_write of the concatenation of iov[0..iovcnt) (any count; the
 * pieces go to the temporary with writev(2), never gathered in memory). */
MTK_WUR mtk_rc mtk_file_writev(const char *path, const struct iovec *iov, int iovcnt,
			       unsigned flags, mtk_err *err);

typedef struct mtk_outset mtk_outset;

mtk_outset *mtk_outset_new(void);
/* Writes data to a temporary file beside path now; nothing appears under
 * path until mtk_outset_commit().  "-" means standard output: then the bytes
 * are kept and written to fd 1 at commit. */
MTK_WUR mtk_rc mtk_outset_add(mtk_outset *o, const char *path, const void *data, size_t len,
			      unsigned flags, mtk_err *err);
/* mtk_outset_add of the concatenation of iov[0..iovcnt). */
MTK_WUR mtk_rc mtk_outset_addv(mtk_outset *o, const char *path, const struct iovec *iov, int iovcnt,
			       unsigned flags, mtk_err *err);
/* Appends to the output added last, for output written in pieces (add it
 * with len 0 first): to its temporary, fsync'd at commit, or for "-" to the
 * bytes written to standard output at commit. */
MTK_WUR mtk_rc mtk_outset_append(mtk_outset *o, const void *data, size_t len, mtk_err *err);
/* Checks every destination, then renames all temporaries into place. */
MTK_WUR mtk_rc mtk_outset_commit(mtk_outset *o, mtk_err *err);
/* Removes temporaries that were not committed, frees o; NULL-safe. */
void mtk_outset_free(mtk_outset *o);

/* An exclusive flock(2) for a read-modify-write: every writer of the same
 * state takes it before reading and holds it until its rename is done, so
 * concurrent edits run one after the other instead of losing each other's
 * changes.  The lock file is separate from the data because a rename
 * replaces the data file's inode (a lock on it would protect the old one).
 *
 * mtk_lock_take waits for the lock on lock_path, creating that file (0600)
 * when missing; mtk_lock_edit locks "<path>.lock" (path itself may not exist
 * yet).  Errors: MTK_E_NOENT (no such directory), MTK_E_LOCKED. */
typedef struct mtk_lock mtk_lock;

MTK_WUR mtk_rc mtk_lock_take(const char *lock_path, mtk_lock **out, mtk_err *err);
MTK_WUR mtk_rc mtk_lock_edit(const char *path, mtk_lock **out, mtk_err *err);
/* Releases the lock (the lock file stays); NULL-safe. */
void mtk_lock_release(mtk_lock *l);

#endif
