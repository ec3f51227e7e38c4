#!/usr/bin/env bash
# convert-prompt.sh - passwords asked on a terminal (a pseudo-terminal driven
# by python's pty module, answering each prompt when it appears): the PFX
# password for reading, and the new PFX password typed twice for writing.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/convert.fixtures"
mkfix
cd "$T" || exit 1

# ptyrun ANSWER... -- CMD...: runs CMD on a new terminal, answers the Nth
# prompt (text ending in ": ") with the Nth ANSWER, prints the exit status.
ptyrun() {
	python3 - "$@" <<'PY'
import os, pty, select, sys, termios, time
args = sys.argv[1:]
sep = args.index("--")
answers, cmd = args[:sep], args[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
buf = b""
while True:
    r, _, _ = select.select([fd], [], [], 60)
    if not r:
        os.kill(pid, 9)  # stuck waiting for input: fail, do not hang
        break
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    buf += data
    last = buf.split(b"\n")[-1]
    if answers and last.rstrip().endswith(b":"):
        # Answer once echo is off: the prompt flushes earlier input.
        for _ in range(1000):
            if not termios.tcgetattr(fd)[3] & termios.ECHO:
                break
            time.sleep(0.01)
        os.write(fd, answers.pop(0).encode() + b"\n")
        buf = b""
_, status = os.waitpid(pid, 0)
sys.stderr.write(buf.decode(errors="replace"))
print(os.waitstatus_to_exitcode(status))
PY
}

run ptyrun "$PW" -- "$MTLSKIT" convert "$FX/modern.p12" --to pkcs8 -o prompted.key
expect_eq "input password asked on the terminal: exit 0" "$OUT" 0
expect_eq "the key came out" "$(pub_of prompted.key)" "$(pub_of "$FX/leaf.key")"
run ptyrun newpw newpw -- "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" --to pkcs12 -o prompted.p12
expect_eq "new PFX password typed twice: exit 0" "$OUT" 0
expect_rc 0 "openssl opens it with the typed password" openssl pkcs12 -info -noout -in prompted.p12 -passin pass:newpw
run ptyrun newpw other -- "$MTLSKIT" convert "$FX/leaf.key" "$FX/leaf.pem" --to pkcs12 -o differ.p12
expect_eq "two different passwords: exit 2" "$OUT" 2
expect_no_file "nothing written" differ.p12
done_testing
