/*
 * ca_index.h - index.txt as `ca sign`, `revoke` and `crl` read it (private:
 * for the unit test and for the fuzzer, which compares it with
 * mtk_ca_index_parse on every input that parses).
 *
 * Those commands read the file once, checking each entry line's start
 * (status, serial) and reading a line whole only when they use it; lines
 * are only appended (docs/ca.md, "How the index is kept").
 */
#ifndef MTLSKIT_CA_INDEX_H
#define MTLSKIT_CA_INDEX_H

#include <stddef.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

/* Where the content of raw[0..len) ends: bytes after the last newline that
 * are not a whole entry (or comment) are an interrupted append. */
size_t mtk_ca_index_content(const char *raw, size_t len);
/* *status: 'V' or 'R' from the last line whose serial has the value of
 * serial (an upper-case hex string), 0 when none has.  Errors:
 * MTK_E_CA_STATE naming the line. */
MTK_WUR mtk_rc mtk_ca_index_state(const char *raw, size_t len, const char *serial, char *status, mtk_err *err);
/* The CRL's revokedCertificates as DER, appended to der without the
 * SEQUENCE header: an entry per revoked line (serial, date, reasonCode
 * unless unspecified), sorted by serial as OpenSSL sorts them; *count of
 * them.  Errors: MTK_E_CA_STATE naming the line. */
MTK_WUR mtk_rc mtk_ca_crl_list(const char *raw, size_t len, mtk_buf *der, size_t *count,
			       mtk_err *err);

#endif
