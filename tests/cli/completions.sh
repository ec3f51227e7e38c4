#!/usr/bin/env bash
# completions.sh - the shell completions as built (gen.py over
# packaging/completions/mtlskit.table, into the build directory):
# bash: the completion function, loaded with bash-completion, is called as
# bash calls it (COMP_WORDS/COMP_CWORD) on partial command lines and its
# COMPREPLY checked: verbs, sub-commands, enumerated values, files; for
# every command the options it offers after `--` are checked against that
# command's --help both ways (a failure names the option and the command).
# zsh: `zsh -n`, compinit binds it, an interactive zsh under zsh/zpty
# completes partial lines with it, and its option tables match --help.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/cli-options.sh"
BC=/usr/share/bash-completion/bash_completion
COMPDIR=$MTLSKIT_BUILD/packaging/completions # mtlskit (bash), _mtlskit (zsh)

# comp 'mtlskit ca s' -> the sorted candidates, one line, space separated.
comp() {
	bash --norc --noprofile -c '
		source "$1" >/dev/null 2>&1; source "$2"
		cd "$3"
		COMP_LINE=$4; COMP_POINT=${#COMP_LINE}
		read -ra COMP_WORDS <<<"$COMP_LINE"
		[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_mtlskit mtlskit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ \$//"' \
		comp "$BC" "$COMPDIR/mtlskit" "$T/cwd" "$1"
}
mkdir -p "$T/cwd/agentdir" && touch "$T/cwd/bundle.pem" "$T/cwd/bundle.key"

expect_eq "bash: the verbs" "$(comp 'mtlskit ')" \
	"bundle ca check convert csr expiry inspect key keystore mid probe renew track"
expect_eq "bash: the verbs are those of mtlskit --help" "$(comp 'mtlskit ')" "$(cli_verbs | sort | paste -sd' ' -)"
for v in $(cli_verbs); do
	subs=$(cli_subverbs "$v" | sort | paste -sd' ' -)
	[ -n "$subs" ] && expect_eq "bash: the sub-commands of $v are those of its --help" "$(comp "mtlskit $v ")" "$subs"
done
expect_eq "bash: verbs starting with c" "$(comp 'mtlskit c')" "ca check convert csr"
expect_eq "bash: --json before the verb, then the verbs" "$(comp 'mtlskit --json ke')" "key keystore"
expect_eq "bash: ca sub-commands" "$(comp 'mtlskit ca ')" "crl init list revoke sign"
expect_eq "bash: keystore sub-commands starting with a" "$(comp 'mtlskit keystore a')" "add-key add-trusted"
expect_eq "bash: check --profile values" "$(comp 'mtlskit check --profile ')" \
	"mid outbound server trust-store upload-ca upload-user"
expect_eq "bash: check --profile up" "$(comp 'mtlskit check --profile up')" "upload-ca upload-user"
expect_eq "bash: ca sign --profile values" "$(comp 'mtlskit ca sign lab --profile ')" "client server"
expect_eq "bash: key generate --type: key types" "$(comp 'mtlskit key generate --type ')" \
	"ec:P-256 ec:P-384 ed25519 rsa:2048 rsa:3072 rsa:4096"
expect_eq "bash: csr create --new-key ec" "$(comp 'mtlskit csr create --new-key ec')" "ec:P-256 ec:P-384"
expect_eq "bash: keystore add-key --type: store types" "$(comp 'mtlskit keystore add-key ks.jks --type ')" "jceks jks pkcs12"
expect_eq "bash: convert --to" "$(comp 'mtlskit convert bundle.pem --to ')" "der jceks jks pem pkcs12 pkcs8"
expect_eq "bash: convert --compat" "$(comp 'mtlskit convert x --to pkcs12 --compat ')" "java legacy modern"
expect_eq "bash: ca revoke --reason key" "$(comp 'mtlskit ca revoke lab x --reason key')" "keyCompromise"
expect_eq "bash: --pass sources" "$(comp 'mtlskit inspect --pass ')" "env: fd: file: pass:"
expect_eq "bash: a file operand" "$(comp 'mtlskit check --profile mid bun')" "bundle.key bundle.pem"
expect_eq "bash: mid install --agent: directories only" "$(comp 'mtlskit mid install --agent ')" "agentdir"
expect_eq "bash: nothing for a free-text value (--cn)" "$(comp 'mtlskit csr create --cn ')" ""
expect_eq "bash: track sub-commands" "$(comp 'mtlskit track ')" "add list remove run status"
expect_eq "bash: track add --target" "$(comp 'mtlskit track add x --target ')" "bundle gateway keystore mid pem"
expect_eq "bash: track add --issuer" "$(comp 'mtlskit track add x --issuer ')" "acme ca-dir helper"
expect_match "bash: track add --acme- settings" '--acme-directory .*--acme-webroot' "$(comp 'mtlskit track add x --acme-')"
expect_eq "bash: a verb after an option value is not taken as the verb" \
	"$(comp 'mtlskit check --profile mid --ca bundle.pem --wi')" "--within"

# Every command's options, both ways, against --help.  track add takes
# every setting of lib/renew/conf.c as --setting (its --help names a few).
track_settings=$( { sed -n '/^static mtk_rc conf_set/,/^}/p' "$MTLSKIT_SRC/lib/renew/conf.c" | grep -oE '\{"[a-z_]+", &c->' | sed 's/{"//; s/",.*//'
	sed -n '/^static mtk_rc conf_set/,/^}/p' "$MTLSKIT_SRC/lib/renew/conf.c" | grep -oE 'strcmp\(key, "[a-z_]+"\)' | sed 's/.*"\(.*\)".*/\1/'; } |
	tr _ - | sed 's/^/--/' | sort -u)
common=$( { cli_common_opts; echo --help; } | sort -u)
for v in $(cli_verbs); do
	subs=$(cli_subverbs "$v")
	for s in ${subs:-""}; do
		cmd="$v${s:+ $s}"
		offered=$(comp "mtlskit $cmd --" | tr ' ' '\n' | sort -u)
		help=$(cli_help_opts $cmd)
		missing=$(comm -23 <(echo "$help") <(echo "$offered") | grep . | tr '\n' ' ')
		extra=$(comm -13 <( { echo "$help"; echo "$common"; [ "$v" = inspect ] && echo --no-color; [ "$v" = track ] && echo "$track_settings"; } | sort -u) \
			<(echo "$offered") | grep . | tr '\n' ' ')
		expect_eq "bash: 'mtlskit $cmd --' offers every option of 'mtlskit $cmd --help'" "$missing" ""
		expect_eq "bash: 'mtlskit $cmd --' offers only options --help prints (or common ones)" "$extra" ""
	done
done

# --- zsh
ZF=$COMPDIR/_mtlskit
run zsh -n "$ZF"
expect_eq "zsh -n _mtlskit" "$RC" 0
run zsh -f -c "fpath=('$COMPDIR' \$fpath); autoload -Uz compinit; compinit -u -d '$T/zcd'; print -r -- \${_comps[mtlskit]}"
expect_eq "zsh compinit binds mtlskit to _mtlskit (#compdef)" "$OUT" "_mtlskit"
# compsys for real: an interactive zsh in a pseudo-terminal (zsh/zpty), a
# partial line and a TAB; the line zsh redraws must hold the completion.
cat >"$T/zcomp.zsh" <<'ZEOF'
# Waits on zsh's own output, not on the clock: after the set-up it prints
# READY-2 (its echo shows READY-$((1+1))); each partial line is followed by
# TAB and ^Xe, a widget that prints the edit buffer as BUF<...> and empties
# it: zle runs it only after the completion, so the buffer printed is the
# completed line.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "unset zle_bracketed_paste; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -d $2/zcd2; PS1='P> '; bindkey -e; cd $2/cwd; endmark() { zle -I; print -r -- \"BUF<\$BUFFER>\"; BUFFER=; }; zle -N endmark; bindkey '^Xe' endmark; print READY-\$((1+1))"
zpty -r z chunk '*READY-2*'
shift 2
for line in "$@"; do
	zpty -n -w z "$line"$'\t\030e'
	zpty -r z out '*BUF<mtlskit*>*'
	print -r -- "CASE $line => ${${${out##*BUF<}%%>*}//$'\r'/}"
done
zpty -d z
ZEOF
run timeout 60 zsh -f "$T/zcomp.zsh" "$COMPDIR" "$T" \
	'mtlskit keys' 'mtlskit convert x --compat le' 'mtlskit ca sign lab --profile se' \
	'mtlskit check --each --wi' 'mtlskit mid install --agent agentd' 'mtlskit key generate --type ed' \
	'mtlskit keystore add-key ks --type jc' 'mtlskit inspect --pass fi'
zcase() { printf '%s\n' "$OUT" | grep -a -F "CASE $1 =>" | sed -e 's/^[^>]*=> //'; }
expect_match "zsh compsys: 'mtlskit keys<TAB>' -> keystore" 'mtlskit keystore' "$(zcase 'mtlskit keys')"
expect_match "zsh compsys: --compat le<TAB> -> legacy" '--compat legacy' "$(zcase 'mtlskit convert x --compat le')"
expect_match "zsh compsys: ca sign --profile se<TAB> -> server" '--profile server' "$(zcase 'mtlskit ca sign lab --profile se')"
expect_match "zsh compsys: check --wi<TAB> -> --within" 'check --each --within' "$(zcase 'mtlskit check --each --wi')"
expect_match "zsh compsys: --agent agentd<TAB> -> the directory" '--agent agentdir/' "$(zcase 'mtlskit mid install --agent agentd')"
expect_match "zsh compsys: key generate --type ed<TAB> -> ed25519" '--type ed25519' "$(zcase 'mtlskit key generate --type ed')"
expect_match "zsh compsys: keystore add-key --type jc<TAB> -> jceks (not key types)" '--type jceks' \
	"$(zcase 'mtlskit keystore add-key ks --type jc')"
expect_match "zsh compsys: --pass fi<TAB> -> file: (a password source)" '--pass file:' "$(zcase 'mtlskit inspect --pass fi')"

# The zsh function keeps its option lists as data; they must match --help too.
for v in $(cli_verbs); do
	subs=$(cli_subverbs "$v")
	for s in ${subs:-""}; do
		cmd="$v${s:+ $s}"
		run zsh -f -c "source '$ZF' --data-only; print -l -- \${=_mtlskit_opts[$cmd]}"
		offered=$(echo "$OUT" | grep -oE -- '^--[a-z][a-z0-9-]*' | sort -u)
		help=$(cli_help_opts $cmd)
		missing=$(comm -23 <(echo "$help") <( { echo "$offered"; echo "$common"; } | sort -u) | grep . | tr '\n' ' ')
		extra=$(comm -13 <( { echo "$help"; echo "$common"; [ "$v" = inspect ] && echo --no-color; [ "$v" = track ] && echo "$track_settings"; } | sort -u) \
			<(echo "$offered") | grep . | tr '\n' ' ')
		expect_eq "zsh: '$cmd' lists every option of its --help" "$missing" ""
		expect_eq "zsh: '$cmd' lists only options of its --help" "$extra" ""
	done
done
done_testing
