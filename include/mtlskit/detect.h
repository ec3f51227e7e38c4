/*
 * detect.h - what a file is, from its bytes (lib/formats/detect.c): the
 * format codes the loader, the CLI and the expiry scan share.
 */
#ifndef MTLSKIT_DETECT_H
#define MTLSKIT_DETECT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	MTK_FMT_UNKNOWN = 0,
	MTK_FMT_PEM,
	MTK_FMT_DER_CERT,
	MTK_FMT_DER_CSR,
	MTK_FMT_DER_CRL,
	MTK_FMT_DER_PKCS7,
	MTK_FMT_DER_KEY, /* PKCS#8, encrypted PKCS#8, PKCS#1 or SEC1 in DER */
	MTK_FMT_PKCS12,
	MTK_FMT_JKS,
	MTK_FMT_JCEKS,
} mtk_format;

const char *mtk_format_name(mtk_format f);
/* Identifies the bytes from their structure (never from a file name). */
mtk_format mtk_detect(const uint8_t *data, size_t len);

#endif
