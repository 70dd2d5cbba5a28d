import { ValidationError } from '../core/errors.js';
import { LIMITS } from './tracking.schema.js';

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
