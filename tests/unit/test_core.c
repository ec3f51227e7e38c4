/* test_core.c - errors, buffers, the bounded reader, files, passwords, findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/file.h"
#include "mtlskit/findings.h"
#include "mtlskit/hostport.h"
#include "mtlskit/pass.h"
#include "mtlskit/thread.h"
#include "mtlskit/timeval.h"

static void test_error_table(void **state)
{
	(void)state;
	assert_string_equal(mtk_rc_name(MTK_E_BAD_PASSWORD), "MTK_E_BAD_PASSWORD");
	assert_int_equal(mtk_rc_exit(MTK_E_BAD_PASSWORD), 4);
	assert_int_equal(mtk_rc_exit(MTK_E_TRUNCATED), 3);
	assert_int_equal(mtk_rc_exit(MTK_E_TLS), 5);
	assert_int_equal(mtk_rc_exit(MTK_E_USAGE), 2);
	assert_int_equal(mtk_rc_exit(MTK_E_NOMEM), 6);
	assert_int_equal(mtk_rc_exit(MTK_OK), 0);
	assert_string_equal(mtk_rc_name((mtk_rc)9999), "MTK_E_UNKNOWN");
}

static void test_err_first_wins_and_drains_openssl(void **state)
{
	mtk_err e = {0};
	(void)state;
	ERR_raise(ERR_LIB_ASN1, ERR_R_NESTED_ASN1_ERROR);
	assert_int_equal(mtk_err_set(&e, MTK_E_DER, "a.der:%d", 3), MTK_E_DER);
	assert_int_equal(ERR_peek_error(), 0);
	assert_string_equal(e.detail, "a.der:3");
	assert_true(e.ossl[0] != '\0');
	assert_int_equal(mtk_err_set(&e, MTK_E_IO, "later"), MTK_E_IO);
	assert_int_equal(e.code, MTK_E_DER);
	assert_string_equal(e.detail, "a.der:3");
	mtk_err_clear(&e);
	assert_int_equal(e.code, MTK_OK);
}

static void test_reader_bounds(void **state)
{
	const uint8_t d[] = {0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x01};
	mtk_reader r, sub;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *p;
	(void)state;

	mtk_reader_init(&r, d, sizeof(d));
	assert_int_equal(mtk_reader_u16be(&r, &v16), MTK_OK);
	assert_int_equal(v16, 5);
	assert_int_equal(mtk_reader_bytes(&r, 6, &p), MTK_E_TRUNCATED);
	assert_int_equal(r.off, 2); /* a failed read consumes nothing */
	assert_int_equal(mtk_reader_u32be(&r, &v32), MTK_OK);
	assert_int_equal(v32, 0xdeadbeef);
	assert_int_equal(mtk_reader_u64be(&r, &v64), MTK_E_TRUNCATED);
	assert_int_equal(mtk_reader_left(&r), 1);
	assert_int_equal(mtk_reader_sub(&r, 2, &sub), MTK_E_TRUNCATED);
	assert_int_equal(mtk_reader_sub(&r, 1, &sub), MTK_OK);
	assert_true(mtk_reader_eof(&r));
	assert_int_equal(mtk_reader_left(&sub), 1);
	assert_int_equal(mtk_reader_skip(&r, SIZE_MAX), MTK_E_TRUNCATED);
}

static void test_buf(void **state)
{
	mtk_buf b = MTK_BUF_SECRET_INIT;
	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(mtk_buf_append_u32be(&b, (uint32_t)i), MTK_OK);
	assert_int_equal(b.len, 4000);
	assert_int_equal(b.data[3999], 999 & 0xff);
	assert_int_equal(mtk_buf_printf(&b, "%s-%d", "x", 7), MTK_OK);
	assert_memory_equal(b.data + 4000, "x-7", 4);
	mtk_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(mtk_memcmp_ct("abc", "abc", 3), 0);
	assert_int_not_equal(mtk_memcmp_ct("abc", "abd", 3), 0);
}

static char tmpdir[256];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mtk-unit-XXXXXX");
	return mkdtemp(tmpdir) == NULL;
}

static int teardown_tmp(void **state)
{
	char cmd[512];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) != 0;
}

