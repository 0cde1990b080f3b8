# SPDX-License-Identifier: MIT
# bash completion for logq (make install puts it in
# share/bash-completion/completions/logq). It holds no list of its own:
# commands and flags come from `logq __complete commands|flags CMD` (the
# flag table, query/flags.c), and host, container and image names from
# `logq __complete hosts|containers|images|labels` (the collector named by the
# --server, --token-file and --tls-ca already typed, else $LOGQ_SERVER).

# _logq_arg FLAG: the value name of FLAG in the list on stdin ("" for a
# flag without a value); status 1 if FLAG is not in the list.
_logq_arg() {
    awk -F '\t' -v f="$1" '$1 == f { print $2; n = 1 } END { exit !n }'
}

# _logq_conn: the connection flags already on the line, into _logq_cargs.
_logq_conn() {
    local i w
    _logq_cargs=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            --server | --token-file | --tls-ca)
                _logq_cargs+=("$w" "${COMP_WORDS[i + 1]}") ;;
            --server=* | --token-file=* | --tls-ca=*)
                _logq_cargs+=("$w") ;;
        esac
    done
}

_logq() {
    local logq=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]} cmd="" i w v flags cmds
    cmds=$("$logq" __complete commands 2>/dev/null | cut -f1)
    flags=$("$logq" __complete flags 2>/dev/null)
    # the command: the first word that is neither a flag nor its value
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == -* ]]; then
            [[ $w != *=* && -n $(_logq_arg "$w" <<<"$flags") ]] && ((i++))
            continue
        fi
        grep -qx -- "$w" <<<"$cmds" && cmd=$w
        break
    done
    [[ -n $cmd ]] && flags=$("$logq" __complete flags "$cmd" 2>/dev/null)
    # the value of the flag before
    v=$(_logq_arg "$prev" <<<"$flags")
    if [[ $prev == -* && -n $v ]]; then
        _logq_conn
        case $prev:$v in
            --host:* | --container:* | --image:* | --label:*)
                [[ $cmd == metrics ]] && return 0
                mapfile -t COMPREPLY < <(compgen -W "$("$logq" __complete \
                    "${prev#--}s" "${_logq_cargs[@]}" 2>/dev/null)" -- "$cur") ;;
            --service:* | --project:*)  # Compose's labels
                mapfile -t COMPREPLY < <(compgen -W "$("$logq" __complete \
                    labels "${_logq_cargs[@]}" 2>/dev/null | sed -n \
                    "s/^com\.docker\.compose\.${prev#--}=//p")" -- "$cur") ;;
            *:FILE) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            *'|'*)  # the literal words: not placeholders like field:NAME
                mapfile -t COMPREPLY < <(compgen -W "$(tr '|' '\n' <<<"$v" |
                    grep -v '[A-Z]')" -- "$cur") ;;
        esac
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(cut -f1 <<<"$flags")" -- "$cur")
    elif [[ -z $cmd && $i -ge $COMP_CWORD ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$cmds" -- "$cur")
    fi
    return 0
}
complete -F _logq logq
