# cli-options.sh - what `--help` says, as lists: sourced by tests that keep
# other files (man pages, shell completions) in step with the CLI.
#   cli_verbs                 the commands `mtlskit --help` lists
#   cli_subverbs VERB         the sub-commands `mtlskit VERB --help` lists (may be none)
#   cli_help_opts VERB [SUB]  long options in that --help, one per line, sorted
#   cli_verb_opts VERB        long options of VERB's --help and of all its sub-commands'
#   cli_common_opts           the common options `mtlskit --help` names
# Long options are words starting with two dashes and a lower-case letter;
# those of another command quoted in the text (`mtlskit check --profile mid`)
# are not the command's own.
: "${MTLSKIT:?}"
_cli_longopts() {
	sed -E 's/mtlskit [a-z]+ --[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)?//g' |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}
# help and version are the CLI's own commands (mtlskit(1) describes them),
# not verbs with a page of their own.
cli_verbs() { "$MTLSKIT" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -vxE 'help|version'; }
cli_subverbs() { "$MTLSKIT" "$1" --help | sed -n '/sub-command/,$s/^  \([a-z][a-z-]*\)  .*/\1/p'; }
# The footer every --help ends with ("Every command: --json, -q/--quiet, ...")
# names the common options, which cli_common_opts covers.
cli_help_opts() { "$MTLSKIT" "$@" --help 2>&1 | sed '/^Every command:/,$d' | _cli_longopts; }
cli_verb_opts() {
	local s
	{
		cli_help_opts "$1"
		for s in $(cli_subverbs "$1"); do cli_help_opts "$1" "$s"; done
	} | sort -u
}
cli_common_opts() { { "$MTLSKIT" --help | sed -n '/^Common options:/,/^Exit/p'; "$MTLSKIT" inspect --help | sed -n '/^Every command:/,$p'; } | _cli_longopts | sort -u; }
