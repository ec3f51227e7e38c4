/* issue.c - trk_issue: the issuers of `track` (ca-dir, certmonger helper), and
 * trk_spawn, the one way lib/renew runs another program (helpers, hooks). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "mtlskit/bundle.h"
#include "mtlskit/ca.h"
#include "mtlskit/cert.h"
#include "mtlskit/load.h"

#include "internal.h"

#define MAX_ARGS 64
#define MAX_OUT (1u << 20)

/* Splits cmd on blanks into argv (pointers into buf).  No quoting: a hook
 * that needs the shell says hook_shell yes. */
static size_t split_argv(char *buf, char **argv, size_t cap)
{
	size_t n = 0;
	char *p = buf;

	while (*p != '\0' && n + 1 < cap) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		argv[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	argv[n] = NULL;
	return n;
}

static uint64_t now_ms(const mtk_track_env *env)
{
	return env->clock_ms != NULL ? env->clock_ms(env->clock_ctx) : 0;
}

mtk_rc trk_spawn(const char *cmd, bool shell, char *const *envp, char *const *extra,
		 long timeout_s, const mtk_track_env *env, int *status, mtk_buf *out, mtk_err *err)
{
	char *buf = NULL, *argv[MAX_ARGS + 1];
	char **cenv = NULL;
	size_t ne = 0, nx = 0;
	int pfd[2] = {-1, -1}, st = 0;
	pid_t pid = -1;
	mtk_rc rc = MTK_OK;
	bool timed_out = false;
	uint64_t start = now_ms(env);

	if ((buf = strdup(cmd)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "spawn");
	if (shell) {
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = buf;
		argv[3] = NULL;
	} else if (split_argv(buf, argv, MAX_ARGS + 1) == 0) {
		free(buf);
		return mtk_err_set(err, MTK_E_CONFIG, "empty command");
	}
	for (; envp != NULL && envp[ne] != NULL; ne++)
		;
	for (; extra != NULL && extra[nx] != NULL; nx++)
		;
	if ((cenv = calloc(ne + nx + 1, sizeof(*cenv))) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "spawn");
		goto out;
	}
	{
		size_t k = 0;
		/* The helper protocol's variables come from us only. */
		for (size_t i = 0; i < ne; i++)
			if (strncmp(envp[i], "CERTMONGER_", 11) != 0)
				cenv[k++] = envp[i];
		for (size_t i = 0; i < nx; i++)
			cenv[k++] = extra[i];
		cenv[k] = NULL;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		rc = mtk_err_set(err, MTK_E_INTERNAL, "pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = mtk_err_set(err, MTK_E_INTERNAL, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		/* our own process group, so a timeout kills the helper's children too */
		(void)setpgid(0, 0);
		execvpe(argv[0], argv, cenv);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		uint8_t chunk[4096];
		long left = 1000;
		int pr;
		ssize_t n;

		if (env->clock_ms != NULL && timeout_s > 0) {
			uint64_t el = now_ms(env) - start;
			if (el >= (uint64_t)timeout_s * 1000) {
				timed_out = true;
				break;
			}
			left = (long)((uint64_t)timeout_s * 1000 - el);
		}
		pr = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (pr < 0 && errno != EINTR) {
			rc = mtk_err_set(err, MTK_E_INTERNAL, "poll: %s", strerror(errno));
			break;
		}
		if (pr <= 0)
			continue;
		n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out != NULL && out->len + (size_t)n <= MAX_OUT &&
		    mtk_buf_append(out, chunk, (size_t)n) != MTK_OK) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "spawn");
			break;
		}
	}
	if (timed_out || rc != MTK_OK)
		(void)kill(-pid, SIGKILL), (void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out && rc == MTK_OK)
		rc = mtk_err_set(err, MTK_E_TIMEOUT, "%s: killed after %ld s", argv[0], timeout_s);
	if (rc == MTK_OK)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(cenv);
	free(buf);
	return rc;
}

mtk_rc trk_time_parse(const char *s, time_t *out)
{
	return mtk_time_parse(s, out, NULL);
}

/* ---- ca-dir ---- */

