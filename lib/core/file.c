#include "mtlskit/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static mtk_rc errno_rc(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return MTK_E_NOENT;
	case EISDIR:
		return MTK_E_ISDIR;
	case EACCES:
	case EPERM:
		return MTK_E_PERM;
	default:
		return MTK_E_IO;
	}
}

/* Opens an input for reading and checks it: with stdin_ok, "-" is
 * standard input (any kind but a directory); else a regular file of at
 * most max bytes.  *fd is -1 on failure (standard input is never closed by
 * the callers). */
static mtk_rc input_open(const char *path, size_t max, bool stdin_ok, int *fd, struct stat *st,
			 mtk_err *err)
{
	bool is_stdin = stdin_ok && strcmp(path, "-") == 0;
	mtk_rc rc;

	/* O_NONBLOCK: opening a FIFO with no writer must not hang. */
	*fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*fd < 0)
		return mtk_err_set(err, errno_rc(errno), "%s: %s", path, strerror(errno));
	if (fstat(*fd, st) != 0)
		rc = mtk_err_set(err, MTK_E_IO, "%s: %s", path, strerror(errno));
	else if (S_ISDIR(st->st_mode))
		rc = mtk_err_set(err, MTK_E_ISDIR, "%s: is a directory; give a file", path);
	else if (!is_stdin && !S_ISREG(st->st_mode))
		rc = mtk_err_set(err, MTK_E_IO, "%s: not a regular file", path);
	else if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > max)
		rc = mtk_err_set(err, MTK_E_TOO_LARGE, "%s: %lld bytes, over the %zu MiB limit",
				 path, (long long)st->st_size, max >> 20);
	else
		return MTK_OK;
	if (!is_stdin)
		close(*fd);
	*fd = -1;
	return rc;
}

mtk_rc mtk_file_read(const char *path, size_t max, mtk_buf *out, mtk_err *err)
{
	mtk_buf b = MTK_BUF_INIT;
	struct stat st;
	int fd = -1;
	bool is_stdin = strcmp(path, "-") == 0;
	mtk_rc rc;

	if (max == 0)
		max = MTK_MAX_INPUT;
	b.secret = out->secret;
	if ((rc = input_open(path, max, true, &fd, &st, err)) != MTK_OK)
		goto out;
	if (!is_stdin) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	/* A regular file is read into a buffer of its size (plus one byte to
	 * see the end), reserved once: no regrowth, no copy. */
	if (S_ISREG(st.st_mode) && st.st_size > 0 && (rc = mtk_buf_reserve(&b, (size_t)st.st_size + 1)) != MTK_OK) {
		mtk_err_set(err, rc, "%s", path);
		goto out;
	}
	if (S_ISREG(st.st_mode))
		mtk_prefault(b.data, b.cap);
	for (;;) {
		/* A secret buffer is wiped whole when freed, and wiping 64 KiB
		 * never written costs a page fault per 4 KiB: reads ask for what
		 * is left of the file's size. */
		size_t want = 65536;
		ssize_t n;

		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > b.len &&
		    (uint64_t)st.st_size - b.len < want)
			want = (size_t)st.st_size - b.len + 1;
		else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size <= b.len)
			want = 4096; /* the file grew, or the size was a guess */
		if ((rc = mtk_buf_reserve(&b, want)) != MTK_OK) {
			mtk_err_set(err, rc, "%s", path);
			goto out;
		}
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = mtk_err_set(err, errno_rc(errno), "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (b.len > max) {
			rc = mtk_err_set(err, MTK_E_TOO_LARGE, "%s: over the %zu MiB limit", path,
					 max >> 20);
			goto out;
		}
	}
	if ((rc = mtk_buf_reserve(&b, 0)) != MTK_OK)
		goto out;
	b.data[b.len] = 0;
	mtk_buf_free(out);
	*out = b;
	b.data = NULL;
	rc = MTK_OK;
