import type { Command } from 'commander';

/*
 * Shell completion: each script asks the CLI itself (`sextant __complete <words so far...>`), so the
 * candidates are always the commands and options of the installed version, and a command's module is
 * loaded only when the words name it.
 */

const scripts = {
  bash: `# sextant completion for bash: add to ~/.bashrc
#   source <(sextant completion bash)
_sextant() {
  local IFS=$'\\n'
  COMPREPLY=($(sextant __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _sextant sextant
`,
  zsh: `#compdef sextant
# sextant completion for zsh: add to ~/.zshrc
#   source <(sextant completion zsh)
_sextant() {
  local -a candidates
  candidates=("\${(@f)$(sextant __complete "\${words[@]:1:$((CURRENT-1))}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _sextant sextant
`,
  fish: `# sextant completion for fish: save as ~/.config/fish/completions/sextant.fish
#   sextant completion fish > ~/.config/fish/completions/sextant.fish
complete -c sextant -f -a '(sextant __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
} as const;

export type Shell = keyof typeof scripts;
export const shells = Object.keys(scripts) as Shell[];

/** The completion script for a shell. */
export function completionScript(shell: Shell): string {
  return scripts[shell];
}

/**
 * Candidates for the last word, given the words typed after `sextant` (the last one possibly empty):
 * subcommands of the command the earlier words reach, and its options (global ones included).
 */
export function completeWords(program: Command, words: string[]): string[] {
  const partial = words.at(-1) ?? '';
  let cmd = program;
  for (const w of words.slice(0, -1)) {
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) cmd = sub;
  }
  const names = cmd.commands.map((c) => c.name()).filter((n) => !n.startsWith('__'));
  const options: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent)
    for (const o of c.options) if (o.long && (!o.hidden || c !== cmd)) options.push(o.long);
  const pool = partial.startsWith('-') ? options : names;
  return [...new Set(pool)].filter((x) => x.startsWith(partial)).sort();
}
