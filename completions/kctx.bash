# kctx completion for bash: clap_complete's dynamic completer, with the words bash split at
# COMP_WORDBREAKS characters (':' '@' '=') joined again, so ARN-shaped names complete whole.
_kctx_complete() {
    local IFS=$'\013'
    local line=${COMP_LINE:0:COMP_POINT} ws piece i n=-1
    local -a words=()
    # A piece not preceded by whitespace in COMP_LINE belongs to the previous shell word.
    for ((i = 0; i <= COMP_CWORD; i++)); do
        ws=${line%%[![:space:]]*}
        line=${line#"$ws"}
        if ((i == COMP_CWORD)); then
            piece=$line
        else
            piece=${COMP_WORDS[i]}
            line=${line#"$piece"}
        fi
        if ((n < 0)) || [[ -n $ws ]]; then
            words[++n]=$piece
        else
            words[n]+=$piece
        fi
    done
    local cur=${words[n]}
    if compopt +o nospace 2> /dev/null; then
        local space=false
    else
        local space=true
    fi
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$n" \
        _CLAP_COMPLETE_COMP_TYPE="${COMP_TYPE}" \
        _CLAP_COMPLETE_SPACE="$space" \
        KCTX_COMPLETE="bash" \
        "kctx" -- "${words[@]}" \
    ) ) || { unset COMPREPLY; return; }
    if [[ $space == false && "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
    # Readline replaces only the text after the last COMP_WORDBREAKS character ($2): drop
    # what comes before it from each candidate.
    local prefix=${cur%"$2"}
    if [[ -n $prefix && $cur == *"$2" ]]; then
        local -a kept=()
        for i in "${!COMPREPLY[@]}"; do
            [[ ${COMPREPLY[i]} == "$prefix"* ]] && kept+=("${COMPREPLY[i]#"$prefix"}")
        done
        COMPREPLY=("${kept[@]}")
    fi
    # A name with a space or a shell character is inserted escaped, as bash does file names
    # (unless the word being completed already opened a quote).
    if [[ $cur != [\"\']* ]]; then
        for i in "${!COMPREPLY[@]}"; do
            [[ ${COMPREPLY[i]} == *[[:space:]\"\'\$\`\\\;\&\|\<\>\(\)\*\?\[]* ]] \
                && printf -v "COMPREPLY[i]" '%q' "${COMPREPLY[i]}"
        done
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _kctx_complete kctx
else
    complete -o nospace -o bashdefault -F _kctx_complete kctx
fi
