/* test_expiry.c - the scan library (lib/expiry) on a tree made in-process:
 * sorting, PEM lines, per-file error codes, loops, a missing path, and the
 * Prometheus text (escaping, de-duplication). */
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

static char dir[256];
static EVP_PKEY *key;

static X509 *cert(const char *cn, long serial, long not_after_days)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
	ASN1_TIME_set(X509_getm_notAfter(x), 1800000000 + not_after_days * 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *name, X509 **xs, int n, const char *prefix)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	if (prefix)
		fputs(prefix, fp);
	for (int i = 0; i < n; i++)
		PEM_write_X509(fp, xs[i]);
	fclose(fp);
}

static int setup(void **state)
{
	X509 *a, *b, *c, *q;
	char path[512];
	FILE *fp;
	unsigned char *der = NULL;
	int len;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/mtk-expiry-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	key = EVP_EC_gen("P-256");
	a = cert("a", 1, 10);
	b = cert("b", 2, -5);
	c = cert("c", 3, 100);
	q = cert("quote\"back\\slash", 4, 50);
	{
		X509 *bundle[2] = {a, b};
		write_pem("bundle.pem", bundle, 2, "# a comment line\n\n");
		X509 *twice[2] = {q, q};
		write_pem("quote.pem", twice, 2, NULL);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sub/c.der", dir);
	fp = fopen(path, "wb");
	len = i2d_X509(c, &der);
	fwrite(der, 1, (size_t)len, fp);
	fclose(fp);
	OPENSSL_free(der);
	snprintf(path, sizeof(path), "%s/broken.pem", dir);
	fp = fopen(path, "w");
	fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/dangling.pem", dir);
	assert_int_equal(symlink("/nonexistent/x.pem", path), 0);
	snprintf(path, sizeof(path), "%s/sub/up", dir);
	assert_int_equal(symlink("..", path), 0);
	X509_free(a);
	X509_free(b);
	X509_free(c);
	X509_free(q);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const mtk_expiry_error *find_err(const mtk_expiry *x, const char *suffix)
{
	for (size_t i = 0; i < mtk_expiry_error_count(x); i++) {
		const mtk_expiry_error *e = mtk_expiry_error_get(x, i);
		size_t a = strlen(e->path), b = strlen(suffix);
		if (a >= b && strcmp(e->path + a - b, suffix) == 0)
			return e;
	}
	return NULL;
}

static void test_scan(void **state)
{
	mtk_expiry_opts o = {0};
	mtk_expiry *x = mtk_expiry_new();
	mtk_expiry_stats st;
	const mtk_expiry_cert *c;
	const mtk_expiry_error *e;

	(void)state;
	o.threads = 2;
	assert_int_equal(mtk_expiry_scan_path(x, dir, &o, NULL), MTK_OK);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_count(x), 5); /* a, b, c, quote twice */
	c = mtk_expiry_get(x, 0);
	assert_string_equal(c->subject, "CN=b"); /* expired first */
	assert_true(c->not_after == 1800000000 - 5 * 86400);
	assert_true(c->line > 3); /* the second block of bundle.pem */
	assert_int_equal(c->index, 1);
	assert_string_equal(c->serial, "02");
	c = mtk_expiry_get(x, 1);
	assert_string_equal(c->subject, "CN=a");
	assert_int_equal(c->line, 3); /* after a comment and a blank line */
	assert_int_equal(c->index, 0);
	assert_true(c->self_issued);
	c = mtk_expiry_get(x, 4);
	assert_string_equal(c->subject, "CN=c");
	assert_int_equal(c->src, MTK_EXP_SRC_DER);
	assert_int_equal(c->line, 0);
	e = find_err(x, "/broken.pem");
	assert_non_null(e);
	assert_int_equal(e->code, MTK_E_DER); /* base64 decodes, DER does not */
	assert_int_equal(e->line, 1);
	e = find_err(x, "/dangling.pem");
	assert_non_null(e);
	assert_int_equal(e->code, MTK_E_NOENT);
	assert_null(find_err(x, "/up")); /* symlinked dir not followed */
	mtk_expiry_get_stats(x, &st);
	assert_int_equal(st.symlinked_dirs_skipped, 1);
	assert_int_equal(st.cert_files, 3);
	assert_int_equal(st.slow_path, 0);
	mtk_expiry_free(x);
}

/* times_only: the same records and errors, in the same order, with their
 * dates and places; no names, serials or fingerprints. */
static void test_scan_times_only(void **state)
{
	mtk_expiry_opts o = {0};
	mtk_expiry *full = mtk_expiry_new(), *x = mtk_expiry_new();
	static const uint8_t zero[32];

	(void)state;
	o.threads = 2;
	assert_int_equal(mtk_expiry_scan_path(full, dir, &o, NULL), MTK_OK);
	o.times_only = true;
	assert_int_equal(mtk_expiry_scan_path(x, dir, &o, NULL), MTK_OK);
	assert_int_equal(mtk_expiry_finish(full), MTK_OK);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_count(x), mtk_expiry_count(full));
	assert_int_equal(mtk_expiry_error_count(x), mtk_expiry_error_count(full));
	for (size_t i = 0; i < mtk_expiry_count(x); i++) {
		const mtk_expiry_cert *a = mtk_expiry_get(full, i), *b = mtk_expiry_get(x, i);

		assert_true(a->not_after == b->not_after && a->not_before == b->not_before);
		assert_int_equal(a->src, b->src);
		assert_string_equal(b->subject, "");
		assert_string_equal(b->serial, "");
		assert_memory_equal(b->sha256, zero, 32);
		assert_memory_not_equal(a->sha256, zero, 32);
	}
	mtk_expiry_free(full);
	mtk_expiry_free(x);
}

