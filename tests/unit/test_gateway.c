/* test_gateway.c - the gateway's configuration parser, user map and PROXY v2
 * encoder/decoder (lib/gateway). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/gateway.h"

#define S(x) (const uint8_t *)(x), strlen(x)
/* longer than the longest line the gateway parsers take (lines.h: 8192) */
#define MTK_GW_TEST_LONG 8192

static void test_config_file(void **state)
{
	mtk_gwconfig c;
	mtk_err e = {0};
	const char *f = "# comment\n"
			"\n"
			"listen 127.0.0.1:8443\r\n"
			"  mode   tcp  \n"
			"cert /a.pem\ncert /b.pem\nkey /a.key\nkey /b.key\n"
			"ca /ca1.pem\nca /ca2.pem\n"
			"usermap /users.map\n"
			"backend [::1]:8080\n"
			"handshake_timeout 250ms\n"
			"idle-timeout 2m\n"
			"max_header_size 32k\n"
			"session_tickets off\n"
			"require_role mid server\n"
			"tls_min 1.3";
	(void)state;
	mtk_gwconfig_init(&c);
	assert_int_equal(mtk_gwconfig_parse(&c, "gw.conf", S(f), &e), MTK_OK);
	assert_string_equal(c.listen, "127.0.0.1:8443");
	assert_int_equal(c.mode, MTK_GW_MODE_TCP);
	assert_int_equal(c.certs.n, 2);
	assert_string_equal(c.certs.v[1], "/b.pem");
	assert_int_equal(c.cas.n, 2);
	assert_int_equal(c.handshake_timeout_ms, 250);
	assert_int_equal(c.idle_timeout_ms, 120000);
	assert_int_equal(c.max_header_size, 32768);
	assert_false(c.session_tickets);
	assert_string_equal(c.require_role, "mid server"); /* the rest of the line */
	assert_int_equal(c.tls_min, 13);
	assert_int_equal(c.max_headers, 100); /* default kept */
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_OK);
	mtk_gwconfig_free(&c);
}

static void test_config_errors(void **state)
{
	mtk_gwconfig c;
	mtk_err e = {0};
	(void)state;

	mtk_gwconfig_init(&c);
	assert_int_equal(mtk_gwconfig_parse(&c, "gw.conf", S("listen 1.2.3.4:1\nfrobnicate 1\n"), &e),
			 MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "gw.conf:2: unknown setting 'frobnicate'"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_parse(&c, "x", S("idle_timeout soon\n"), &e), MTK_E_CONFIG);
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_parse(&c, "x", S("listen\n"), &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "missing value"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_parse(&c, "x", S("mode udp\n"), &e), MTK_E_CONFIG);
	assert_int_equal(mtk_gwconfig_parse(&c, "x", (const uint8_t *)"listen a\0b\n", 11, &e),
			 MTK_E_CONFIG);
	assert_int_equal(mtk_gwconfig_set(&c, "workers", "-1", NULL), MTK_E_CONFIG);
	assert_int_equal(mtk_gwconfig_set(&c, "workers", "9999", NULL), MTK_E_CONFIG);
	assert_int_equal(mtk_gwconfig_set(&c, "max_header_size", "10", NULL), MTK_E_CONFIG);
	/* check: what is missing is named */
	mtk_gwconfig_free(&c);
	mtk_gwconfig_init(&c);
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "listen"));
	assert_int_equal(mtk_gwconfig_set(&c, "listen", "127.0.0.1:0", NULL), MTK_OK);
	assert_int_equal(mtk_gwconfig_set(&c, "cert", "a", NULL), MTK_OK);
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "1 certificates but 0 keys"));
	mtk_gwconfig_free(&c);
}