out:
	mtk_buf_free(&b);
	if (fd >= 0 && !is_stdin)
		close(fd);
	return rc;
}

mtk_rc mtk_file_map(const char *path, size_t max, mtk_map *out, mtk_err *err)
{
	struct stat st;
	void *p;
	int fd;
	mtk_rc rc;

	if (max == 0)
		max = MTK_MAX_INPUT;
	memset(out, 0, sizeof(*out));
	if ((rc = input_open(path, max, false, &fd, &st, err)) != MTK_OK)
		return rc;
	if (st.st_size == 0) {
		close(fd);
		return MTK_OK;
	}
	/* Not MAP_POPULATE: faults map the page cache's pages 16 at a time
	 * (fault-around), which measured cheaper than populating up front. */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return mtk_err_set(err, errno == ENOMEM ? MTK_E_NOMEM : MTK_E_IO, "%s: %s", path, strerror(errno));
	out->data = p;
	out->len = (size_t)st.st_size;
	return MTK_OK;
}

void mtk_file_unmap(mtk_map *m)
{
	if (m == NULL)
		return;
	if (m->data != NULL)
		munmap((void *)m->data, m->len);
	m->data = NULL;
	m->len = 0;
}

struct outfile {
	char *path;
	char *tmp; /* the temporary's name; NULL while it has none */
	int fd;	   /* the temporary, flock'd; -1 for stdout */
	bool anon; /* fd is an O_TMPFILE inode */
	uint8_t *stdout_data;
	size_t stdout_len;
	unsigned flags;
	bool appended; /* written to after write_temp()'s fsync */
};

struct mtk_outset {
	struct outfile *files;
	size_t count;
	bool committed;
};

/* A writer killed before its "<path>.tmp-<hex>" temporary was locked cannot
 * be told from a dead one; such files are left alone this long. */
#define STALE_TEMP_SECONDS 60
#define TEMP_HEX 12

mtk_outset *mtk_outset_new(void)
{
	return calloc(1, sizeof(mtk_outset));
}

mtk_rc mtk_file_append(const char *path, uint64_t keep, uint64_t was, const void *data, size_t len,
			mtk_err *err)
{
	const uint8_t *p = data;
	uint64_t at = keep;
	struct stat st;
	mtk_rc rc = MTK_OK;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

	if (fd < 0)
		return mtk_err_set(err, errno_rc(errno), "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != was || keep > was) {
		close(fd);
		return mtk_err_set(err, MTK_E_IO, "%s changed while it was being edited", path);
	}
	if (keep < was && ftruncate(fd, (off_t)keep) != 0) {
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", path, n < 0 ? strerror(errno) : "short write");
			break;
		}
		p += n;
		len -= (size_t)n;
		at += (uint64_t)n;
	}
	if (rc == MTK_OK && fdatasync(fd) != 0)
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", path, strerror(errno));
	if (rc != MTK_OK && ftruncate(fd, (off_t)keep) != 0) {
		/* nothing half-written stays, as far as the file can be cut */
	}
out:
	close(fd);
	return rc;
}

/* write_all over pieces: writev(2) in batches of 64 (under IOV_MAX), partial
 * writes resumed where they stopped. */
static mtk_rc write_allv(int fd, const struct iovec *iov, int iovcnt)
{
	struct iovec cur[64];

	while (iovcnt > 0) {
		int n = iovcnt < (int)(sizeof(cur) / sizeof(cur[0]))
			    ? iovcnt
			    : (int)(sizeof(cur) / sizeof(cur[0]));
		ssize_t w;

		memcpy(cur, iov, (size_t)n * sizeof(cur[0]));
		for (int i = 0; i < n;) {
			if (cur[i].iov_len == 0) {
				i++;
				continue;
			}
			w = writev(fd, cur + i, n - i);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) /* 0 for bytes offered: no progress to wait for */
				return MTK_E_WRITE;
			while (i < n && (size_t)w >= cur[i].iov_len) {
				w -= (ssize_t)cur[i].iov_len;
				cur[i++].iov_len = 0;
			}
			if (i < n) {
				cur[i].iov_base = (uint8_t *)cur[i].iov_base + w;
				cur[i].iov_len -= (size_t)w;
			}
		}
		iov += n;
		iovcnt -= n;
	}
	return MTK_OK;
}

