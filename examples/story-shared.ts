/*
 * What the three stories share: the reviewer who approves promotions (the requester never may), a
 * table indented under a story's text, and putting a local file into a dataset version.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../src/app/index.js';
import { modelsLocalApi } from '../src/cli/local/models.js';
import { table } from '../src/cli/output.js';
import type { SextantApi } from '../src/client/index.js';
import type { ModelsApi } from '../src/client/models-api.js';
import { ConflictError } from '../src/core/errors.js';

/** The second person of every story: an approver. */
export const REVIEWER = 'demo-reviewer';
const REPO = path.resolve(import.meta.dirname, '..');

/** The reviewer's models API, creating the user on first use. */
export async function reviewerApi(ws: Workspace, api: SextantApi): Promise<ModelsApi> {
  const users = await api.users.list();
  if (!users.some((u) => u.name === REVIEWER)) await api.users.create({ name: REVIEWER, role: 'approver' });
  return modelsLocalApi(ws, REVIEWER);
}

/** A table indented by `pad`. */
export function showTable(
  headers: string[],
  rows: (string | number | null | undefined)[][],
  pad = '    ',
): string {
  return table(headers, rows)
    .split('\n')
    .map((l) => `${pad}${l}`)
    .join('\n');
}

/** A local file as a dataset version's file entry (stored in the blob store first). */
export async function putFile(ws: Workspace, file: string, as = path.basename(file)) {
  const blob = await ws.data.versions.putLocalFile({ localPath: file });
  return { path: as, size: blob.size, sha256: blob.sha256 };
}

/** `sextant` on PATH for pipelines' `run:` steps, running this checkout against SEXTANT_HOME. */
export function sextantOnPath(workDir: string, home: string): string {
  const bin = path.join(workDir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'sextant'), `#!/bin/sh\nexec node ${REPO}/bin/sextant.js "$@"\n`, {
    mode: 0o755,
  });
  if (!process.env.PATH?.split(':').includes(bin)) process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.SEXTANT_HOME = home;
  return bin;
}

/** The repository root (the stories read examples/pipelines from it). */
export const REPO_ROOT = REPO;

/** Percent with no decimals, '-' for null. */
export const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${Math.round(v * 100)}%`;
/** A metric with 3 decimals, '-' for null. */
export const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(3));

/**
 * Refuses to write a story's past behind the prediction seal: once a server or worker has sealed the
 * prediction log up to some moment, predictions dated before it are exactly what `sextant audit verify
 * --deep` exists to catch. A story run again on such a workspace says so instead.
 */
export async function assertPastWritable(api: SextantApi, from: number): Promise<void> {
  const seals = await api.audit.list({ entityType: 'prediction_log', entityId: 'predictions', limit: 1000 });
  const sealedUpTo = Math.max(
    0,
    ...seals.map((e) => {
      const seal = (e.details as { predictionSeal?: { to?: { servedAt?: number } } } | null)?.predictionSeal;
      return Number(seal?.to?.servedAt ?? 0);
    }),
  );
  if (sealedUpTo > from)
    throw new ConflictError(
      `this workspace's predictions are sealed up to ${new Date(sealedUpTo).toISOString()} (a server or worker ran on it); ` +
        `the story's past (from ${new Date(from).toISOString()}) would be written behind the seal. ` +
        'Run it on a fresh workspace: SEXTANT_HOME=$(mktemp -d) npm run demo',
    );
}