static void test_parse_helpers(void **state)
{
	long v;
	struct sockaddr_storage ss;
	socklen_t sl;
	(void)state;

	assert_int_equal(mtk_parse_size("2M", &v), MTK_OK);
	assert_int_equal(v, 2 << 20);
	assert_int_equal(mtk_parse_size("99999999999999999999", &v), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_parse_sockaddr("[::1]:443", &ss, &sl, NULL), MTK_OK);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 443);
	assert_int_equal(mtk_parse_sockaddr("10.0.0.1:65535", &ss, &sl, NULL), MTK_OK);
	assert_int_equal(mtk_parse_sockaddr("10.0.0.1:65536", &ss, &sl, NULL), MTK_E_CONFIG);
	assert_int_equal(mtk_parse_sockaddr("example.com:80", &ss, &sl, NULL), MTK_E_CONFIG);
	assert_int_equal(mtk_parse_sockaddr("10.0.0.1", &ss, &sl, NULL), MTK_E_CONFIG);
	/* A listener may take any free port and every address. */
	assert_int_equal(mtk_parse_sockaddr("127.0.0.1:0", &ss, &sl, NULL), MTK_OK);
	assert_int_equal(mtk_parse_sockaddr("*:8443", &ss, &sl, NULL), MTK_OK);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
	/* A bare IPv6 address takes brackets to carry a port. */
	assert_int_equal(mtk_parse_sockaddr("::1:443", &ss, &sl, NULL), MTK_E_CONFIG);
	assert_int_equal(mtk_parse_sockaddr("[::1]", &ss, &sl, NULL), MTK_E_CONFIG);
	{
		mtk_err e = {0};
		assert_int_equal(mtk_parse_sockaddr("10.0.0.1:x", &ss, &sl, &e), MTK_E_CONFIG);
		assert_string_equal(e.detail, "10.0.0.1:x: port must be 0..65535");
	}
}

#define FP_A "sha256:5A:5C:62:8F:6B:CB:D8:17:E8:7C:9A:B5:74:C3:1D:29:40:1C:43:5B:6C:72:F5:A5:64:76:8B:CC:84:06:11:75"
#define FP_B "0e6857d79da485d4f4a7415b2f1f18a2b0c7067fc1d0fe9652bc6e1d86483e86"

static void test_usermap(void **state)
{
	mtk_usermap *m = NULL;
	mtk_err e = {0};
	const char *f = "# user roles match\n"
			"alice  mid_server,itil  " FP_A "\n"
			"alice  mid_server       sha256:" FP_B "  \n"
			"\n"
			"svc    -                subject:O=Example Corp,CN=svc.example.com\n";
	uint8_t a[32] = {0x5a, 0x5c, 0x62, 0x8f, 0x6b, 0xcb, 0xd8, 0x17, 0xe8, 0x7c, 0x9a,
			 0xb5, 0x74, 0xc3, 0x1d, 0x29, 0x40, 0x1c, 0x43, 0x5b, 0x6c, 0x72,
			 0xf5, 0xa5, 0x64, 0x76, 0x8b, 0xcc, 0x84, 0x06, 0x11, 0x75};
	uint8_t other[32] = {0};
	const mtk_usermap_entry *en;
	size_t idx = 99;
	(void)state;

	assert_int_equal(mtk_usermap_parse("users.map", S(f), &m, &e), MTK_OK);
	assert_int_equal(mtk_usermap_count(m), 3);
	en = mtk_usermap_lookup(m, a, "CN=whatever", &idx);
	assert_non_null(en);
	assert_string_equal(en->user, "alice");
	assert_string_equal(en->roles, "mid_server,itil");
	assert_int_equal(idx, 0);
	assert_int_equal(en->line, 2);
	assert_true(mtk_usermap_has_role(en, "itil"));
	assert_true(mtk_usermap_has_role(en, "mid_server"));
	assert_false(mtk_usermap_has_role(en, "mid"));
	assert_false(mtk_usermap_has_role(en, ""));
	assert_null(mtk_usermap_lookup(m, other, NULL, NULL));
	en = mtk_usermap_lookup(m, other, "O=Example Corp,CN=svc.example.com", &idx);
	assert_non_null(en);
	assert_string_equal(en->user, "svc");
	assert_string_equal(en->roles, "");
	assert_int_equal(idx, 2);
	assert_null(mtk_usermap_lookup(m, other, "CN=svc.example.com", NULL));
	mtk_usermap_free(m);
}