static mtk_rc write_all(int fd, const void *data, size_t len)
{
	struct iovec one = {(void *)data, len};

	return write_allv(fd, &one, 1);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	d = strndup(path, (size_t)(slash - path));
	return d;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == 0;
}

/* Removes the temporaries of path that a killed writer left (file.h says
 * which).  now is the filesystem's clock (the mtime of a file just written),
 * which is the one their mtimes were set by.  Best effort: anything
 * unexpected leaves the file alone. */
static void sweep_stale(const char *path, time_t now)
{
	const char *base = base_of(path);
	size_t blen = strlen(base);
	char *dir = dir_of(path);
	struct dirent *de;
	DIR *d;

	if (dir == NULL || blen == 0 || (d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		struct stat st, st2;
		bool born_locked;
		int fd;

		if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp-", 5) != 0)
			continue;
		n += blen + 5;
		born_locked = *n == 'l';
		if (!is_hex(n + born_locked, TEMP_HEX))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!born_locked && now - st.st_mtime < STALE_TEMP_SECONDS)
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* A free lock: its writer is gone.  The name must still be the
		 * inode that was locked. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    fstatat(dirfd(d), de->d_name, &st2, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == st2.st_dev && st.st_ino == st2.st_ino)
			(void)unlinkat(dirfd(d), de->d_name, 0);
		close(fd);
	}
	closedir(d);
	free(dir);
}