static void test_file_write_read(void **state)
{
	char p[512], d[512];
	mtk_buf b = MTK_BUF_INIT;
	mtk_err e = {0};
	struct stat st;
	(void)state;

	snprintf(p, sizeof(p), "%s/key.pem", tmpdir);
	umask(022);
	assert_int_equal(mtk_file_write(p, "secret", 6, MTK_WRITE_SECRET, &e), MTK_OK);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* never overwritten without force */
	assert_int_equal(mtk_file_write(p, "other", 5, 0, &e), MTK_E_EXISTS);
	assert_int_equal(mtk_file_read(p, 0, &b, &e), MTK_OK);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "secret", 6);
	mtk_err_clear(&e);
	assert_int_equal(mtk_file_write(p, "other", 5, MTK_WRITE_FORCE, &e), MTK_OK);
	assert_int_equal(mtk_file_read(p, 0, &b, &e), MTK_OK);
	assert_memory_equal(b.data, "other", 5);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* size limit, directory, missing */
	mtk_err_clear(&e);
	assert_int_equal(mtk_file_read(p, 3, &b, &e), MTK_E_TOO_LARGE);
	mtk_err_clear(&e);
	assert_int_equal(mtk_file_read(tmpdir, 0, &b, &e), MTK_E_ISDIR);
	mtk_err_clear(&e);
	snprintf(d, sizeof(d), "%s/nope", tmpdir);
	assert_int_equal(mtk_file_read(d, 0, &b, &e), MTK_E_NOENT);
	assert_non_null(strstr(e.detail, "nope"));
	mtk_buf_free(&b);
}

/* mtk_file_writev: pieces of every size (empty ones, more than one
 * writev batch of them, a large one) land in order, once, as one file; the
 * same rules as mtk_file_write (mode, no overwrite without force). */
static void test_file_writev(void **state)
{
	static uint8_t big[300000];
	struct iovec iov[200];
	char small[200][4], p[512];
	mtk_buf want = MTK_BUF_INIT, got = MTK_BUF_INIT;
	mtk_err e = {0};
	struct stat st;
	int n = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < 190; i++) {
		snprintf(small[i], sizeof(small[i]), "%03d", i);
		iov[n].iov_base = small[i];
		iov[n++].iov_len = (size_t)(i % 4); /* 0 to 3 bytes */
		if (i == 100) {
			iov[n].iov_base = big;
			iov[n++].iov_len = sizeof(big);
		}
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(mtk_buf_append(&want, iov[i].iov_base, iov[i].iov_len), MTK_OK);
	snprintf(p, sizeof(p), "%s/pieces.jks", tmpdir);
	umask(022);
	assert_int_equal(mtk_file_writev(p, iov, n, MTK_WRITE_SECRET, &e), MTK_OK);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mtk_file_read(p, 0, &got, &e), MTK_OK);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	assert_int_equal(mtk_file_writev(p, iov, 1, 0, &e), MTK_E_EXISTS);
	mtk_err_clear(&e);
	/* Replaced with nothing at all: an empty file. */
	assert_int_equal(mtk_file_writev(p, iov, 0, MTK_WRITE_FORCE, &e), MTK_OK);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 0);
	mtk_buf_free(&want);
	mtk_buf_free(&got);
}

/* MTK_WRITE_MORE then mtk_outset_append: the file is the body and the
 * tail, whole, once committed (nothing under the name before); for "-" the
 * same bytes reach standard output at commit. */
