# bash completion for mtlskit                                -*- shell-script -*-
# Installed as share/bash-completion/completions/mtlskit (bash-completion
# loads it the first time `mtlskit` is completed).  Built from
# packaging/completions/complete.bash and mtlskit.table (gen.py), the table
# the zsh completion is built from too; tests/cli/completions.sh checks
# what it offers against every command's --help.

# @TABLES@

_mtlskit_values() { # cmd option cur -> sets COMPREPLY; returns 1 for "complete a file"
	local cmd=$1 opt=$2 cur=$3 words=''
	case ${_mtlskit_kind[$opt]-} in
	dir) _filedir -d; return 0 ;;
	text) return 0 ;; # free text: nothing to offer
	pass)
		case $cur in
		file:*) compopt -o nospace 2>/dev/null
			COMPREPLY=($(compgen -f -P file: -- "${cur#file:}")); return 0 ;;
		esac
		compopt -o nospace 2>/dev/null; words='env: file: fd: pass:' ;;
	*)
		if [ -n "${_mtlskit_values[$cmd $opt]+x}" ]; then words=${_mtlskit_values[$cmd $opt]}
		elif [ -n "${_mtlskit_values[$opt]+x}" ]; then words=${_mtlskit_values[$opt]}
		else return 1; fi ;;
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
		else COMPREPLY=($(compgen -W "$_mtlskit_verbs" -- "$cur")); fi
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