static void test_loop_and_missing(void **state)
{
	mtk_expiry_opts o = {0};
	mtk_expiry *x = mtk_expiry_new();
	mtk_err err = {0};
	char path[512];
	const mtk_expiry_error *e;

	(void)state;
	o.follow_symlinks = true;
	assert_int_equal(mtk_expiry_scan_path(x, dir, &o, NULL), MTK_OK);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(mtk_expiry_scan_path(x, path, &o, &err), MTK_E_NOENT);
	assert_int_equal(err.code, MTK_E_NOENT);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_count(x), 5); /* the loop adds nothing */
	e = find_err(x, "/sub/up");
	assert_non_null(e);
	assert_int_equal(e->code, MTK_E_DIR_LOOP);
	assert_non_null(find_err(x, "/missing"));
	mtk_expiry_free(x);
}

/* Keeps each family apart, as the CLI does. */
static mtk_rc collect(void *ctx, int family, const void *p, size_t n)
{
	mtk_buf *fams = ctx;

	assert_true(family >= 0 && family < MTK_EXPIRY_PROM_FAMILIES);
	return mtk_buf_append(&fams[family], p, n);
}

static void test_prometheus(void **state)
{
	mtk_expiry *x = mtk_expiry_new();
	mtk_buf b = MTK_BUF_INIT, fams[MTK_EXPIRY_PROM_FAMILIES];
	char *s;
	const char *needle = "subject_CN=\"quote\\\"back\\\\slash\"";
	size_t n = 0;

	(void)state;
	for (int k = 0; k < MTK_EXPIRY_PROM_FAMILIES; k++)
		fams[k] = (mtk_buf)MTK_BUF_INIT;
	assert_int_equal(mtk_expiry_scan_path(x, dir, NULL, NULL), MTK_OK);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_prometheus(x, 1800000000, 30 * 86400, collect, fams), MTK_OK);
	for (int k = 0; k < MTK_EXPIRY_PROM_FAMILIES; k++) {
		assert_int_equal(mtk_buf_append(&b, fams[k].data, fams[k].len), MTK_OK);
		mtk_buf_free(&fams[k]);
	}
	assert_int_equal(mtk_buf_append_u8(&b, 0), MTK_OK);
	s = (char *)b.data;
	assert_non_null(strstr(s, "# TYPE x509_cert_not_after gauge\n"));
	assert_true(strstr(s, "# TYPE x509_cert_not_after gauge\n") <
		    strstr(s, "# TYPE x509_cert_not_before gauge\n"));
	assert_true(strstr(s, "# TYPE x509_cert_not_before gauge\n") <
		    strstr(s, "# TYPE x509_cert_expired gauge\n"));
	assert_non_null(strstr(s, needle));
	/* The same certificate twice in one file: one series per metric. */
	for (const char *p = s; (p = strstr(p, "x509_cert_expired{filename=")) != NULL; p++)
		if (strstr(p, "quote.pem") != NULL && strstr(p, "quote.pem") < strchr(p, '\n'))
			n++;
	assert_int_equal(n, 1);
	assert_non_null(strstr(s, "serial_number=\"2\",subject_C=\"\",subject_CN=\"b\","));
	assert_non_null(strstr(s, "x509_read_errors "));
	assert_non_null(strstr(s, "mtlskit_expiry_certificates 5\n"));
	mtk_buf_free(&b);
	mtk_expiry_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_scan_times_only),
	    cmocka_unit_test(test_loop_and_missing),
	    cmocka_unit_test(test_prometheus),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
