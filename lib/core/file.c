#include "mtlskit/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		/* O_NONBLOCK: opening a FIFO with no writer must not hang. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			rc = errno_rc(errno);
			mtk_err_set(err, rc, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	if (fstat(fd, &st) != 0) {
		rc = mtk_err_set(err, MTK_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = mtk_err_set(err, MTK_E_ISDIR, "%s: is a directory; give a file", path);
		goto out;
	}
	if (!is_stdin && !S_ISREG(st.st_mode)) {
		rc = mtk_err_set(err, MTK_E_IO, "%s: not a regular file", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = mtk_err_set(err, MTK_E_TOO_LARGE, "%s: %lld bytes, over the %zu MiB limit", path,
				 (long long)st.st_size, max >> 20);
		goto out;
	}
	if (!is_stdin) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	for (;;) {
		/* A regular file is read into a buffer of its size (plus one byte
		 * to see the end): a secret buffer is wiped whole when freed, and
		 * wiping 64 KiB never written costs a page fault per 4 KiB. */
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

struct outfile {
	char *path;
	char *tmp; /* NULL for stdout */
	uint8_t *stdout_data;
	size_t stdout_len;
	unsigned flags;
};

struct mtk_outset {
	struct outfile *files;
	size_t count;
	bool committed;
};

mtk_outset *mtk_outset_new(void)
{
	return calloc(1, sizeof(mtk_outset));
}

static mtk_rc write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MTK_E_WRITE;
		}
		p += n;
		len -= (size_t)n;
	}
	return MTK_OK;
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

/* Creates "<path>.tmp-<random>" exclusively with the final mode and writes
 * the data; returns the temporary name. */
static mtk_rc write_temp(const char *path, const void *data, size_t len, unsigned flags,
			 char **tmp_out, mtk_err *err)
{
	mode_t mode = (flags & MTK_WRITE_SECRET) ? 0600 : 0644;
	unsigned char rnd[6];
	char *tmp = NULL;
	size_t tlen = strlen(path) + 32;
	int fd = -1;
	mtk_rc rc;

	tmp = malloc(tlen);
	if (tmp == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	for (int attempt = 0; attempt < 8; attempt++) {
		if (mtk_random(rnd, sizeof(rnd)) != MTK_OK) {
			rc = mtk_err_set(err, MTK_E_CRYPTO, "random bytes for a temporary name");
			goto out;
		}
		snprintf(tmp, tlen, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2],
			 rnd[3], rnd[4], rnd[5]);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = mtk_err_set(err, errno == ENOENT ? MTK_E_NOENT : MTK_E_WRITE,
				 "%s: cannot create: %s", path, strerror(errno));
		goto out;
	}
	/* The umask may have narrowed the mode; keys must be exactly 0600. */
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != MTK_OK || fsync(fd) != 0) {
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0) {
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	*tmp_out = tmp;
	tmp = NULL;
	rc = MTK_OK;
out:
	free(tmp);
	return rc;
}

mtk_rc mtk_outset_add(mtk_outset *o, const char *path, const void *data, size_t len,
		      unsigned flags, mtk_err *err)
{
	struct outfile f = {0};
	struct outfile *nf;
	mtk_rc rc;

	for (size_t i = 0; i < o->count; i++)
		if (strcmp(o->files[i].path, path) == 0)
			return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: named twice as output", path);
	f.flags = flags;
	f.path = strdup(path);
	if (f.path == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	if (strcmp(path, "-") == 0) {
		f.stdout_data = malloc(len ? len : 1);
		if (f.stdout_data == NULL) {
			free(f.path);
			return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		}
		memcpy(f.stdout_data, data, len);
		f.stdout_len = len;
	} else {
		if (!(flags & MTK_WRITE_FORCE) && access(path, F_OK) == 0) {
			free(f.path);
			return mtk_err_set(err, MTK_E_EXISTS, "%s: already exists; use --force to replace it",
					   path);
		}
		if ((rc = write_temp(path, data, len, flags, &f.tmp, err)) != MTK_OK) {
			free(f.path);
			return rc;
		}
	}
	nf = realloc(o->files, (o->count + 1) * sizeof(*nf));
	if (nf == NULL) {
		if (f.tmp != NULL)
			unlink(f.tmp);
		free(f.tmp);
		free(f.path);
		free(f.stdout_data);
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	}
	o->files = nf;
	o->files[o->count++] = f;
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

mtk_rc mtk_outset_commit(mtk_outset *o, mtk_err *err)
{
	size_t i;

	/* Check everything before moving anything. */
	for (i = 0; i < o->count; i++) {
		struct outfile *f = &o->files[i];
		if (f->tmp != NULL && !(f->flags & MTK_WRITE_FORCE) && access(f->path, F_OK) == 0)
			return mtk_err_set(err, MTK_E_EXISTS,
					   "%s: already exists; use --force to replace it", f->path);
	}
	for (i = 0; i < o->count; i++) {
		struct outfile *f = &o->files[i];

		if (f->tmp == NULL)
			continue;
		if (f->flags & MTK_WRITE_FORCE) {
			if (rename(f->tmp, f->path) != 0)
				return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path, strerror(errno));
		} else {
			/* link() fails if the name appeared meanwhile: no clobbering race. */
			if (link(f->tmp, f->path) != 0) {
				if (errno == EEXIST)
					return mtk_err_set(err, MTK_E_EXISTS,
							   "%s: already exists; use --force to replace it",
							   f->path);
				/* Filesystems without hard links: fall back to rename. */
				if (rename(f->tmp, f->path) != 0)
					return mtk_err_set(err, MTK_E_WRITE, "%s: %s", f->path,
							   strerror(errno));
			} else {
				unlink(f->tmp);
			}
		}
		free(f->tmp);
		f->tmp = NULL;
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
		if (f->tmp != NULL) {
			unlink(f->tmp);
			free(f->tmp);
		}
		if (f->stdout_data != NULL) {
			mtk_cleanse(f->stdout_data, f->stdout_len);
			free(f->stdout_data);
		}
		free(f->path);
	}
	free(o->files);
	free(o);
}

mtk_rc mtk_file_write(const char *path, const void *data, size_t len, unsigned flags,
		      mtk_err *err)
{
	mtk_outset *o = mtk_outset_new();
	mtk_rc rc;

	if (o == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", path);
	rc = mtk_outset_add(o, path, data, len, flags, err);
	if (rc == MTK_OK)
		rc = mtk_outset_commit(o, err);
	mtk_outset_free(o);
	return rc;
}
