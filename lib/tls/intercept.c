/*
 * intercept.c - recognising the CAs of TLS-inspecting proxies.
 *
 * A proxy that inspects TLS terminates the connection and presents a
 * certificate for the server minted by its own CA.  It cannot forward the
 * client certificate (it does not hold the client's key), so mTLS behind it
 * fails until the host is exempted from inspection.  The table below is the
 * one place that knows how these products name their CAs; each pattern is
 * matched case-insensitively as whole words in any attribute of the issuer.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "mtlskit/probe.h"

static const struct {
	const char *pattern;
	const char *product;
} intercept_table[] = {
	{"Zscaler", "Zscaler"},
	{"Palo Alto Networks", "Palo Alto Networks"},
	{"PAN-OS", "Palo Alto Networks"},
	{"Blue Coat", "Blue Coat / Symantec SSL Visibility"},
	{"BlueCoat", "Blue Coat / Symantec SSL Visibility"},
	{"SSL Visibility", "Blue Coat / Symantec SSL Visibility"},
	{"ProxySG", "Blue Coat / Symantec SSL Visibility"},
	{"Fortinet", "Fortinet FortiGate"},
	{"FortiGate", "Fortinet FortiGate"},
	{"Netskope", "Netskope"},
	{"Cisco Umbrella", "Cisco Umbrella"},
	{"OpenDNS", "Cisco Umbrella"},
	{"Sophos", "Sophos"},
	{"Check Point", "Check Point"},
	{"CheckPoint", "Check Point"},
	{"Forcepoint", "Forcepoint / Websense"},
	{"Websense", "Forcepoint / Websense"},
	{"McAfee Web Gateway", "McAfee / Skyhigh Web Gateway"},
	{"Skyhigh", "McAfee / Skyhigh Web Gateway"},
	{"Barracuda", "Barracuda"},
	{"Kaspersky", "Kaspersky"},
	{"ESET SSL Filter", "ESET"},
	{"Avast", "Avast / AVG"},
	{"AVG Web", "Avast / AVG"},
	{"Bitdefender", "Bitdefender"},
	{"Menlo Security", "Menlo Security"},
	{"iboss", "iboss"},
	{"Untangle", "Untangle"},
	{"Cloudflare Gateway", "Cloudflare Zero Trust Gateway"},
	{"Cato Networks", "Cato Networks"},
	{"Smoothwall", "Smoothwall"},
	{"Lightspeed", "Lightspeed"},
	{"ContentKeeper", "ContentKeeper"},
};

static bool word_char(char ch)
{
	return isalnum((unsigned char)ch) != 0;
}

/* pattern occurs in text at a word boundary on both sides. */
static bool has_word(const char *text, const char *pattern)
{
	size_t tl = strlen(text), pl = strlen(pattern);

	for (size_t i = 0; pl <= tl && i <= tl - pl; i++) {
		if (strncasecmp(text + i, pattern, pl) != 0)
			continue;
		if (i > 0 && word_char(text[i - 1]) && word_char(pattern[0]))
			continue;
		if (i + pl < tl && word_char(text[i + pl]) && word_char(pattern[pl - 1]))
			continue;
		return true;
	}
	return false;
}

const char *mtk_intercept_match(const char *text)
{
	if (text == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(intercept_table) / sizeof(intercept_table[0]); i++)
		if (has_word(text, intercept_table[i].pattern))
			return intercept_table[i].product;
	return NULL;
}

const char *mtk_intercept_name(const X509_NAME *name)
{
	int n;

	if (name == NULL)
		return NULL;
	n = X509_NAME_entry_count(name);
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		unsigned char *utf8 = NULL;
		const char *hit;
		int len = ASN1_STRING_to_UTF8(&utf8, v);

		if (len < 0)
			continue;
		/* An embedded NUL would cut the match short, never extend it. */
		hit = mtk_intercept_match((const char *)utf8);
		OPENSSL_free(utf8);
		if (hit != NULL)
			return hit;
	}
	return NULL;
}