static mtk_rc issue_ca_dir(const mtk_track_conf *c, const mtk_track_env *env, X509_REQ *csr,
			   X509 *old, X509 **leaf, STACK_OF(X509) **cas, mtk_err *err)
{
	mtk_secret *pass = NULL;
	mtk_ca *ca = NULL;
	mtk_ca_sign_opts so = {0};
	mtk_cert_summary s;
	STACK_OF(X509) *chain = NULL, *dup = NULL;
	unsigned fl = 0;
	long life;
	mtk_rc rc;

	if (c->ca_pass != NULL &&
	    (rc = mtk_pass_resolve(c->ca_pass, NULL, env->pass_io, &pass, &fl, err)) != MTK_OK)
		return rc;
	if ((rc = mtk_ca_open(c->ca_dir, pass, MTK_CA_KEY_SIGNER, &ca, err)) != MTK_OK)
		goto out;
	if ((rc = mtk_cert_summarize(old, &s, err)) != MTK_OK)
		goto out;
	life = c->days > 0 ? c->days * 86400L : (long)(s.not_after - s.not_before);
	if (life < 3600)
		life = 3600;
	so.profile = c->usage == MTK_USAGE_SERVER ? MTK_PROFILE_SERVER : MTK_PROFILE_CLIENT;
	so.not_before = env->now;
	so.not_after = env->now + life;
	if ((rc = mtk_ca_sign(ca, csr, &so, leaf, err)) != MTK_OK)
		goto out;
	chain = mtk_ca_chain(ca);
	if ((dup = sk_X509_new_null()) == NULL) {
		X509_free(*leaf);
		*leaf = NULL;
		rc = mtk_err_set(err, MTK_E_NOMEM, "chain");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (sk_X509_push(dup, x))
			X509_up_ref(x);
	}
	*cas = dup;
out:
	mtk_ca_close(ca);
	mtk_secret_free(pass);
	return rc;
}

/* ---- certmonger submit helper ---- */

/* Cookie / reason text as one printable line (it goes in NAME.state and in
 * messages). */