static void test_usermap_errors(void **state)
{
	mtk_usermap *m = NULL;
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_usermap_parse("u", S("alice itil sha256:abcd\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:1: sha256: expected 64 hex digits"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("alice itil " FP_A "\nbob x " FP_A "\n"), &m, &e),
			 MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:2: fingerprint already mapped on line 1"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b subject:CN=x\nc d subject:CN=x\n"), &m, &e),
			 MTK_E_MALFORMED);
	assert_int_equal(mtk_usermap_parse("u", S("alice itil\n"), &m, &e), MTK_E_MALFORMED);
	assert_int_equal(mtk_usermap_parse("u", S("alice itil md5:00\n"), &m, &e), MTK_E_MALFORMED);
	assert_int_equal(mtk_usermap_parse("u", S("al\"ice itil subject:CN=x\n"), &m, &e),
			 MTK_E_MALFORMED);
	assert_int_equal(mtk_usermap_parse("u", S("a b subject:CN=\x01\n"), &m, &e), MTK_E_MALFORMED);
	assert_null(m);
	/* a key repeated three times: the second occurrence is reported, with the first */
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b subject:CN=y\n# c\nc d subject:CN=x\ne f subject:CN=x\n"
						  "g h subject:CN=x\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:4: subject already mapped on line 3"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b sha256:" FP_B "\nc d " FP_A "\ne f sha256:" FP_B "\n"), &m, &e),
			 MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:3: fingerprint already mapped on line 1"));
	/* a malformed line is reported before any duplicate above it */
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b " FP_A "\nc d " FP_A "\nbad\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:3: expected USER ROLES MATCH"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b sha256:" FP_B "00\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:1: sha256: expected 64 hex digits"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b sha256:" FP_B "\x01\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:1: control character"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b subject:\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:1: match must start with sha256: or subject:"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_usermap_parse("u", S("a b\\ subject:CN=x\n"), &m, &e), MTK_E_MALFORMED);
	assert_non_null(strstr(e.detail, "u:1: bad character in user or roles"));
	{
		char longline[MTK_GW_TEST_LONG + 32];
		memset(longline, 'x', sizeof(longline) - 1);
		memcpy(longline, "a b subject:", 12);
		longline[sizeof(longline) - 1] = '\0';
		mtk_err_clear(&e);
		assert_int_equal(mtk_usermap_parse("u", S(longline), &m, &e), MTK_E_MALFORMED);
		assert_non_null(strstr(e.detail, "u:1: line too long"));
	}
	assert_null(m);
	/* CRLF lines, tabs, a last line without '\n', spaces around the match */
	assert_int_equal(mtk_usermap_parse("u", S("\t# c\r\n\r\na\tb,c \t subject:CN=x\ty, O=z \r\nd - " FP_A), &m, &e),
			 MTK_OK);
	assert_int_equal(mtk_usermap_count(m), 2);
	assert_string_equal(mtk_usermap_get(m, 0)->subject, "CN=x\ty, O=z");
	assert_string_equal(mtk_usermap_get(m, 0)->roles, "b,c");
	assert_int_equal(mtk_usermap_get(m, 0)->line, 3);
	assert_int_equal(mtk_usermap_get(m, 1)->line, 4);
	assert_ptr_equal(mtk_usermap_lookup(m, NULL, "CN=x\ty, O=z", NULL), mtk_usermap_get(m, 0));
	mtk_usermap_free(m);
	m = NULL;
	/* an empty map is valid: every certificate is unmapped */
	assert_int_equal(mtk_usermap_parse("u", S("# nothing\n"), &m, &e), MTK_OK);
	assert_int_equal(mtk_usermap_count(m), 0);
	mtk_usermap_free(m);
}

/* Many entries: every one found by what it was mapped with, at its own
 * index; near misses are not found; the entry limit holds. */
