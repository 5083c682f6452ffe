# bash completion for samlog: commands, flags, enumerated values and
# record ids.  The candidates come from samlog itself (samlog __complete),
# so they always match the installed version; ids are asked from the
# running daemon.
_samlog()
{
	local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
	local prev=${COMP_WORDS[COMP_CWORD-1]}

	local words
	words=$(samlog __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
	if [[ $words == __files__ ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	if [[ ${#COMPREPLY[@]} -eq 0 && ( $prev == -d || $prev == --dir ) ]]
	then
		COMPREPLY=($(compgen -d -- "$cur"))
	fi
}
complete -F _samlog samlog