static void test_outset_more(void **state)
{
	struct iovec iov[2] = {{(void *)"head-", 5}, {(void *)"body-", 5}};
	char p[512], out[512];
	mtk_buf got = MTK_BUF_INIT;
	mtk_outset *o;
	mtk_err e = {0};
	int saved, fd;
	(void)state;

	snprintf(p, sizeof(p), "%s/more.jks", tmpdir);
	o = mtk_outset_new();
	assert_int_equal(mtk_outset_addv(o, p, iov, 2, MTK_WRITE_SECRET | MTK_WRITE_MORE, &e),
			 MTK_OK);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(mtk_outset_append(o, "tail", 4, &e), MTK_OK);
	assert_int_equal(mtk_outset_commit(o, &e), MTK_OK);
	mtk_outset_free(o);
	assert_int_equal(mtk_file_read(p, 0, &got, &e), MTK_OK);
	assert_int_equal(got.len, 14);
	assert_memory_equal(got.data, "head-body-tail", 14);

	snprintf(out, sizeof(out), "%s/more.stdout", tmpdir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	o = mtk_outset_new();
	assert_int_equal(mtk_outset_addv(o, "-", iov, 2, MTK_WRITE_MORE, &e), MTK_OK);
	assert_int_equal(mtk_outset_append(o, "tail", 4, &e), MTK_OK);
	assert_int_equal(mtk_outset_commit(o, &e), MTK_OK);
	mtk_outset_free(o);
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	assert_int_equal(mtk_file_read(out, 0, &got, &e), MTK_OK);
	assert_int_equal(got.len, 14);
	assert_memory_equal(got.data, "head-body-tail", 14);
	/* Nothing was added: nothing to append to. */
	o = mtk_outset_new();
	assert_int_equal(mtk_outset_append(o, "x", 1, &e), MTK_E_INVALID_ARG);
	mtk_outset_free(o);
	mtk_buf_free(&got);
}

static void test_outset_all_or_nothing(void **state)
{
	char a[512], b2[512];
	mtk_outset *o = mtk_outset_new();
	mtk_err e = {0};
	(void)state;

	snprintf(a, sizeof(a), "%s/a.txt", tmpdir);
	snprintf(b2, sizeof(b2), "%s/b.txt", tmpdir);
	assert_int_equal(mtk_file_write(b2, "x", 1, 0, &e), MTK_OK);
	assert_int_equal(mtk_outset_add(o, a, "A", 1, 0, &e), MTK_OK);
	/* b exists: add refuses, and after free a was never created */
	assert_int_equal(mtk_outset_add(o, b2, "B", 1, 0, &e), MTK_E_EXISTS);
	mtk_outset_free(o);
	assert_int_not_equal(access(a, F_OK), 0);
}

/* Names in tmpdir containing ".tmp". */
static int count_temps(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".tmp") != NULL;
	closedir(d);
	return n;
}

static void make_file(const char *p, time_t mtime)
{
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static void test_write_leaves_no_temporary(void **state)
{
	char p[512];
	mtk_outset *o;
	mtk_err e = {0};
	(void)state;

	snprintf(p, sizeof(p), "%s/store.jks", tmpdir);
	assert_int_equal(count_temps(), 0);
	assert_int_equal(mtk_file_write(p, "one", 3, MTK_WRITE_SECRET, &e), MTK_OK);
	assert_int_equal(mtk_file_write(p, "two", 3, MTK_WRITE_SECRET | MTK_WRITE_FORCE, &e),
			 MTK_OK);
	assert_int_equal(count_temps(), 0);
	/* An uncommitted outset leaves nothing either. */
	o = mtk_outset_new();
	assert_int_equal(mtk_outset_add(o, p, "three", 5, MTK_WRITE_FORCE, &e), MTK_OK);
	mtk_outset_free(o);
	assert_int_equal(count_temps(), 0);
	unlink(p);
}

static void test_stale_temporaries_swept(void **state)
{
	char p[512], born_locked[600], fresh[600], old[600], held[600], other[600];
	mtk_err e = {0};
	time_t now = time(NULL);
	int fd;
	(void)state;

	snprintf(p, sizeof(p), "%s/agent.jks", tmpdir);
	snprintf(born_locked, sizeof(born_locked), "%s.tmp-l0123456789ab", p);
	snprintf(fresh, sizeof(fresh), "%s.tmp-0123456789ab", p);
	snprintf(old, sizeof(old), "%s.tmp-ba9876543210", p);
	snprintf(held, sizeof(held), "%s.tmp-l00000000000f", p);
	snprintf(other, sizeof(other), "%s.tmp-notours", p);
	make_file(born_locked, now);
	make_file(fresh, now);
	make_file(old, now - 120);
	make_file(held, now - 120);
	make_file(other, now - 120);
	/* A live writer holds the lock on its temporary. */
	fd = open(held, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(mtk_file_write(p, "new", 3, MTK_WRITE_SECRET | MTK_WRITE_FORCE, &e),
			 MTK_OK);
	assert_int_not_equal(access(born_locked, F_OK), 0); /* unlocked: gone at once */
	assert_int_equal(access(fresh, F_OK), 0);	     /* may be a writer not yet locked */
	assert_int_not_equal(access(old, F_OK), 0);	     /* a minute old and unlocked */
	assert_int_equal(access(held, F_OK), 0);	     /* its writer is alive */
	assert_int_equal(access(other, F_OK), 0);	     /* not a name we make */
	close(fd);
	assert_int_equal(mtk_file_write(p, "newer", 5, MTK_WRITE_SECRET | MTK_WRITE_FORCE, &e),
			 MTK_OK);
	assert_int_not_equal(access(held, F_OK), 0);
	unlink(fresh);
	unlink(other);
	unlink(p);
	assert_int_equal(count_temps(), 0);
}

static void test_edit_lock(void **state)
{
	char p[512], lp[600];
	mtk_lock *l = NULL, *l2 = NULL;
	mtk_err e = {0};
	int fd;
	(void)state;

	snprintf(p, sizeof(p), "%s/x.jks", tmpdir);
	snprintf(lp, sizeof(lp), "%s.lock", p);
	assert_int_equal(mtk_lock_edit(p, &l, &e), MTK_OK);
	assert_non_null(l);
	fd = open(lp, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_not_equal(flock(fd, LOCK_EX | LOCK_NB), 0); /* held */
	mtk_lock_release(l);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0); /* free again */
	close(fd);
	assert_int_equal(mtk_lock_take(lp, &l2, &e), MTK_OK);
	mtk_lock_release(l2);
	mtk_lock_release(NULL);
	snprintf(p, sizeof(p), "%s/no/such/dir/x.jks", tmpdir);
	assert_int_equal(mtk_lock_edit(p, &l, &e), MTK_E_NOENT);
	assert_null(l);
	unlink(lp);
}

static const char *fake_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "MTK_PW") == 0 ? "from-env" : NULL;
}

