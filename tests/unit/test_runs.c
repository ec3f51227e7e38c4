/* test_runs.c - lib/expiry/runs.c: a scan over its memory budget spills
 * sorted runs to temporary files, and the cursor merges them back in the
 * scan's order: the same records, in the same order, as a scan kept in
 * memory; cursors one after the other; no random access once spilled; a
 * cursor before finish; a temporary directory that cannot be written. */
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mtlskit/expiry.h"

#define NFILES 40
#define PER_FILE 5

static char dir[256];

static int setup(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	(void)state;

	snprintf(dir, sizeof(dir), "%s/mtk-runs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (key == NULL || mkdtemp(dir) == NULL)
		return -1;
	for (int f = 0; f < NFILES; f++) {
		char path[512], cn[32];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/f%02d.pem", dir, f);
		if ((fp = fopen(path, "w")) == NULL)
			return -1;
		for (int i = 0; i < PER_FILE; i++) {
			X509 *x = X509_new();
			X509_NAME *n = X509_NAME_new();
			/* expiry dates interleave across files; some equal */
			long days = (long)((f * 7 + i * 13) % 50);

			snprintf(cn, sizeof(cn), "c%02d-%d", f, i);
			X509_set_version(x, 2);
			ASN1_INTEGER_set(X509_get_serialNumber(x), f * 10 + i + 1);
			X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
			X509_set_subject_name(x, n);
			X509_set_issuer_name(x, n);
			X509_NAME_free(n);
			ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
			ASN1_TIME_set(X509_getm_notAfter(x), 1800000000 + days * 86400);
			X509_set_pubkey(x, key);
			if (X509_sign(x, key, EVP_sha256()) <= 0 || PEM_write_X509(fp, x) != 1)
				return -1;
			X509_free(x);
		}
		fclose(fp);
	}
	EVP_PKEY_free(key);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int f = 0; f < NFILES; f++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/f%02d.pem", dir, f);
		unlink(path);
	}
	return rmdir(dir);
}

static mtk_expiry *scan(size_t budget, int threads, mtk_rc want)
{
	mtk_expiry *x = mtk_expiry_new();
	mtk_expiry_opts o = {0};
	mtk_err err = {0};

	assert_non_null(x);
	o.mem_budget = budget;
	o.threads = threads;
	assert_int_equal(mtk_expiry_scan_path(x, dir, &o, &err), want);
	if (want != MTK_OK) {
		mtk_expiry_free(x);
		return NULL;
	}
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	return x;
}

static void same(const mtk_expiry_cert *a, const mtk_expiry_cert *b)
{
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->not_before, b->not_before);
	assert_string_equal(a->path, b->path);
	assert_int_equal(a->line, b->line);
	assert_int_equal(a->index, b->index);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->issuer, b->issuer);
	assert_string_equal(a->serial, b->serial);
	assert_null(a->alias);
	assert_null(b->alias);
	assert_int_equal(a->src, b->src);
	assert_int_equal(a->self_issued, b->self_issued);
	assert_memory_equal(a->sha256, b->sha256, 32);
}

static void test_spilled_equals_in_memory(void **state)
{
	int threads[] = {1, 4};
	(void)state;

	for (size_t t = 0; t < 2; t++) {
		mtk_expiry *mem = scan(0, threads[t], MTK_OK);
		mtk_expiry *disk = scan(4096, threads[t], MTK_OK);
		mtk_expiry_cursor *c = NULL;
		const mtk_expiry_cert *r, *prev = NULL;
		mtk_expiry_stats st;
		size_t n = 0;
		int64_t last = INT64_MIN;

		assert_int_equal(mtk_expiry_count(mem), NFILES * PER_FILE);
		assert_int_equal(mtk_expiry_count(disk), NFILES * PER_FILE);
		assert_non_null(mtk_expiry_get(mem, 0));
		assert_null(mtk_expiry_get(disk, 0)); /* runs went to disk */
		mtk_expiry_get_stats(disk, &st);
		assert_int_equal(st.certs, NFILES * PER_FILE);
		assert_int_equal(st.files, NFILES);
		assert_int_equal(mtk_expiry_cursor_new(disk, &c), MTK_OK);
		while ((r = mtk_expiry_cursor_next(c)) != NULL) {
			assert_true(n < NFILES * PER_FILE);
			same(r, mtk_expiry_get(mem, n));
			assert_true(r->not_after >= last);
			last = r->not_after;
			n++;
		}
		assert_int_equal(mtk_expiry_cursor_rc(c), MTK_OK);
		assert_int_equal(n, NFILES * PER_FILE);
		assert_null(mtk_expiry_cursor_next(c)); /* stays at the end */
		mtk_expiry_cursor_free(c);

		/* a second cursor reads the same runs again */
		assert_int_equal(mtk_expiry_cursor_new(disk, &c), MTK_OK);
		n = 0;
		while ((r = mtk_expiry_cursor_next(c)) != NULL) {
			if (n == 0)
				same(r, mtk_expiry_get(mem, 0));
			prev = r;
			n++;
		}
		assert_int_equal(n, NFILES * PER_FILE);
		assert_non_null(prev);
		mtk_expiry_cursor_free(c);

		/* the in-memory scan's cursor agrees with its array */
		assert_int_equal(mtk_expiry_cursor_new(mem, &c), MTK_OK);
		for (size_t i = 0; i < 3; i++)
			same(mtk_expiry_cursor_next(c), mtk_expiry_get(mem, i));
		mtk_expiry_cursor_free(c);
		mtk_expiry_free(mem);
		mtk_expiry_free(disk);
	}
}

static void test_cursor_before_finish(void **state)
{
	mtk_expiry *x = mtk_expiry_new();
	mtk_expiry_cursor *c = (mtk_expiry_cursor *)x;
	(void)state;

	assert_int_equal(mtk_expiry_cursor_new(x, &c), MTK_E_INTERNAL);
	assert_null(c);
	mtk_expiry_cursor_free(NULL);
	mtk_expiry_free(x);
}

static void test_unwritable_tmpdir(void **state)
{
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	mtk_expiry *x;
	(void)state;

	setenv("TMPDIR", "/nonexistent/mtlskit-runs", 1);
	x = scan(0, 1, MTK_OK); /* under no budget nothing is written */
	assert_int_equal(mtk_expiry_count(x), NFILES * PER_FILE);
	mtk_expiry_free(x);
	assert_null(scan(4096, 1, MTK_E_WRITE));
	if (old) {
		setenv("TMPDIR", old, 1);
		free(old);
	} else {
		unsetenv("TMPDIR");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spilled_equals_in_memory),
		cmocka_unit_test(test_cursor_before_finish),
		cmocka_unit_test(test_unwritable_tmpdir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