static mtk_rc temp_name(const char *path, bool linked, char *out, size_t outlen, mtk_err *err)
{
	unsigned char rnd[TEMP_HEX / 2];

	if (mtk_random(rnd, sizeof(rnd)) != MTK_OK)
		return mtk_err_set(err, MTK_E_CRYPTO, "random bytes for a temporary name");
	snprintf(out, outlen, "%s.tmp-%s%02x%02x%02x%02x%02x%02x", path, linked ? "l" : "", rnd[0],
		 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	return MTK_OK;
}

static void proc_fd_path(int fd, char *out, size_t outlen)
{
	snprintf(out, outlen, "/proc/self/fd/%d", fd);
}

/* An unnamed temporary in path's directory, or -1 (then a named one is
 * used).  It is only useful when it can be given a name later. */
static int open_anon(const char *path, mode_t mode)
{
#ifdef O_TMPFILE
	char proc[64];
	char *dir = dir_of(path);
	int fd;

	if (dir == NULL)
		return -1;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	free(dir);
	if (fd < 0)
		return -1;
	proc_fd_path(fd, proc, sizeof(proc));
	if (access(proc, F_OK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
#else
	(void)path;
	(void)mode;
	return -1;
#endif
}

/* Starts the writeback of what fd holds and returns at once: advice, so
 * its failure is not an error (the fsync at commit reports IO errors). */
static int start_writeback(int fd)
{
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
#endif
	return 0;
}

/* Writes the data to a flock'd temporary beside path: f->fd, and f->tmp when
 * it has a name. */
static mtk_rc write_temp(const char *path, const struct iovec *iov, int iovcnt, unsigned flags,
			 struct outfile *f, mtk_err *err)
{
	mode_t mode = (flags & MTK_WRITE_SECRET) ? 0600 : 0644;
	char *tmp = NULL;
	size_t tlen = strlen(path) + 32;
	struct stat st;
	int fd;
	mtk_rc rc;

	fd = open_anon(path, mode);
	if (fd < 0) {
		tmp = malloc(tlen);
		if (tmp == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		for (int attempt = 0; attempt < 8; attempt++) {
			if ((rc = temp_name(path, false, tmp, tlen, err)) != MTK_OK)
				goto out;
			fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
			if (fd >= 0 || errno != EEXIST)
				break;
		}
		if (fd < 0) {
			/* A failed write is exit 6 whatever the cause (README). */
			rc = mtk_err_set(err, MTK_E_WRITE, "%s: cannot create: %s", path,
					 strerror(errno));
			goto out;
		}
	}
	/* The lock tells a sweeper this writer is alive.  The umask may have
	 * narrowed the mode; keys must be exactly 0600. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fchmod(fd, mode) != 0 ||
	    write_allv(fd, iov, iovcnt) != MTK_OK ||
	    ((flags & MTK_WRITE_MORE) ? start_writeback(fd) : fsync(fd)) != 0) {
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", path, strerror(errno));
		if (tmp != NULL)
			unlink(tmp);
		close(fd);
		goto out;
	}
	/* Leftovers come from replacing writes and from named temporaries: a
	 * new unnamed one never had a name.  Not scanning then keeps writing
	 * many new files into one big directory (a CA's certs/) linear. */
	if (((flags & MTK_WRITE_FORCE) || tmp != NULL) && fstat(fd, &st) == 0)
		sweep_stale(path, st.st_mtime);
	f->fd = fd;
	f->appended = (flags & MTK_WRITE_MORE) != 0; /* synced at commit */
	f->anon = tmp == NULL;
	f->tmp = tmp;
	tmp = NULL;
	rc = MTK_OK;
out:
	free(tmp);
	return rc;
}

mtk_rc mtk_outset_add(mtk_outset *o, const char *path, const void *data, size_t len,
		      unsigned flags, mtk_err *err)
{
	struct iovec one = {(void *)data, len};

	return mtk_outset_addv(o, path, &one, 1, flags, err);
}

mtk_rc mtk_outset_addv(mtk_outset *o, const char *path, const struct iovec *iov, int iovcnt,
		       unsigned flags, mtk_err *err)
{
	struct outfile f = {0};
	size_t len = 0;
	struct outfile *nf;
	mtk_rc rc;

	for (size_t i = 0; i < o->count; i++)
		if (strcmp(o->files[i].path, path) == 0)
			return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: named twice as output", path);
	f.flags = flags;
	f.fd = -1;
	f.path = strdup(path);
	if (f.path == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	if (strcmp(path, "-") == 0) {
		for (int i = 0; i < iovcnt; i++)
			len += iov[i].iov_len;
		f.stdout_data = malloc(len ? len : 1);
		if (f.stdout_data == NULL) {
			free(f.path);
			return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		}
		for (int i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len > 0)
				memcpy(f.stdout_data + f.stdout_len, iov[i].iov_base,
				       iov[i].iov_len);
			f.stdout_len += iov[i].iov_len;
		}
	} else {
		if (!(flags & MTK_WRITE_FORCE) && access(path, F_OK) == 0) {
			free(f.path);
			return mtk_err_set(err, MTK_E_EXISTS, "%s", path);
		}
		if ((rc = write_temp(path, iov, iovcnt, flags, &f, err)) != MTK_OK) {
			free(f.path);
			return rc;
		}
	}
	nf = realloc(o->files, (o->count + 1) * sizeof(*nf));
	if (nf == NULL) {
		if (f.tmp != NULL)
			unlink(f.tmp);
		if (f.fd >= 0)
			close(f.fd);
		free(f.tmp);
		free(f.path);
		free(f.stdout_data);
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	}
	o->files = nf;
	o->files[o->count++] = f;
	return MTK_OK;
}

mtk_rc mtk_outset_append(mtk_outset *o, const void *data, size_t len, mtk_err *err)
{
	struct outfile *f = o->count > 0 ? &o->files[o->count - 1] : NULL;

	if (f == NULL || (f->fd < 0 && f->stdout_data == NULL) || o->committed)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "nothing to append to");
	if (f->stdout_data != NULL) {
		/* Standard output is written whole at commit: the bytes join
		 * those kept, moved by hand (realloc could leave a copy). */
		uint8_t *nd =
		    len > SIZE_MAX - f->stdout_len - 1 ? NULL : malloc(f->stdout_len + len + 1);

		if (nd == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", f->path);
		memcpy(nd, f->stdout_data, f->stdout_len);
		if (len > 0)
			memcpy(nd + f->stdout_len, data, len);
		mtk_cleanse(f->stdout_data, f->stdout_len);
		free(f->stdout_data);
		f->stdout_data = nd;
		f->stdout_len += len;
		return MTK_OK;
	}
	if (write_all(f->fd, data, len) != MTK_OK)
		return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(errno));
	f->appended = true;
	return MTK_OK;
}

static void fsync_dir(const char *path)
{
	char *d = dir_of(path);
	int fd;

	if (d == NULL)
		return;
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(d);
}

static mtk_rc exists_error(const char *path, mtk_err *err)
{
	return mtk_err_set(err, MTK_E_EXISTS, "%s", path);
}

/* Gives an unnamed temporary the name `name`; errno on failure. */
static int link_anon(int fd, const char *name)
{
	char proc[64];

	proc_fd_path(fd, proc, sizeof(proc));
	return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
}

/* Moves one temporary into place. */
static mtk_rc commit_one(struct outfile *f, mtk_err *err)
{
	size_t tlen = strlen(f->path) + 32;
	mtk_rc rc = MTK_OK;
	int e = 0;

	if (f->appended && fsync(f->fd) != 0)
		return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(errno));

	if (f->anon) {
		/* A new file (or, without --force, the only allowed case) gets the
		 * inode's first name directly: no temporary name ever exists. */
		e = link_anon(f->fd, f->path);
		if (e == 0)
			return MTK_OK;
		if (e != EEXIST)
			return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(e));
		if (!(f->flags & MTK_WRITE_FORCE))
			return exists_error(f->path, err);
		/* Replacing needs a name to rename from. */
		if ((f->tmp = malloc(tlen)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", f->path);
		for (int attempt = 0; attempt < 8; attempt++) {
			if ((rc = temp_name(f->path, true, f->tmp, tlen, err)) != MTK_OK)
				goto fail;
			if ((e = link_anon(f->fd, f->tmp)) != EEXIST)
				break;
		}
		if (e != 0) {
			rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(e));
			goto fail;
		}
	}
	if (f->flags & MTK_WRITE_FORCE) {
		if (rename(f->tmp, f->path) != 0)
			return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(errno));
	} else if (link(f->tmp, f->path) != 0) {
		/* link() fails if the name appeared meanwhile: no clobbering race. */
		if (errno == EEXIST)
			return exists_error(f->path, err);
		/* Filesystems without hard links: fall back to rename. */
		if (rename(f->tmp, f->path) != 0)
			return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(errno));
	} else {
		unlink(f->tmp);
	}
	free(f->tmp);
	f->tmp = NULL;
	return MTK_OK;
fail:
	free(f->tmp);
	f->tmp = NULL;
	return rc;
}

