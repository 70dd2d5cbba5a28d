import { ValidationError } from '../core/errors.js';
import { type ArtifactEntry, LIMITS } from './tracking.schema.js';

/*
 * Artifact paths are names inside a run, never file-system paths: they are stored as strings and the
 * bytes live in the content-addressed store. Still, anything that could mean "go elsewhere" on some
 * system is refused outright, so a path never has two readings.
 */
const encodedTraversal = /%(2e|2f|5c|25|00)/i;

/** Checks and normalises a relative artifact path ('' is the run's root when allowRoot). */
export function normalizeArtifactPath(raw: string, { field = 'path', allowRoot = false } = {}): string {
  const fail = (why: string): never => {
    throw new ValidationError(`${field}: ${why}`, { field });
  };
  if (raw.length > LIMITS.artifactPathLength) fail(`longer than ${LIMITS.artifactPathLength} characters`);
  if (raw.includes('\0')) fail('contains a NUL character');
  if (raw.includes('\\')) fail('contains a backslash; use / between folders');
  if (encodedTraversal.test(raw)) fail('contains a percent-encoded dot, slash, backslash, percent or NUL');
  if (raw.startsWith('/')) fail('must be relative, not absolute');
  if (/^[a-zA-Z]:/.test(raw)) fail('must be relative, not a drive path');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(raw)) fail('contains a control character');
  const segments = raw.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..')) fail("contains a '..' segment");
  const path = segments.filter((s) => s !== '.').join('/');
  if (!path && !allowRoot) fail('is empty');
  return path;
}

/** One folder level, like `ls`, from the files under `prefix` (`''` or `<folder>/`): files and sub-folders. */
export function folderEntries(
  rows: { path: string; size: number; sha256: string }[],
  prefix: string,
): ArtifactEntry[] {
  const entries = new Map<string, ArtifactEntry>();
  for (const r of rows) {
    const rest = r.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash === -1) entries.set(r.path, { path: r.path, isDir: false, size: r.size, sha256: r.sha256 });
    else {
      const dir = prefix + rest.slice(0, slash);
      if (!entries.has(dir)) entries.set(dir, { path: dir, isDir: true, size: null, sha256: null });
    }
  }
  return [...entries.values()].sort((a, b) => a.path.localeCompare(b.path));
}
