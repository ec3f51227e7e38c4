#include "mtlskit/pass.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtlskit/buf.h"
#include "mtlskit/file.h"

mtk_secret *mtk_secret_new(const char *s, size_t len)
{
	mtk_secret *sec = calloc(1, sizeof(*sec));

	if (sec == NULL)
		return NULL;
	sec->s = malloc(len + 1);
	if (sec->s == NULL) {
		free(sec);
		return NULL;
	}
	if (len > 0)
		memcpy(sec->s, s, len);
	sec->s[len] = '\0';
	sec->len = len;
	return sec;
}

mtk_secret *mtk_secret_dup(const mtk_secret *s)
{
	return s == NULL ? NULL : mtk_secret_new(s->s, s->len);
}

void mtk_secret_free(mtk_secret *s)
{
	if (s == NULL)
		return;
	if (s->s != NULL) {
		mtk_cleanse(s->s, s->len + 1);
		free(s->s);
	}
	free(s);
}

/* The first line of the bytes, without its CR/LF, like openssl's file: and fd:. */
static size_t first_line_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '\n' && p[i] != '\r')
		i++;
	return i;
}

static mtk_rc too_long(const char *what, mtk_err *err)
{
	return mtk_err_set(err, MTK_E_PASS_SPEC,
			   "%s: the password is longer than %d bytes; refused (not cut short)", what,
			   MTK_PASS_MAX);
}

/* The first line read from fd (a pipe, a FIFO, a terminal...); what is the
 * source for messages. */
static mtk_rc from_fd(int fd, const char *what, mtk_secret **out, mtk_err *err)
{
	char buf[MTK_PASS_MAX + 2];
	size_t len = 0;
	mtk_rc rc = MTK_OK;

	/* Read byte by byte so that data after the first line stays in the
	 * pipe for whoever reads it next (openssl reads fd: the same way). */
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = mtk_err_set(err, MTK_E_PASS_SPEC, "%s: %s", what, strerror(errno));
			goto out;
		}
		if (n == 0 || buf[len] == '\n')
			break;
		len++;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > MTK_PASS_MAX) {
		rc = too_long(what, err);
		goto out;
	}
	*out = mtk_secret_new(buf, len);
	if (*out == NULL)
		rc = mtk_err_set(err, MTK_E_NOMEM, "password");
out:
	mtk_cleanse(buf, sizeof(buf));
	return rc;
}

mtk_rc mtk_pass_resolve(const char *spec, const char *prompt, const mtk_pass_io *io,
			mtk_secret **out, unsigned *flags, mtk_err *err)
{
	mtk_secret *sec = NULL;
	unsigned fl = 0;
	mtk_rc rc = MTK_OK;

	if (spec == NULL) {
		char buf[MTK_PASS_MAX + 2]; /* one more than allowed, to see a longer one */

		if (io == NULL || io->prompt_fn == NULL)
			return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					   "%s: give --pass env:VAR, file:PATH or fd:N",
					   prompt ? prompt : "password");
		rc = io->prompt_fn(io->ctx, prompt ? prompt : "Password: ", buf, sizeof(buf));
		if (rc == MTK_OK && strnlen(buf, sizeof(buf)) > MTK_PASS_MAX) {
			mtk_cleanse(buf, sizeof(buf));
			return too_long("password prompt", err);
		}
		if (rc == MTK_OK) {
			sec = mtk_secret_new(buf, strnlen(buf, sizeof(buf)));
			if (sec == NULL)
				rc = MTK_E_NOMEM;
		}
		mtk_cleanse(buf, sizeof(buf));
		if (rc != MTK_OK)
			return mtk_err_set(err, rc, "password prompt");
		fl |= MTK_PASS_PROMPTED;
	} else if (strncmp(spec, "pass:", 5) == 0) {
		if (strlen(spec + 5) > MTK_PASS_MAX)
			return too_long("pass:", err);
		sec = mtk_secret_new(spec + 5, strlen(spec + 5));
		fl |= MTK_PASS_VISIBLE;
	} else if (strncmp(spec, "env:", 4) == 0) {
		const char *v = (io && io->getenv_fn) ? io->getenv_fn(io->ctx, spec + 4) : NULL;
		if (spec[4] == '\0' || v == NULL)
			return mtk_err_set(err, MTK_E_PASS_SPEC,
					   "%s: environment variable %s is not set", spec, spec + 4);
		if (strlen(v) > MTK_PASS_MAX)
			return too_long(spec, err);
		sec = mtk_secret_new(v, strlen(v));
	} else if (strncmp(spec, "file:", 5) == 0) {
		mtk_buf b = MTK_BUF_SECRET_INIT;
		struct stat st;
		size_t n;

		/* a FIFO or a process substitution (bash's <(...), a pipe under
		 * /dev/fd): its first line, read as fd: reads */
		if (stat(spec + 5, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
			int fd = open(spec + 5, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return mtk_err_set(err, MTK_E_PASS_SPEC, "%s: %s", spec, strerror(errno));
			rc = from_fd(fd, spec, &sec, err);
			close(fd);
			if (rc != MTK_OK)
				return rc;
		} else {
			if ((rc = mtk_file_read(spec + 5, 1 << 16, &b, err)) != MTK_OK)
				return rc;
			n = first_line_len(b.data, b.len);
			if (n > MTK_PASS_MAX) {
				mtk_buf_free(&b);
				return too_long(spec, err);
			}
			sec = mtk_secret_new((const char *)b.data, n);
			mtk_buf_free(&b);
		}
	} else if (strncmp(spec, "fd:", 3) == 0) {
		char *end = NULL;
		long fd;

		errno = 0;
		fd = strtol(spec + 3, &end, 10);
		if (spec[3] == '\0' || *end != '\0' || errno != 0 || fd < 0 || fd > 65535)
			return mtk_err_set(err, MTK_E_PASS_SPEC, "%s: not a file descriptor number",
					   spec);
		if ((rc = from_fd((int)fd, spec, &sec, err)) != MTK_OK)
			return rc;
	} else {
		/* No detail: the spec may be a password typed without its
		 * "pass:", and the code's message says what to use. */
		return mtk_err_set(err, MTK_E_PASS_SPEC, NULL);
	}
	if (sec == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "password");
	*out = sec;
	if (flags != NULL)
		*flags = fl;
	return MTK_OK;
}
