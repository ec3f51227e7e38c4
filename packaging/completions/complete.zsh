#compdef mtlskit
# zsh completion for mtlskit.  Installed as share/zsh/site-functions/_mtlskit
# (Debian's zsh has that directory in $fpath).  Built from
# packaging/completions/complete.zsh and mtlskit.table (gen.py), the table
# the bash completion is built from too; tests/cli/completions.sh checks
# what it offers against every command's --help (`source _mtlskit
# --data-only` defines the tables and stops).

# @TABLES@
[[ $1 == --data-only ]] && return 0

local verb sub w cur=$words[CURRENT] prev=$words[CURRENT-1] i
for (( i = 2; i < CURRENT; i++ )); do
	w=$words[i]
	[[ $w == -* ]] && continue
	[[ $i -gt 2 && $words[i-1] == -* && $_mtlskit_flags != *" $words[i-1] "* ]] && continue
	if [[ -z $verb ]]; then verb=$w
	elif [[ -z $sub && -n ${_mtlskit_subs[$verb]} ]]; then sub=$w; break
	else break; fi
done

if [[ -z $verb ]]; then
	if [[ $cur == -* ]]; then compadd -- --json --help; return; fi
	_describe -t commands 'mtlskit command' _mtlskit_verbs
	return
fi
if [[ -n ${_mtlskit_subs[$verb]} && -z $sub ]]; then
	if [[ $cur == -* ]]; then compadd -- ${=_mtlskit_opts[$verb]} ${_mtlskit_opts[$verb]:+${=_mtlskit_common}} --help
	else compadd -- ${=_mtlskit_subs[$verb]}; fi
	return
fi
local cmd=$verb${sub:+ $sub}
# track: one option list for all its sub-commands
(( ${+_mtlskit_opts[$cmd]} )) || cmd=$verb
(( ${+_mtlskit_opts[$cmd]} )) || return 1

if [[ $prev == -* && $_mtlskit_flags != *" $prev "* ]]; then
	local key="$cmd $prev"
	case $_mtlskit_kind[$prev] in
	dir) _files -/; return ;;
	pass)
		if [[ $cur == file:* ]]; then compset -P 'file:'; _files; else compadd -S '' -- env: file: fd: pass:; fi
		return ;;
	text) _message -e values "${prev#--}"; return ;;
	esac
	if (( ${+_mtlskit_values[$key]} )); then compadd -- ${=_mtlskit_values[$key]}
	elif (( ${+_mtlskit_values[$prev]} )); then compadd -- ${=_mtlskit_values[$prev]}
	else _files; fi
	return
fi
if [[ $cur == -* ]]; then
	compadd -- ${=_mtlskit_opts[$cmd]} ${=_mtlskit_common}
	return
fi
_files
