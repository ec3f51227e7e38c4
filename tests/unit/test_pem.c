/* test_pem.c - the PEM scanner: blocks, lines, hygiene, damaged input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mtlskit/pem.h"

#define CERT_BODY "MAMCAQE=\n"

static mtk_pem_doc scan_ok(const char *text)
{
	mtk_pem_doc doc;
	mtk_err e = {0};
	assert_int_equal(mtk_pem_scan((const uint8_t *)text, strlen(text), &doc, &e), MTK_OK);
	return doc;
}

static void test_blocks_and_lines(void **state)
{
	const char *t = "-----BEGIN CERTIFICATE-----\n" CERT_BODY "-----END CERTIFICATE-----\n"
			"-----BEGIN PRIVATE KEY-----\n" CERT_BODY "-----END PRIVATE KEY-----\n";
	mtk_pem_doc doc = scan_ok(t);
	(void)state;
	assert_int_equal(doc.count, 2);
	assert_string_equal(doc.blocks[0].label, "CERTIFICATE");
	assert_int_equal(doc.blocks[0].line, 1);
	assert_int_equal(doc.blocks[1].line, 4);
	assert_string_equal(doc.blocks[1].label, "PRIVATE KEY");
	assert_int_equal(doc.blocks[0].der_len, 5);
	assert_memory_equal(doc.blocks[0].der, "\x30\x03\x02\x01\x01", 5);
	assert_int_equal(doc.crlf_line, 0);
	assert_false(doc.bom);
	assert_int_equal(doc.blank_between_line, 0);
	assert_int_equal(doc.stray_line, 0);
	mtk_pem_doc_free(&doc);
}

static void test_windows_hygiene(void **state)
{
	const char *t = "\xEF\xBB\xBF-----BEGIN CERTIFICATE-----\r\nMAMC\r\nAQE=\r\n"
			"-----END CERTIFICATE-----\r\n\r\n"
			"-----BEGIN CERTIFICATE-----\r\n" "MAMCAQE=\r\n-----END CERTIFICATE-----\r\n\x1A";
	mtk_pem_doc doc = scan_ok(t);
	mtk_findings fs = MTK_FINDINGS_INIT;
	(void)state;
	assert_int_equal(doc.count, 2);
	assert_false(doc.blocks[0].bad);
	assert_int_equal(doc.blocks[0].der_len, 5);
	assert_true(doc.bom);
	assert_int_equal(doc.crlf_line, 1);
	assert_int_equal(doc.blank_between_line, 5);
	assert_int_equal(doc.ctrl_z_line, 9);
	assert_int_equal(doc.blocks[1].line, 6);
	assert_int_equal(mtk_pem_hygiene_findings(&doc, "w.pem", &fs), MTK_OK);
	assert_true(mtk_findings_has(&fs, MTK_F_PEM_CRLF));
	assert_true(mtk_findings_has(&fs, MTK_F_PEM_STRAY_BYTES));
	assert_true(mtk_findings_has(&fs, MTK_F_PEM_BLANK_LINES));
	mtk_findings_free(&fs);
	mtk_pem_doc_free(&doc);
}

static void test_legacy_encrypted_headers(void **state)
{
	const char *t = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
			"DEK-Info: AES-256-CBC,0011223344556677\n\n" CERT_BODY
			"-----END RSA PRIVATE KEY-----\n";
	mtk_pem_doc doc = scan_ok(t);
	(void)state;
	assert_int_equal(doc.count, 1);
	assert_true(doc.blocks[0].encrypted);
	assert_string_equal(doc.blocks[0].dek_info, "AES-256-CBC,0011223344556677");
	assert_false(doc.blocks[0].bad);
	assert_int_equal(doc.blank_inside_line, 0); /* the header separator is not a stray blank */
	mtk_pem_doc_free(&doc);
}

static void test_damaged(void **state)
{
	mtk_pem_doc doc;
	mtk_err e = {0};
	(void)state;
	/* truncated: no END */
	doc = scan_ok("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n");
	assert_int_equal(doc.count, 1);
	assert_true(doc.blocks[0].bad);
	mtk_pem_doc_free(&doc);
	/* mismatched END, then a good block still found */
	doc = scan_ok("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END X509 CRL-----\n"
		      "-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n");
	assert_int_equal(doc.count, 2);
	assert_true(doc.blocks[0].bad);
	assert_false(doc.blocks[1].bad);
	mtk_pem_doc_free(&doc);
	/* garbage base64 */
	doc = scan_ok("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
	assert_true(doc.blocks[0].bad);
	mtk_pem_doc_free(&doc);
	/* nothing at all */
	assert_int_equal(mtk_pem_scan((const uint8_t *)"hello\n", 6, &doc, &e), MTK_E_PEM_SYNTAX);
}

static void test_encode_roundtrip(void **state)
{
	uint8_t der[100];
	mtk_buf out = MTK_BUF_INIT;
	mtk_pem_doc doc;
	mtk_err e = {0};
	(void)state;
	for (int i = 0; i < 100; i++)
		der[i] = (uint8_t)i;
	assert_int_equal(mtk_pem_encode(&out, "CERTIFICATE", der, sizeof(der)), MTK_OK);
	assert_null(memchr(out.data, '\r', out.len));
	assert_int_equal(mtk_pem_scan(out.data, out.len, &doc, &e), MTK_OK);
	assert_int_equal(doc.blocks[0].der_len, 100);
	assert_memory_equal(doc.blocks[0].der, der, 100);
	mtk_pem_doc_free(&doc);
	mtk_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_and_lines),
		cmocka_unit_test(test_windows_hygiene),
		cmocka_unit_test(test_legacy_encrypted_headers),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_encode_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