mtk_rc mtk_outset_commit(mtk_outset *o, mtk_err *err)
{
	mtk_rc rc;
	size_t i;

	/* Check everything before moving anything. */
	for (i = 0; i < o->count; i++) {
		struct outfile *f = &o->files[i];
		if (f->fd >= 0 && !(f->flags & MTK_WRITE_FORCE) && access(f->path, F_OK) == 0)
			return exists_error(f->path, err);
	}
	for (i = 0; i < o->count; i++) {
		struct outfile *f = &o->files[i];

		if (f->fd < 0)
			continue;
		if ((rc = commit_one(f, err)) != MTK_OK)
			return rc;
	}
	/* One directory sync per distinct directory makes the renames durable. */
	for (i = 0; i < o->count; i++) {
		char *d = o->files[i].stdout_data ? NULL : dir_of(o->files[i].path);
		bool seen = false;

		for (size_t k = 0; d != NULL && k < i && !seen; k++) {
			char *e = o->files[k].stdout_data ? NULL : dir_of(o->files[k].path);
			seen = e != NULL && strcmp(d, e) == 0;
			free(e);
		}
		if (d != NULL && !seen)
			fsync_dir(o->files[i].path);
		free(d);
	}
	for (i = 0; i < o->count; i++) {
		struct outfile *f = &o->files[i];
		if (f->fd >= 0) {
			close(f->fd); /* releases its lock */
			f->fd = -1;
		}
		if (f->stdout_data != NULL) {
			if (write_all(STDOUT_FILENO, f->stdout_data, f->stdout_len) != MTK_OK)
				return mtk_err_set(err, MTK_E_WRITE, "standard output: %s",
						   strerror(errno));
		}
	}
	o->committed = true;
	return MTK_OK;
}