/* mtk_file_append: cuts what follows the kept bytes, appends, refuses a
 * file changed since it was read; mtk_file_map reads without a copy. */
static void test_file_append_map(void **state)
{
	char p[512];
	mtk_buf b = MTK_BUF_INIT;
	mtk_map m = {0};
	mtk_err e = {0};
	(void)state;

	snprintf(p, sizeof(p), "%s/index.txt", tmpdir);
	assert_int_equal(mtk_file_write(p, "one\ntw", 7, 0, &e), MTK_OK);
	assert_int_equal(mtk_file_map(p, 0, &m, &e), MTK_OK);
	assert_int_equal(m.len, 7);
	assert_memory_equal(m.data, "one\ntw", 7);
	mtk_file_unmap(&m);
	assert_null(m.data);
	/* keep 4 of 7: the torn "tw" goes, "two\n" is appended */
	assert_int_equal(mtk_file_append(p, 4, 7, "two\n", 4, &e), MTK_OK);
	assert_int_equal(mtk_file_read(p, 0, &b, &e), MTK_OK);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "one\ntwo\n", 8);
	/* read as 7 bytes, but it has 8 now: someone changed it */
	mtk_err_clear(&e);
	assert_int_equal(mtk_file_append(p, 7, 7, "x\n", 2, &e), MTK_E_IO);
	assert_int_equal(mtk_file_append(p, 9, 8, "x\n", 2, NULL), MTK_E_IO);
	assert_int_equal(mtk_file_read(p, 0, &b, &e), MTK_OK);
	assert_int_equal(b.len, 8);
	snprintf(p, sizeof(p), "%s/no-such-file", tmpdir);
	assert_int_equal(mtk_file_append(p, 0, 0, "x", 1, NULL), MTK_E_NOENT);
	assert_int_equal(mtk_file_map(p, 0, &m, NULL), MTK_E_NOENT);
	assert_int_equal(mtk_file_map(tmpdir, 0, &m, NULL), MTK_E_ISDIR);
	snprintf(p, sizeof(p), "%s/empty", tmpdir);
	assert_int_equal(mtk_file_write(p, "", 0, 0, &e), MTK_OK);
	assert_int_equal(mtk_file_map(p, 0, &m, &e), MTK_OK);
	assert_null(m.data);
	assert_int_equal(m.len, 0);
	snprintf(p, sizeof(p), "%s/index.txt", tmpdir);
	assert_int_equal(mtk_file_map(p, 4, &m, NULL), MTK_E_TOO_LARGE);
	mtk_buf_free(&b);
}

static void test_fmt_dec(void **state)
{
	static const struct {
		long long v;
		const char *s;
	} t[] = {{0, "0"}, {7, "7"}, {-42, "-42"}, {1800000000, "1800000000"},
		 {LLONG_MAX, "9223372036854775807"}, {LLONG_MIN, "-9223372036854775808"}};
	char d[MTK_DEC_MAX];
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *s = mtk_fmt_dec(d, t[i].v);
		assert_int_equal((size_t)(d + MTK_DEC_MAX - s), strlen(t[i].s));
		assert_memory_equal(s, t[i].s, strlen(t[i].s));
	}
}

