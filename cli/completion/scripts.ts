/**
 * The scripts `vireo completion bash|zsh|fish` prints. Each asks `<the program> __complete <words...>` (see
 * complete.ts) and hands the candidates to the shell, so every shell completes the same way.
 */

/** Shells with a completion script. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** One of {@link SHELLS}. */
export type Shell = (typeof SHELLS)[number];

const bash = `# bash completion for vireo (and kubectl-vireo). Load it with:
#   source <(vireo completion bash)        # this shell
#   vireo completion bash > /etc/bash_completion.d/vireo
_vireo_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} out directive line
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  directive=\${out##*:}
  out=\${out%:*}
  COMPREPLY=()
  if (( directive & 8 )); then
    # FilterFileExt: the candidates are file extensions.
    local ext
    while IFS= read -r ext; do
      [[ -n $ext ]] && COMPREPLY+=($(compgen -f -X "!*.$ext" -- "$cur"))
    done <<<"$out"
    COMPREPLY+=($(compgen -d -- "$cur"))
    compopt -o filenames 2>/dev/null
    return 0
  fi
  while IFS= read -r line; do
    [[ -n $line ]] && COMPREPLY+=("\${line%%$'\\t'*}")
  done <<<"$out"
  if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then
    compopt -o default 2>/dev/null
  fi
  (( directive & 2 )) && compopt -o nospace 2>/dev/null
  return 0
}
complete -F _vireo_complete vireo kubectl-vireo
`;

const zsh = `#compdef vireo kubectl-vireo
# zsh completion for vireo. Load it with:
#   source <(vireo completion zsh)         # this shell (after compinit)
#   vireo completion zsh > "\${fpath[1]}/_vireo"
_vireo() {
  local out directive line
  local -a lines cands
  out=$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  directive=\${lines[-1]#:}
  lines=("\${(@)lines[1,-2]}")
  if (( directive & 8 )); then
    _files -g "*.(\${(j:|:)lines})"
    return
  fi
  for line in "\${lines[@]}"; do
    [[ -n $line ]] && cands+=("\${\${line//:/\\\\:}/$'\\t'/:}")
  done
  if (( \${#cands} )); then
    _describe 'vireo' cands
  elif (( ! (directive & 4) )); then
    _files
  fi
}
if [[ "$(whence -w compdef 2>/dev/null)" == *function* ]]; then compdef _vireo vireo kubectl-vireo; fi
`;

const fish = `# fish completion for vireo. Load it with:
#   vireo completion fish | source
#   vireo completion fish > ~/.config/fish/completions/vireo.fish
function __vireo_complete
    set -l tokens (commandline -opc)
    set -l out ($tokens[1] __complete $tokens[2..-1] (commandline -ct) 2>/dev/null)
    or return
    set -l directive (string replace ':' '' -- $out[-1])
    set -e out[-1]
    if test (math "bitand($directive, 8)") -ne 0
        for ext in $out
            __fish_complete_suffix .$ext
        end
        return
    end
    printf '%s\\n' $out
    if test (count $out) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c vireo -f -a '(__vireo_complete)'
complete -c kubectl-vireo -f -a '(__vireo_complete)'
`;

/** The completion script for a shell. */
export function completionScript(shell: Shell): string {
  return { bash, zsh, fish }[shell];
}
