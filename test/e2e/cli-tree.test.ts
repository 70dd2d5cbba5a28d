import { describe, expect, it } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.js';
import { cli, cliJsonError as jsonError } from '../support/cli.js';
import { useCliTransports } from './fixtures/cli-transports.js';

/*
 * The promises of a native CLI, checked on every command there is, not on a sample: the tree is read
 * from the CLI itself (`sextant __complete`, what the shell completion asks), so a group added later
 * is covered without touching this file. Every group answers a typo with a suggestion; every command
 * takes --json before and after its name and then reports its errors as JSON; every listing prints
 * the same JSON whichever position --json is in, on the local workspace and against a server.
 */

/** Commands that pass unknown options on (to a child process, or to the completion). */
const PASSES_OPTIONS_ON = new Set(['run']);
/** Groups whose own command takes an argument: `lineage credit@1` reads a word after it as that ref. */
const TAKES_AN_ARGUMENT = new Set(['lineage']);

describe('every command of the tree: typos, --json in any position, JSON errors', () => {
  const t = useCliTransports('cli-tree');

  /** The command paths below `path` (depth first), read from the CLI's own completion. */
  async function walk(path: string[]): Promise<string[][]> {
    const r = await cli(t.envs.local, '__complete', ...path, '');
    expect(r.code, r.err).toBe(0);
    const subs = r.out.split('\n').filter((w) => w && !w.startsWith('-'));
    const out: string[][] = [];
    for (const sub of subs) {
      const child = [...path, sub];
      out.push(child, ...(await walk(child)));
    }
    return out;
  }

  let tree: string[][] = [];
  const children = (path: string[]) =>
    tree.filter((p) => p.length === path.length + 1 && path.every((w, i) => p[i] === w));

  it('the tree holds the groups of every area, the newer ones included', async () => {
    tree = await walk([]);
    const groups = tree.filter((p) => children(p).length > 0).map((p) => p.join(' '));
    for (const g of [
      'models',
      'experiments',
      'deployments',
      'predictions',
      'data',
      'runs',
      'monitors',
      'monitor',
      'alerts',
      'pipelines',
      'triggers',
      'cost',
      'cost prices',
      'budgets',
      'jobs',
      'workers',
      'reaper',
      'webhooks',
      'users',
      'tokens',
      'audit',
    ])
      expect(groups).toContain(g);
    // The tagline of `sextant --help` names the areas there are, the newer ones too.
    const help = (await cli(t.envs.local, '--help')).out;
    const tagline = help.slice(help.indexOf('Sextant:')).split('\n\n')[0]!.replace(/\s+/g, ' ');
    for (const area of [
      'datasets',
      'runs',
      'models',
      'deployments',
      'predictions',
      'monitors',
      'pipelines',
      'costs',
      'audit',
    ])
      expect(tagline).toContain(area);
  });

  it('a typo inside any group is an unknown command with a suggestion: exit 2, no help, JSON with --json', async () => {
    expect(tree.length).toBeGreaterThan(0);
    const groups = tree.filter((p) => children(p).length > 0 && !TAKES_AN_ARGUMENT.has(p.join(' ')));
    expect(groups.length).toBeGreaterThan(20);
    for (const group of groups) {
      // The longest subcommand, its first two letters swapped: one edit away from it alone.
      const name = children(group)
        .map((p) => p.at(-1)!)
        .sort((a, b) => b.length - a.length || a.localeCompare(b))[0]!;
      const typo = `${name[1]}${name[0]}${name.slice(2)}`;
      const r = await cli(t.envs.local, ...group, typo, 'arg');
      expect({ group, code: r.code, out: r.out }).toEqual({ group, code: exitCodes.usage, out: '' });
      expect(r.err).toContain(`error: unknown command '${typo}' (did you mean ${name}?)`);
      expect(r.err).not.toContain('Usage:');
      const j = await cli(t.envs.local, ...group, typo, '--json');
      expect({ group, code: j.code, out: j.out }).toEqual({ group, code: exitCodes.usage, out: '' });
      expect(jsonError.parse(JSON.parse(j.err)).error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    }
  });

  it('every command takes --json before or after its name, and then a usage error is JSON', async () => {
    const leaves = tree.filter((p) => !PASSES_OPTIONS_ON.has(p[0]!));
    expect(leaves.length).toBeGreaterThan(100);
    for (const path of leaves) {
      for (const argv of [
        ['--json', ...path, '--no-such-flag'],
        [...path, '--json', '--no-such-flag'],
        [...path, '--no-such-flag', '--json'],
      ]) {
        const r = await cli(t.envs.local, ...argv);
        expect({ argv, code: r.code, out: r.out }).toEqual({ argv, code: exitCodes.usage, out: '' });
        const { error } = jsonError.parse(JSON.parse(r.err));
        expect(error.code).toBe('USAGE');
        // Commander reports a missing required option before an unknown one; both name the option.
        expect(error.message).toMatch(
          /^(unknown option '--no-such-flag'|required option '[^']+' not specified)$/,
        );
      }
    }
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] every listing (ls) answers the same whichever position --json is in`, async () => {
      const env = t.envs[transport];
      const listings = tree.filter((p) => p.at(-1) === 'ls');
      expect(listings.length).toBeGreaterThan(15);
      for (const path of listings) {
        const group = path.slice(0, -1);
        const answers = [];
        for (const argv of [
          ['--json', ...path],
          [...group, '--json', 'ls'],
          [...path, '--json'],
        ]) {
          const r = await cli(env, ...argv);
          // A listing that needs an argument fails alike, as JSON; one that runs prints only JSON.
          if (r.code === 0) {
            expect({ argv, err: r.err }).toEqual({ argv, err: '' });
            answers.push({ code: 0, body: JSON.parse(r.out) as unknown });
          } else {
            expect({ argv, out: r.out }).toEqual({ argv, out: '' });
            answers.push({ code: r.code, body: jsonError.parse(JSON.parse(r.err)).error.code });
          }
        }
        expect({ path, answers: answers.slice(1) }).toEqual({ path, answers: [answers[0], answers[0]] });
      }
    });
  }
});