static void test_usermap_large(void **state)
{
	enum { N = 20000 };
	size_t cap = (size_t)N * 120, len = 0, idx;
	char *f = malloc(cap), subj[64];
	mtk_usermap *m = NULL;
	mtk_err e = {0};
	uint8_t fp[32];
	(void)state;

	assert_non_null(f);
	for (int i = 0; i < N; i++) {
		if (i % 3 == 2) {
			len += (size_t)snprintf(f + len, cap - len, "u%d r subject:CN=host%d,O=Example\n", i, i);
			continue;
		}
		len += (size_t)snprintf(f + len, cap - len, "u%d r sha256:", i);
		for (int k = 0; k < 32; k++)
			len += (size_t)snprintf(f + len, cap - len, "%02x", (unsigned)((i * 7 + k * 131) ^ (i >> (k % 16))) & 0xff);
		f[len++] = '\n';
	}
	assert_int_equal(mtk_usermap_parse("big", (const uint8_t *)f, len, &m, &e), MTK_OK);
	assert_int_equal(mtk_usermap_count(m), N);
	for (int i = 0; i < N; i++) {
		const mtk_usermap_entry *en;
		char user[16];
		idx = (size_t)-1;
		snprintf(user, sizeof(user), "u%d", i);
		if (i % 3 == 2) {
			snprintf(subj, sizeof(subj), "CN=host%d,O=Example", i);
			en = mtk_usermap_lookup(m, NULL, subj, &idx);
			subj[strlen(subj) - 1] = 'X';
			assert_null(mtk_usermap_lookup(m, NULL, subj, NULL));
		} else {
			for (int k = 0; k < 32; k++)
				fp[k] = (uint8_t)(((i * 7 + k * 131) ^ (i >> (k % 16))) & 0xff);
			en = mtk_usermap_lookup(m, fp, "CN=nobody", &idx);
			fp[31] ^= 0x80;
			if (mtk_usermap_lookup(m, fp, NULL, NULL) != NULL)
				assert_int_not_equal(strcmp(mtk_usermap_lookup(m, fp, NULL, NULL)->user, user), 0);
		}
		assert_non_null(en);
		assert_string_equal(en->user, user);
		assert_int_equal(idx, i);
		assert_int_equal(en->line, i + 1);
	}
	mtk_usermap_free(m);
	m = NULL;
	free(f);

	/* MTK_USERMAP_MAX_ENTRIES + 1 entry lines: refused on the one too many */
	cap = (size_t)(MTK_USERMAP_MAX_ENTRIES + 1) * 14;
	f = malloc(cap);
	assert_non_null(f);
	for (size_t i = 0; i < cap; i += 14)
		memcpy(f + i, "a b subject:x\n", 14);
	assert_int_equal(mtk_usermap_parse("max", (const uint8_t *)f, cap, &m, &e), MTK_E_TOO_LARGE);
	assert_non_null(strstr(e.detail, "max:1000001: more than 1000000 entries"));
	assert_null(m);
	free(f);
}

static void test_pp2_roundtrip(void **state)
{
	mtk_pp2_info in, out;
	mtk_buf b = MTK_BUF_INIT;
	struct sockaddr_in *s = (struct sockaddr_in *)&in.src, *d = (struct sockaddr_in *)&in.dst;
	size_t used = 0;
	static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
	(void)state;

	memset(&in, 0, sizeof(in));
	s->sin_family = d->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &s->sin_addr);
	inet_pton(AF_INET, "198.51.100.2", &d->sin_addr);
	s->sin_port = htons(50000);
	d->sin_port = htons(443);
	in.ssl = true;
	in.client_flags = MTK_PP2_CLIENT_SSL | MTK_PP2_CLIENT_CERT_CONN;
	in.version = "TLSv1.3";
	in.cn = "mid01.example.com";
	in.has_sha256 = true;
	memset(in.sha256, 0xab, 32);
	in.user = "alice";
	in.roles = "mid_server";
	assert_int_equal(mtk_pp2_encode(&in, &b, NULL), MTK_OK);
	/* the fixed part, byte for byte */
	assert_memory_equal(b.data, sig, 12);
	assert_int_equal(b.data[12], 0x21); /* v2, PROXY */
	assert_int_equal(b.data[13], 0x11); /* TCP over IPv4 */
	assert_int_equal((b.data[14] << 8 | b.data[15]), b.len - 16);
	assert_int_equal(b.data[16], 192);
	assert_int_equal(b.data[24] << 8 | b.data[25], 50000); /* source port */
	assert_int_equal(b.data[26] << 8 | b.data[27], 443);   /* destination port */
	assert_int_equal(b.data[28], MTK_PP2_TYPE_SSL);          /* first TLV */
	/* trailing payload after the header is not consumed */
	assert_int_equal(mtk_buf_append(&b, "GET", 3), MTK_OK);
	assert_int_equal(mtk_pp2_decode(b.data, b.len, &out, &used, NULL), MTK_OK);
	assert_int_equal(used, b.len - 3);
	assert_false(out.local);
	assert_int_equal(ntohs(((struct sockaddr_in *)&out.dst)->sin_port), 443);
	assert_true(out.ssl);
	assert_int_equal(out.client_flags, 3);
	assert_int_equal(out.verify, 0);
	assert_string_equal(out.version, "TLSv1.3");
	assert_string_equal(out.cn, "mid01.example.com");
	assert_null(out.cipher);
	assert_true(out.has_sha256);
	assert_int_equal(out.sha256[31], 0xab);
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.roles, "mid_server");
	mtk_pp2_info_free(&out);
	/* every truncation asks for more bytes */
	for (size_t n = 0; n < used; n++)
		assert_int_equal(mtk_pp2_decode(b.data, n, &out, &used, NULL), MTK_E_TRUNCATED);
	b.data[0] = 'X';
	assert_int_equal(mtk_pp2_decode(b.data, b.len, &out, &used, NULL), MTK_E_MALFORMED);
	mtk_buf_free(&b);
}