static void one_line(const mtk_buf *b, size_t from, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = from; i < b->len && k + 1 < cap; i++) {
		unsigned char ch = b->data[i];
		if (ch == '\n' && i + 1 == b->len)
			break;
		out[k++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

static mtk_rc issue_helper(const mtk_track_conf *c, const mtk_track_env *env, X509_REQ *csr,
			   char *cookie, size_t cookie_cap, trk_answer *ans, time_t *poll_after,
			   X509 **leaf,
			   STACK_OF(X509) **cas, mtk_err *err)
{
	mtk_buf pem = MTK_BUF_INIT, out = MTK_BUF_INIT, v_csr = MTK_BUF_INIT, v_ck = MTK_BUF_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	char *extra[4] = {NULL, NULL, NULL, NULL};
	char line[384];
	int status = -1;
	mtk_rc rc;
	bool poll_op = cookie[0] != '\0';

	if ((rc = mtk_csr_pem(csr, &pem, err)) != MTK_OK)
		return rc;
	if (mtk_buf_printf(&v_csr, "CERTMONGER_CSR=%.*s", (int)pem.len, (const char *)pem.data) !=
		MTK_OK ||
	    mtk_buf_append_u8(&v_csr, 0) != MTK_OK ||
	    mtk_buf_printf(&v_ck, "CERTMONGER_CA_COOKIE=%s", cookie) != MTK_OK ||
	    mtk_buf_append_u8(&v_ck, 0) != MTK_OK) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "helper");
		goto out;
	}
	extra[0] = poll_op ? (char *)"CERTMONGER_OPERATION=POLL" : (char *)"CERTMONGER_OPERATION=SUBMIT";
	extra[1] = (char *)v_csr.data;
	extra[2] = poll_op ? (char *)v_ck.data : NULL;
	if ((rc = trk_spawn(c->helper, false, env->envp, extra, 300, env, &status, &out, err)) !=
	    MTK_OK)
		goto out;
	switch (status) {
	case 0:
		if ((rc = mtk_load_mem(&set, "helper output", out.data, out.len, &lo, NULL, NULL,
				       err)) != MTK_OK)
			goto out;
		rc = mtk_set_certs(&set, cas, err);
		if (rc == MTK_OK && sk_X509_num(*cas) == 0) {
			sk_X509_free(*cas);
			*cas = NULL;
			rc = mtk_err_set(err, MTK_E_NOT_FOUND,
					 "the helper said issued (0) but printed no certificate");
		}
		if (rc != MTK_OK)
			goto out;
		/* certmonger's helpers print the issued certificate first */
		*leaf = sk_X509_shift(*cas);
		*ans = TRK_ISSUED;
		cookie[0] = '\0';
		break;
	case 1:
	case 5: {
		/* 1: wait, stdout is the cookie.  5: wait with a delay, stdout is
		 * the delay in seconds on its own line, then the cookie.  The
		 * delay is not ours to keep: the next run is the timer's. */
		size_t from = 0;
		*poll_after = 0;
		if (status == 5) {
			const uint8_t *nl = out.len ? memchr(out.data, '\n', out.len) : NULL;
			long delay = 0;
			from = nl ? (size_t)(nl - out.data) + 1 : out.len;
			/* the delay: digits only, at most a week */
			for (size_t k = 0; k < from && k < out.len && out.data[k] >= '0' &&
					   out.data[k] <= '9' && delay < 7 * 86400;
			     k++)
				delay = delay * 10 + (out.data[k] - '0');
			if (delay > 7 * 86400)
				delay = 7 * 86400;
			*poll_after = env->now + delay;
		}
		one_line(&out, from, line, sizeof(line));
		if (line[0] == '\0' && poll_op)
			snprintf(line, sizeof(line), "%s", cookie); /* poll again with the old one */
		if (line[0] == '\0') {
			rc = mtk_err_set(err, MTK_E_MALFORMED,
					 "the helper said wait (%d) but printed no cookie", status);
			goto out;
		}
		snprintf(cookie, cookie_cap, "%s", line);
		*ans = TRK_WAIT;
		break;
	}
	case 2:
		one_line(&out, 0, line, sizeof(line));
		rc = mtk_err_set(err, MTK_E_REJECTED, "the helper rejected the request%s%s",
				 line[0] ? ": " : "", line);
		break;
	case 3:
		one_line(&out, 0, line, sizeof(line));
		rc = mtk_err_set(err, MTK_E_UNREACHABLE, "the helper could not reach the CA%s%s",
				 line[0] ? ": " : "", line);
		break;
	case 127:
		rc = mtk_err_set(err, MTK_E_CONFIG, "helper: cannot run '%s'", c->helper);
		break;
	default:
		one_line(&out, 0, line, sizeof(line));
		rc = mtk_err_set(err, MTK_E_CONFIG, "the helper is misconfigured (exit %d)%s%s",
				 status, line[0] ? ": " : "", line);
		break;
	}
out:
	mtk_set_free(&set);
	mtk_buf_free(&pem);
	mtk_buf_free(&out);
	mtk_buf_free(&v_csr);
	mtk_buf_free(&v_ck);
	return rc;
}

mtk_rc trk_issue(const mtk_track_conf *c, const mtk_track_env *env, X509_REQ *csr, X509 *old,
		 char *cookie, size_t cookie_cap, trk_answer *ans, time_t *poll_after, X509 **leaf,
		 STACK_OF(X509) **cas, mtk_err *err)
{
	*poll_after = 0;
	switch (c->issuer) {
	case MTK_TRK_CA_DIR:
		*ans = TRK_ISSUED;
		return issue_ca_dir(c, env, csr, old, leaf, cas, err);
	case MTK_TRK_HELPER:
		return issue_helper(c, env, csr, cookie, cookie_cap, ans, poll_after, leaf, cas, err);
	case MTK_TRK_ACME:
		*ans = TRK_ISSUED;
		cookie[0] = '\0';
		return trk_acme_issue(c, env, csr, old, leaf, cas, err);
	}
	return mtk_err_set(err, MTK_E_CONFIG, "no issuer");
}