static void test_pass_specs(void **state)
{
	mtk_pass_io io = {fake_getenv, NULL, NULL};
	mtk_secret *s = NULL;
	mtk_err e = {0};
	unsigned fl = 0;
	char p[512];
	int fds[2];
	(void)state;

	assert_int_equal(mtk_pass_resolve("pass:hunter2", NULL, &io, &s, &fl, &e), MTK_OK);
	assert_string_equal(s->s, "hunter2");
	assert_true(fl & MTK_PASS_VISIBLE);
	mtk_secret_free(s);
	assert_int_equal(mtk_pass_resolve("env:MTK_PW", NULL, &io, &s, &fl, &e), MTK_OK);
	assert_string_equal(s->s, "from-env");
	assert_false(fl & MTK_PASS_VISIBLE);
	mtk_secret_free(s);
	assert_int_equal(mtk_pass_resolve("env:NOPE", NULL, &io, &s, &fl, &e), MTK_E_PASS_SPEC);
	mtk_err_clear(&e);
	snprintf(p, sizeof(p), "%s/pw", tmpdir);
	assert_int_equal(mtk_file_write(p, "line1\r\nline2\n", 13, MTK_WRITE_SECRET, &e), MTK_OK);
	snprintf(p, sizeof(p), "file:%s/pw", tmpdir);
	assert_int_equal(mtk_pass_resolve(p, NULL, &io, &s, &fl, &e), MTK_OK);
	assert_string_equal(s->s, "line1");
	mtk_secret_free(s);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "fdpw\nrest", 9), 9);
	close(fds[1]);
	snprintf(p, sizeof(p), "fd:%d", fds[0]);
	assert_int_equal(mtk_pass_resolve(p, NULL, &io, &s, &fl, &e), MTK_OK);
	assert_string_equal(s->s, "fdpw");
	mtk_secret_free(s);
	close(fds[0]);
	assert_int_equal(mtk_pass_resolve("fd:x", NULL, &io, &s, &fl, &e), MTK_E_PASS_SPEC);
	assert_int_equal(mtk_pass_resolve("plain", NULL, &io, &s, &fl, &e), MTK_E_PASS_SPEC);
	/* no spec and no prompt */
	assert_int_equal(mtk_pass_resolve(NULL, "PFX password", &io, &s, &fl, &e),
			 MTK_E_PASSWORD_NEEDED);
}

static void test_findings(void **state)
{
	mtk_findings fs = MTK_FINDINGS_INIT, more = MTK_FINDINGS_INIT;
	(void)state;
	assert_string_equal(mtk_finding_name(MTK_F_KEY_NOT_PKCS8), "key-not-pkcs8");
	assert_string_equal(mtk_finding_name(MTK_F_INSTANCE_NOT_READY), "instance-not-ready");
	assert_int_equal(mtk_finding_from_name("chain-order"), MTK_F_CHAIN_ORDER);
	assert_int_equal(mtk_finding_from_name("nope"), MTK_F__COUNT);
	assert_int_equal(mtk_findings_add(&fs, MTK_F_PEM_CRLF, MTK_SEV_ERROR, "b.pem", 2, NULL,
					  "mtlskit bundle b.pem -o fixed.pem", "CRLF on %d lines", 4),
			 MTK_OK);
	assert_int_equal(mtk_findings_add(&more, MTK_F_WEAK_CRYPTO, MTK_SEV_WARNING, NULL, 0, "alias",
					  NULL, "SHA-1"),
			 MTK_OK);
	assert_int_equal(mtk_findings_move(&fs, &more), MTK_OK);
	assert_int_equal(fs.count, 2);
	assert_int_equal(more.count, 0);
	assert_true(mtk_findings_has(&fs, MTK_F_WEAK_CRYPTO));
	assert_false(mtk_findings_has(&fs, MTK_F_KEY_MISMATCH));
	assert_int_equal(mtk_findings_count_at_least(&fs, MTK_SEV_ERROR), 1);
	assert_string_equal(fs.items[0].message, "CRLF on 4 lines");
	assert_null(fs.items[0].advice);
	/* A remedy outside the tool is advice; a command stays a fix. */
	assert_int_equal(mtk_findings_add_advice(&fs, MTK_F_CHAIN_UNTRUSTED, MTK_SEV_ERROR, "c.pem", 0,
						 NULL, NULL, "have it re-issued by that CA", "not from %s",
						 "that CA"),
			 MTK_OK);
	assert_int_equal(fs.count, 3);
	assert_null(fs.items[2].fix);
	assert_string_equal(fs.items[2].advice, "have it re-issued by that CA");
	assert_string_equal(fs.items[2].message, "not from that CA");
	assert_int_equal(mtk_findings_add_advice(&fs, MTK_F_LEAF_NO_CLIENT_AUTH, MTK_SEV_ERROR, NULL, 0,
						 NULL, "mtlskit renew a.pem --key a.pem --usage client -o r.csr",
						 "then have r.csr signed", "no clientAuth"),
			 MTK_OK);
	assert_string_equal(fs.items[3].fix, "mtlskit renew a.pem --key a.pem --usage client -o r.csr");
	assert_string_equal(fs.items[3].advice, "then have r.csr signed");
	mtk_findings_free(&fs);
}

