# bash completion for mtlskit                                -*- shell-script -*-
# Installed as share/bash-completion/completions/mtlskit (bash-completion
# loads it the first time `mtlskit` is completed).  The option lists follow
# each command's --help; tests/cli/completions.sh checks them against it.

_mtlskit_keytypes='rsa:2048 rsa:3072 rsa:4096 ec:P-256 ec:P-384 ed25519'
_mtlskit_common='--json --pass --key-pass --out-pass --force -o --help'

# Options per command ("verb" or "verb sub"), as --help prints them.
declare -gA _mtlskit_opts=(
	[inspect]='--no-color'
	[key generate]='--key-type --type --out --pub-out'
	[csr create]='--cn --org --ou --locality --state --country --email --subject --usage --san --key --new-key --key-out --certreq-inf'
	[ca init]='--name --intermediate --key-type --days --crl-url'
	[ca sign]='--profile --days --not-before --not-after --chain-out'
	[ca revoke]='--reason'
	[ca crl]='--scope --days'
	[ca list]=''
	[renew]='--key --new-key --key-out --usage'
	[convert]='--to --out --split-out --compat --alias --trusted'
	[bundle]='--out --order --split --leaf-only --ca-only --ca --ca-dir --alias'
	[check]='--profile --ca --within --alias --each'
	[keystore list]='-v --verbose'
	[keystore add-key]='--alias --key --cert --chain --from --from-alias --src-pass --store-type --type'
	[keystore add-trusted]='--alias --store-type --type'
	[keystore install-reply]='--alias'
	[keystore export]='--alias --der --full-chain --with-key'
	[keystore remove]='--alias'
	[keystore passwd]='--alias'
	[keystore genkey]='--alias --subject --key-type --days --store-type --dname --keyalg --keysize --validity --type'
	[keystore csr]='--alias --usage --san'
	[mid install]='--agent --src-pass'
	[mid show]='--agent --within'
	[probe]='--sni --proxy --connect-timeout --timeout --ca --cert --key --pfx --keystore --alias --http --method --http-timeout --expect-issuer --servicenow --save-chain --save-dir'
	[track]='--target --issuer --dir --now --prometheus --force-renew --dry-run --cert --key --chain --bundle --agent --keystore --alias --store-pass --usage --profile --ca-dir --ca-pass --days --helper --acme-directory --acme-account-key --acme-http-listen --acme-webroot --acme-ca --acme-eab-kid --acme-eab-hmac --chain-ca --renew-at --within --jitter --key-policy --key-type --verify --verify-ca --verify-path --hook --hook-shell --post-check'
	[expiry]='--within --by-issuer --prometheus --follow-symlinks --threads --workers --mem-budget --unique --jsonl --timeout'
)
declare -gA _mtlskit_subs=(
	[key]='generate'
	[csr]='create'
	[ca]='init sign revoke crl list'
	[keystore]='list add-key add-trusted install-reply export remove passwd genkey csr'
	[mid]='install show'
	[track]='add list status run remove'
)
# Options that take no value (everything else does).
_mtlskit_flags=' --json --force --help --no-color -q --quiet -v --verbose --split --leaf-only --ca-only --each --der --full-chain --with-key --servicenow --by-issuer --prometheus --follow-symlinks --unique --jsonl --force-renew --dry-run '

_mtlskit_values() { # cmd option -> sets COMPREPLY; returns 1 for "complete a file"
	local cmd=$1 opt=$2 cur=$3 words=''
	case $opt in
	--profile) [ "$cmd" = 'ca sign' ] && words='client server' ||
		words='mid outbound upload-user upload-ca trust-store server' ;;
	--type) [ "$cmd" = 'key generate' ] && words=$_mtlskit_keytypes || words='jks jceks pkcs12' ;;
	--store-type) words='jks jceks pkcs12' ;;
	--key-type | --new-key) words=$_mtlskit_keytypes ;;
	--to) words='pem der pkcs8 pkcs12 jks jceks' ;;
	--compat) words='modern legacy java' ;;
	--usage) words='client server both' ;;
	--order) words='chain-then-key key-after-leaf' ;;
	--scope) words='chain leaf' ;;
	--reason) words='unspecified keyCompromise CACompromise affiliationChanged superseded cessationOfOperation certificateHold privilegeWithdrawn' ;;
	--keyalg) words='RSA EC' ;;
	--method) words='HEAD GET' ;;
	--target) words='pem bundle mid keystore gateway' ;;
	--issuer) words='ca-dir helper acme' ;;
	--key-policy) words='new keep' ;;
	--hook-shell) words='yes no' ;;
	--dir) _filedir -d; return 0 ;;
	--pass | --key-pass | --out-pass | --src-pass | --store-pass | --ca-pass | --acme-eab-hmac)
		case $cur in
		file:*) compopt -o nospace 2>/dev/null
			COMPREPLY=($(compgen -f -P file: -- "${cur#file:}")); return 0 ;;
		esac
		compopt -o nospace 2>/dev/null; words='env: file: fd: pass:' ;;
	--agent | --ca-dir | --save-dir | --split-out) _filedir -d; return 0 ;;
	--cn | --org | --ou | --locality | --state | --country | --email | --subject | --san | \
		--name | --intermediate | --days | --crl-url | --not-before | --not-after | --alias | \
		--from-alias | --dname | --keysize | --validity | --within | --threads | --workers | --mem-budget | --timeout | \
		--connect-timeout | --http-timeout | --sni | --proxy | --http | --expect-issuer)
		return 0 ;; # free text: nothing to offer
	*) return 1 ;;
	esac
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	return 0
}

_mtlskit() {
	local cur prev words cword
	_init_completion -n := || return
	local verb='' sub='' i w
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		[[ $w == -* ]] && continue
		# the value of the option before it is not a verb
		[[ $i -gt 1 && ${words[i - 1]} == -* && $_mtlskit_flags != *" ${words[i - 1]} "* ]] && continue
		if [ -z "$verb" ]; then verb=$w
		elif [ -z "$sub" ] && [ -n "${_mtlskit_subs[$verb]+x}" ]; then sub=$w; break
		else break; fi
	done
	if [ -z "$verb" ]; then
		if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '--json --help' -- "$cur"))
		else COMPREPLY=($(compgen -W 'inspect key csr ca renew convert bundle check keystore mid probe expiry track' -- "$cur")); fi
		return
	fi
	if [ -n "${_mtlskit_subs[$verb]+x}" ] && [ -z "$sub" ]; then
		if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${_mtlskit_opts[$verb]:+${_mtlskit_opts[$verb]} $_mtlskit_common} --help" -- "$cur"))
		else COMPREPLY=($(compgen -W "${_mtlskit_subs[$verb]}" -- "$cur")); fi
		return
	fi
	local cmd=$verb${sub:+ $sub}
	# track: one option list for all its sub-commands
	[ -n "${_mtlskit_opts[$cmd]+x}" ] || cmd=$verb
	[ -n "${_mtlskit_opts[$cmd]+x}" ] || return
	if [[ $prev == -* && $_mtlskit_flags != *" $prev "* ]]; then
		_mtlskit_values "$cmd" "$prev" "$cur" && return
		_filedir
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${_mtlskit_opts[$cmd]} $_mtlskit_common" -- "$cur"))
		return
	fi
	_filedir
}
complete -F _mtlskit mtlskit