void mtk_outset_free(mtk_outset *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->count; i++) {
		struct outfile *f = &o->files[i];
		/* A named temporary is removed while its lock is still held. */
		if (f->tmp != NULL) {
			unlink(f->tmp);
			free(f->tmp);
		}
		if (f->fd >= 0)
			close(f->fd);
		if (f->stdout_data != NULL) {
			mtk_cleanse(f->stdout_data, f->stdout_len);
			free(f->stdout_data);
		}
		free(f->path);
	}
	free(o->files);
	free(o);
}

/* --- locks --- */

struct mtk_lock {
	int fd;
};

mtk_rc mtk_lock_take(const char *lock_path, mtk_lock **out, mtk_err *err)
{
	mtk_lock *l;
	int fd;

	*out = NULL;
	fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EACCES) /* someone else's lock file: reading is enough */
		fd = open(lock_path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		mtk_rc rc = errno == ENOENT || errno == ENOTDIR ? MTK_E_NOENT : MTK_E_LOCKED;
		return mtk_err_set(err, rc, "%s: %s", lock_path, strerror(errno));
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			mtk_rc rc = mtk_err_set(err, MTK_E_LOCKED, "%s: %s", lock_path,
						strerror(errno));
			close(fd);
			return rc;
		}
	}
	if ((l = malloc(sizeof(*l))) == NULL) {
		close(fd);
		return mtk_err_set(err, MTK_E_NOMEM, "%s", lock_path);
	}
	l->fd = fd;
	*out = l;
	return MTK_OK;
}

mtk_rc mtk_lock_edit(const char *path, mtk_lock **out, mtk_err *err)
{
	size_t n = strlen(path);
	char *p = malloc(n + sizeof(".lock"));
	mtk_rc rc;

	*out = NULL;
	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	memcpy(p, path, n);
	memcpy(p + n, ".lock", sizeof(".lock"));
	rc = mtk_lock_take(p, out, err);
	free(p);
	return rc;
}

void mtk_lock_release(mtk_lock *l)
{
	if (l == NULL)
		return;
	(void)flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l);
}

mtk_rc mtk_file_write(const char *path, const void *data, size_t len, unsigned flags,
		      mtk_err *err)
{
	struct iovec one = {(void *)data, len};

	return mtk_file_writev(path, &one, 1, flags, err);
}

mtk_rc mtk_file_writev(const char *path, const struct iovec *iov, int iovcnt, unsigned flags,
		       mtk_err *err)
{
	mtk_outset *o = mtk_outset_new();
	mtk_rc rc;

	if (o == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	rc = mtk_outset_addv(o, path, iov, iovcnt, flags, err);
	if (rc == MTK_OK)
		rc = mtk_outset_commit(o, err);
	mtk_outset_free(o);
	return rc;
}