/* The published FNV-1a 64 test vectors, and that a hash can be continued. */
static void test_durations_and_times(void **state)
{
	int64_t v = 0;
	char buf[MTK_TIME_RFC3339_LEN];

	(void)state;
	assert_int_equal(mtk_duration_parse("1.5s", MTK_MS_SECOND, &v), MTK_OK);
	assert_true(v == 1500);
	assert_int_equal(mtk_duration_parse("30", MTK_MS_SECOND, &v), MTK_OK);
	assert_true(v == 30000);
	assert_int_equal(mtk_duration_parse("30", MTK_MS_DAY, &v), MTK_OK);
	assert_true(v == 30 * MTK_MS_DAY);
	assert_int_equal(mtk_duration_parse("250ms", MTK_MS_DAY, &v), MTK_OK);
	assert_true(v == 250);
	assert_int_equal(mtk_duration_parse("90s", MTK_MS_DAY, &v), MTK_OK);
	assert_true(v == 90000);
	assert_int_equal(mtk_duration_parse("12h", MTK_MS_SECOND, &v), MTK_OK);
	assert_true(v == 12 * 3600000);
	assert_int_equal(mtk_duration_parse("2w", MTK_MS_SECOND, &v), MTK_OK);
	assert_true(v == 14 * MTK_MS_DAY);
	assert_int_equal(mtk_duration_parse("-1s", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("5 s", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("d", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("3x", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("3dd", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("1.", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("99999999999d", MTK_MS_SECOND, &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_duration_parse("999999999999999999999999", MTK_MS_SECOND, &v),
			 MTK_E_INVALID_ARG);
	assert_string_equal(mtk_time_rfc3339(1795328508, buf, sizeof(buf)), "2026-11-22T06:21:48Z");
}

static void test_fnv1a(void **state)
{
	(void)state;
	assert_true(mtk_fnv1a(MTK_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(mtk_fnv1a(MTK_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(mtk_fnv1a(MTK_FNV1A_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
	assert_true(mtk_fnv1a(mtk_fnv1a(MTK_FNV1A_INIT, "foo", 3), "bar", 3) ==
		    mtk_fnv1a(MTK_FNV1A_INIT, "foobar", 6));
}

static void test_hostport_split(void **state)
{
	char h[64], p[8];
	mtk_err e = {0};

	(void)state;
	/* A listener's forms: port 0, every address. */
	assert_int_equal(mtk_hostport_split("127.0.0.1:0", NULL, MTK_HP_PORT_ZERO, h, sizeof(h), p,
					    sizeof(p), &e),
			 MTK_OK);
	assert_string_equal(p, "0");
	assert_int_equal(mtk_hostport_split("127.0.0.1:0", NULL, 0, h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	assert_string_equal(e.detail, "127.0.0.1:0: port must be 1..65535");
	mtk_err_clear(&e);
	assert_int_equal(mtk_hostport_split("*:8443", NULL, MTK_HP_ANY_HOST, h, sizeof(h), p,
					    sizeof(p), &e),
			 MTK_OK);
	assert_string_equal(h, "");
	assert_string_equal(p, "8443");
	assert_int_equal(mtk_hostport_split(":8443", NULL, MTK_HP_ANY_HOST, h, sizeof(h), p,
					    sizeof(p), &e),
			 MTK_OK);
	assert_string_equal(h, "");
	assert_int_equal(mtk_hostport_split(":8443", NULL, 0, h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	assert_string_equal(e.detail, ":8443: empty host");
	mtk_err_clear(&e);
	/* No default port: one is required; a bare IPv6 address has none. */
	assert_int_equal(mtk_hostport_split("::1:443", NULL, 0, h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	assert_string_equal(e.detail, "::1:443: no port (HOST:PORT, [IPv6]:PORT)");
	mtk_err_clear(&e);
	assert_int_equal(mtk_hostport_split("[::1]", NULL, 0, h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	mtk_err_clear(&e);
	assert_int_equal(mtk_hostport_split("[::1]:443", NULL, 0, h, sizeof(h), p, sizeof(p), &e),
			 MTK_OK);
	assert_string_equal(h, "::1");
	assert_string_equal(p, "443");
	/* What users type, with a default port. */
	assert_int_equal(mtk_hostport_parse("[2001:db8::5]", "443", h, sizeof(h), p, sizeof(p), &e),
			 MTK_OK);
	assert_string_equal(h, "2001:db8::5");
	assert_string_equal(p, "443");
	assert_int_equal(mtk_hostport_parse("a b:1", "443", h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	assert_string_equal(e.detail, "a b:1: not a host name or address");
	mtk_err_clear(&e);
	assert_int_equal(mtk_hostport_parse("[::1]x", "443", h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	assert_string_equal(e.detail, "[::1]x: expected ':' after ']'");
	mtk_err_clear(&e);
	assert_int_equal(mtk_hostport_parse("host:1234567", "443", h, sizeof(h), p, sizeof(p), &e),
			 MTK_E_INVALID_ARG);
	mtk_err_clear(&e);
}

/* What the started thread saw: every signal blocked in it. */
static void *thread_mask(void *arg)
{
	sigset_t *m = arg;

	pthread_sigmask(SIG_BLOCK, NULL, m);
	return NULL;
}

/* mtk_thread_spawn: the new thread has every signal blocked (a signal
 * reaches only the thread that handles it), the caller's mask is as it
 * was; a prefault of heap memory leaves its bytes as they were. */
static void test_thread_and_prefault(void **state)
{
	sigset_t before, after, inside;
	pthread_t t;
	size_t n = 1u << 20;
	uint8_t *p = malloc(n);

	(void)state;
	sigemptyset(&before);
	sigaddset(&before, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
	sigemptyset(&inside);
	assert_int_equal(mtk_thread_spawn(&t, thread_mask, &inside), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sigismember(&inside, SIGTERM), 1);
	assert_int_equal(sigismember(&inside, SIGINT), 1);
	assert_int_equal(sigismember(&inside, SIGHUP), 1);
	assert_int_equal(sigismember(&inside, SIGUSR1), 1);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
	assert_int_equal(sigismember(&after, SIGUSR1), 1);
	assert_int_equal(sigismember(&after, SIGTERM), 0);
	sigemptyset(&before);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
	assert_non_null(p);
	memset(p, 0x5a, n);
	mtk_prefault(p, n);
	mtk_prefault(p + 1, 100); /* small: left alone */
	for (size_t i = 0; i < n; i += 4093)
		assert_int_equal(p[i], 0x5a);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_table),
	    cmocka_unit_test(test_err_first_wins_and_drains_openssl),
	    cmocka_unit_test(test_reader_bounds),
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_file_write_read),
	    cmocka_unit_test(test_file_writev),
	    cmocka_unit_test(test_outset_all_or_nothing),
	    cmocka_unit_test(test_write_leaves_no_temporary),
	    cmocka_unit_test(test_stale_temporaries_swept),
	    cmocka_unit_test(test_edit_lock),
	    cmocka_unit_test(test_file_append_map),
	    cmocka_unit_test(test_fmt_dec),
	    cmocka_unit_test(test_pass_specs),
	    cmocka_unit_test(test_findings),
	    cmocka_unit_test(test_fnv1a),
	    cmocka_unit_test(test_durations_and_times),
	    cmocka_unit_test(test_hostport_split),
	    cmocka_unit_test(test_thread_and_prefault),
	    cmocka_unit_test(test_outset_more),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