static void test_pp2_errors(void **state)
{
	mtk_pp2_info in, out;
	mtk_buf b = MTK_BUF_INIT;
	size_t used;
	(void)state;

	memset(&in, 0, sizeof(in));
	in.src.ss_family = AF_INET;
	in.dst.ss_family = AF_INET6;
	assert_int_equal(mtk_pp2_encode(&in, &b, NULL), MTK_E_INVALID_ARG);
	assert_int_equal(b.len, 0);
	/* LOCAL: no addresses */
	memset(&in, 0, sizeof(in));
	in.local = true;
	assert_int_equal(mtk_pp2_encode(&in, &b, NULL), MTK_OK);
	assert_int_equal(b.len, 16);
	assert_int_equal(b.data[12], 0x20);
	assert_int_equal(mtk_pp2_decode(b.data, b.len, &out, &used, NULL), MTK_OK);
	assert_true(out.local);
	mtk_pp2_info_free(&out);
	/* a TLV claiming more than the header holds */
	b.len = 0;
	assert_int_equal(mtk_buf_append(&b, "\r\n\r\n\0\r\nQUIT\n\x21\x00\x00\x04\xe1\x00\x09x", 20),
			 MTK_OK);
	assert_int_equal(mtk_pp2_decode(b.data, b.len, &out, &used, NULL), MTK_E_MALFORMED);
	/* version 1 byte */
	b.data[12] = 0x11;
	assert_int_equal(mtk_pp2_decode(b.data, b.len, &out, &used, NULL), MTK_E_MALFORMED);
	mtk_buf_free(&b);
}

/* key_pass: none, one for all, or one per key; env:/file: only (a
 * password never sits in the file); tls_ciphers/tls_ciphersuites kept as
 * given (tlspolicy checks the names). */
static void test_config_trust_keys(void **state)
{
	mtk_gwconfig c;
	mtk_err e = {0};
	const char *base = "listen 127.0.0.1:0\ncert /a.pem\nkey /a.key\ncert /b.pfx\nkey /b.pfx\n"
			   "ca /ca.pem\nusermap /u.map\nbackend 127.0.0.1:1\n"
			   "tls_ciphers ECDHE+AESGCM\ntls-ciphersuites TLS_AES_128_GCM_SHA256\n";
	(void)state;

	mtk_gwconfig_init(&c);
	assert_int_equal(mtk_gwconfig_parse(&c, "gw.conf", S(base), &e), MTK_OK);
	assert_string_equal(c.tls_ciphers, "ECDHE+AESGCM");
	assert_string_equal(c.tls_ciphersuites, "TLS_AES_128_GCM_SHA256");
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_OK); /* no key_pass */
	assert_int_equal(mtk_gwconfig_set(&c, "key_pass", "env:GW_PASS", &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_OK); /* one for all */
	assert_int_equal(mtk_gwconfig_set(&c, "key-pass", "file:/run/pfx.pass", &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_OK); /* one per key */
	assert_int_equal(mtk_gwconfig_set(&c, "key_pass", "env:THIRD", &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "key_pass: 3 given for 2 keys"));
	mtk_gwconfig_free(&c);

	mtk_gwconfig_init(&c);
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_parse(&c, "gw.conf", S(base), &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_set(&c, "key_pass", "pass:hunter2", &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "expected env:VAR or file:PATH"));
	assert_null(strstr(e.detail, "hunter2"));
	mtk_gwconfig_free(&c);
	mtk_gwconfig_init(&c);
	mtk_err_clear(&e);
	assert_int_equal(mtk_gwconfig_parse(&c, "gw.conf", S(base), &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_set(&c, "key_pass", "env:", &e), MTK_OK);
	assert_int_equal(mtk_gwconfig_check(&c, &e), MTK_E_CONFIG);
	mtk_gwconfig_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_file),    cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_parse_helpers),  cmocka_unit_test(test_usermap),
		cmocka_unit_test(test_usermap_errors), cmocka_unit_test(test_usermap_large),
		cmocka_unit_test(test_pp2_roundtrip),
		cmocka_unit_test(test_pp2_errors),
		cmocka_unit_test(test_config_trust_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
