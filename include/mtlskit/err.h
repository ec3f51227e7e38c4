/*
 * err.h - the one error vocabulary of mtlskit, from library call to exit
 * status.  MTK_ERROR_LIST is the single place that defines every code, its
 * process exit status (DESIGN.md) and its message; names and messages are
 * generated from it.
 *
 * Sections are per area so that work on different modules does not touch
 * the same lines.
 */
#ifndef MTLSKIT_ERR_H
#define MTLSKIT_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define MTK_WUR __attribute__((warn_unused_result))
#define MTK_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Process exit statuses, DESIGN.md "Exit status". */
enum {
	MTK_EXIT_OK = 0,
	MTK_EXIT_FINDINGS = 1,
	MTK_EXIT_USAGE = 2,
	MTK_EXIT_INPUT = 3,
	MTK_EXIT_PASSWORD = 4,
	MTK_EXIT_NETWORK = 5,
	MTK_EXIT_INTERNAL = 6,
};

/* X(name, exit status, message) */
#define MTK_ERROR_LIST(X)                                                                      \
	X(MTK_OK, 0, "success")                                                                    \
	/* --- core --- */                                                                         \
	X(MTK_E_NOMEM, 6, "out of memory")                                                         \
	X(MTK_E_INTERNAL, 6, "internal error")                                                     \
	X(MTK_E_CRYPTO, 6, "cryptographic operation failed")                                       \
	X(MTK_E_USAGE, 2, "invalid usage")                                                         \
	X(MTK_E_INVALID_ARG, 2, "invalid argument")                                                \
	X(MTK_E_EXISTS, 2, "output file already exists (use --force to replace it)")               \
	X(MTK_E_PASS_SPEC, 2, "invalid password source (use env:VAR, file:PATH, fd:N or pass:TEXT)") \
	X(MTK_E_NOENT, 3, "no such file or directory")                                             \
	X(MTK_E_ISDIR, 3, "is a directory, not a file")                                            \
	X(MTK_E_PERM, 3, "permission denied")                                                      \
	X(MTK_E_IO, 3, "read error")                                                               \
	X(MTK_E_WRITE, 6, "cannot write output")                                                   \
	X(MTK_E_TOO_LARGE, 3, "input is too large")                                                \
	X(MTK_E_EMPTY, 3, "input is empty")                                                        \
	X(MTK_E_TRUNCATED, 3, "input is truncated")                                                \
	X(MTK_E_MALFORMED, 3, "input is malformed")                                                \
	X(MTK_E_UNSUPPORTED, 3, "unsupported format or algorithm")                                 \
	X(MTK_E_UNKNOWN_FORMAT, 3, "not a certificate, key, CSR, CRL, PFX or keystore")             \
	X(MTK_E_NOT_FOUND, 3, "the requested item is not in the input")                            \
	X(MTK_E_PASSWORD_NEEDED, 4, "a password is needed to read this input")                     \
	X(MTK_E_BAD_PASSWORD, 4, "wrong password")                                                 \
	X(MTK_E_INTEGRITY, 4, "integrity check failed: wrong password or the file was altered")     \
	X(MTK_E_FINDINGS, 1, "the check found errors")                                             \
	/* --- formats: PEM, DER, PKCS#8, PKCS#12 --- */                                           \
	X(MTK_E_PEM_SYNTAX, 3, "malformed PEM block")                                              \
	X(MTK_E_DER, 3, "malformed DER encoding")                                                  \
	X(MTK_E_KEY, 3, "unreadable private key")                                                  \
	X(MTK_E_PKCS12, 3, "malformed PKCS#12/PFX file")                                           \
	/* --- keystores: JKS, JCEKS --- */                                                        \
	X(MTK_E_KEYSTORE, 3, "malformed keystore")                                                 \
	X(MTK_E_KEYSTORE_TAG, 3, "unrecognised keystore entry type")                               \
	X(MTK_E_KEY_PASSWORD, 4, "wrong key password: cannot recover key")                         \
	X(MTK_E_KS_REPLY, 3, "the certificate reply cannot be installed")                        \
	/* --- x509: keys, CSRs, CA, chains --- */                                                 \
	X(MTK_E_KEY_MISMATCH, 1, "the private key does not match the certificate")                 \
	X(MTK_E_CSR_SIGNATURE, 3, "the CSR signature does not verify")                             \
	X(MTK_E_CA_STATE, 3, "the CA directory is missing or incomplete")                          \
	X(MTK_E_LOCKED, 6, "could not lock the CA directory or keystore")                           \
	X(MTK_E_CSR_POLICY, 1, "the CA's profile refuses this request")                            \
	/* --- tls: probe --- */                                                                   \
	X(MTK_E_NETWORK, 5, "network failure")                                                     \
	X(MTK_E_DNS, 5, "host name could not be resolved")                                         \
	X(MTK_E_CONNECT, 5, "connection failed")                                                   \
	X(MTK_E_TIMEOUT, 5, "timed out")                                                           \
	X(MTK_E_TLS, 5, "TLS handshake failed")                                                    \
	X(MTK_E_PROXY, 5, "the proxy refused the connection")                                      \
	X(MTK_E_HTTP, 5, "the HTTP exchange failed")                                               \
	/* --- expiry --- */                                                                       \
	X(MTK_E_DIR_LOOP, 3, "directory already scanned (symbolic link loop)")                     \
	/* --- gateway --- */                                                                      \
	X(MTK_E_CONFIG, 2, "invalid configuration")                                                \
	/* --- renew (track) --- */                                                               \
	X(MTK_E_REJECTED, 1, "the CA rejected the request")                                        \
	X(MTK_E_UNREACHABLE, 5, "the CA could not be reached")                                     \
	X(MTK_E_HOOK, 1, "the post-install hook or post-check failed (rolled back)")               \
	/* --- end --- */

typedef enum {
#define MTK_X_ENUM(name, exitc, msg) name,
	MTK_ERROR_LIST(MTK_X_ENUM)
#undef MTK_X_ENUM
	MTK_E__COUNT
} mtk_rc;

/*
 * The error carried out of a library call: the code, a detail naming the
 * place ("bundle.pem:3: notAfter 2024-01-01") and the first reason drained
 * from OpenSSL's error queue.  The first error set wins (like libtls): the
 * innermost, most specific failure is the one reported.  mtk_err_clear()
 * resets it for reuse.
 */
typedef struct mtk_err {
	mtk_rc code;
	char detail[384];
	char ossl[256];
} mtk_err;

const char *mtk_rc_name(mtk_rc rc);
const char *mtk_rc_message(mtk_rc rc);
int mtk_rc_exit(mtk_rc rc);

void mtk_err_clear(mtk_err *err);
/* Records code and detail in err (if err is not NULL and holds no error yet),
 * drains OpenSSL's error queue, and returns code, so callers can write
 * `return mtk_err_set(err, MTK_E_DER, "%s: bad length", name);`. */
mtk_rc mtk_err_set(mtk_err *err, mtk_rc code, const char *fmt, ...) MTK_PRINTF(3, 4);
mtk_rc mtk_err_setv(mtk_err *err, mtk_rc code, const char *fmt, va_list ap) MTK_PRINTF(3, 0);
/* Drains and discards the OpenSSL error queue. */
void mtk_err_drain_openssl(void);

#endif
