/* fuzz_describe.c - describe.h on arbitrary bytes: the printable-string
 * escaper, the truncated-DER check, the PKCS#12 self-description, and the
 * extension / CSR / CRL describers on whatever OpenSSL decodes from the
 * bytes directly or the loader finds in them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "mtlskit/describe.h"
#include "mtlskit/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void describe_cert(X509 *c)
{
	mtk_ext_desc d;
	mtk_err err = {0};

	if (mtk_ext_describe(X509_get0_extensions(c), &d, &err) == MTK_OK)
		mtk_ext_desc_free(&d);
	{
		mtk_key_facts kf;
		mtk_key_facts_get(X509_get0_pubkey(c), &kf);
	}
}

static void describe_csr(X509_REQ *r)
{
	mtk_csr_desc d;
	mtk_err err = {0};

	if (mtk_csr_describe(r, &d, &err) == MTK_OK)
		mtk_csr_desc_free(&d);
}

static void describe_crl(X509_CRL *c)
{
	mtk_crl_desc d;
	mtk_err err = {0};

	if (mtk_crl_describe(c, &d, &err) == MTK_OK)
		mtk_crl_desc_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[256];
	size_t declared;
	mtk_p12_desc p12;
	mtk_err err = {0};
	mtk_set set = MTK_SET_INIT;
	const unsigned char *p;

	mtk_str_printable((const char *)data, size, out, sizeof(out));
	(void)mtk_der_truncated(data, size, &declared);
	if (mtk_p12_describe(data, size, &p12, &err) != MTK_OK && err.code != MTK_E_PKCS12)
		abort(); /* the only failure it may report */
	if (size < (1u << 20)) {
		X509 *c;
		X509_REQ *r;
		X509_CRL *crl;

		p = data;
		if ((c = d2i_X509(NULL, &p, (long)size)) != NULL) {
			describe_cert(c);
			X509_free(c);
		}
		p = data;
		if ((r = d2i_X509_REQ(NULL, &p, (long)size)) != NULL) {
			describe_csr(r);
			X509_REQ_free(r);
		}
		p = data;
		if ((crl = d2i_X509_CRL(NULL, &p, (long)size)) != NULL) {
			describe_crl(crl);
			X509_CRL_free(crl);
		}
	}
	mtk_err_clear(&err);
	if (mtk_load_mem(&set, "fuzz", data, size, NULL, NULL, NULL, &err) == MTK_OK) {
		for (size_t i = 0; i < set.count; i++) {
			const mtk_obj *o = &set.objs[i];
			if (o->cert)
				describe_cert(o->cert);
			if (o->csr)
				describe_csr(o->csr);
			if (o->crl)
				describe_crl(o->crl);
			if (o->key) {
				mtk_key_facts kf;
				mtk_key_facts_get(o->key, &kf);
			}
		}
	}
	mtk_set_free(&set);
	return 0;
}
