# bash completion for stemx(1)                                  -*- shell-script -*-
# Installed as share/bash-completion/completions/stemx. Commands and options
# follow the command table of cli/stemx.c (`stemx COMMAND --help`).

_stemx_kinds="organisation initiative infrastructure moment"
_stemx_filters="--od --helix --org --municipality --theme --status --from --to"

_stemx_options ()
{
    case $1 in
        list)     echo "$_stemx_filters --json --csv" ;;
        show)     echo "--verify --keys --json --csv" ;;
        search)   echo "--kind $_stemx_filters --limit --json --csv" ;;
        history)  echo "--json --csv" ;;
        tail)     echo "--kind $_stemx_filters --from-seq --json --csv" ;;
        export)   echo "$_stemx_filters --format --out --json --csv" ;;
        publish)  echo "--timeout --json" ;;
        import)   echo "--format --dry-run --timeout --json" ;;
        withdraw) echo "--expect-version --timeout --json" ;;
        status)   echo "--json --csv" ;;
        report)   echo "--from --to --format --out --taxonomy" ;;
        keygen)   echo "--pillar --roles --out --broker --json" ;;
    esac
}

#   Entry keys of the node's catalogue, from `stemx list KIND --csv`
_stemx_keys ()
{
    local data=$1 kind
    local -a args=()
    [[ -n $data ]] && args=(--data "$data")
    for kind in $_stemx_kinds; do
        stemx "${args[@]}" list "$kind" --csv 2>/dev/null | tail -n +2 | cut -d, -f1
    done
}

_stemx ()
{
    local cur prev words cword
    _init_completion || return
    local commands="list show search history tail export publish import withdraw status report keygen help"

    #   The command is the first word that is not a global option or its value
    local i command="" data="${STEMX_DATA:-}"
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -d | --data) data=${words[i + 1]}; ((i++)) ;;
            --data=*) data=${words[i]#--data=} ;;
            -*) ;;
            *) command=${words[i]}; break ;;
        esac
    done

    case $prev in
        -d | --data | --keys | --out)
            if [[ $command == export && $prev == --out ]]; then
                _filedir
            else
                _filedir -d
            fi
            return ;;
        --format)
            if [[ $command == report ]]; then
                COMPREPLY=($(compgen -W "text markdown csv html json" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "json ndjson csv" -- "$cur"))
            fi
            return ;;
        --kind)
            COMPREPLY=($(compgen -W "$_stemx_kinds" -- "$cur")); return ;;
        --helix | --pillar)
            COMPREPLY=($(compgen -W "government knowledge industry civil_society" -- "$cur"))
            return ;;
        --status)
            COMPREPLY=($(compgen -W "under_study planned running completed" -- "$cur"))
            return ;;
        --roles)
            COMPREPLY=($(compgen -W "publisher reader admin" -- "$cur")); return ;;
        --taxonomy)
            _filedir -d; return ;;
        --od | --org | --municipality | --theme | --from | --to | --timeout | --limit | \
        --from-seq | --expect-version)
            return ;;
    esac

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--data --help" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_stemx_options "$command") --data --help" -- "$cur"))
        return
    fi
    #   Positional arguments
    local positional=0
    for ((i = i + 1; i < cword; i++)); do
        case ${words[i]} in
            --verify | --json | --csv | --broker | --dry-run | --help | -h | -j) ;;
            -*) [[ ${words[i]} == *=* ]] || ((i++)) ;;
            *) ((positional++)) ;;
        esac
    done
    case $command in
        list | export)
            ((positional == 0)) && COMPREPLY=($(compgen -W "$_stemx_kinds" -- "$cur")) ;;
        show | history | withdraw)
            ((positional == 0)) && COMPREPLY=($(compgen -W "$(_stemx_keys "$data")" -- "$cur"))
            ;;
        publish | import)
            ((positional == 0)) && _filedir '@(json|ndjson|jsonl|csv)' ;;
        report)
            ((positional == 0)) && COMPREPLY=($(compgen -W "operational strategic" -- "$cur")) ;;
        help)
            ((positional == 0)) && COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
    esac
} &&
    complete -F _stemx stemx

# ex: filetype=sh
