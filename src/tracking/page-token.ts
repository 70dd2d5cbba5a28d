import { ValidationError } from '../core/errors.js';

/** Opaque paging token in MLflow's shape: base64 of {"offset": n}. */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');
}

/** Reads a page token back into an offset; undefined or '' means the first page. */
export function decodePageToken(token: string | undefined, field = 'page_token'): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0)
      return parsed.offset;
  } catch {
    // fall through to the error below
  }
  throw new ValidationError(`${field}: invalid page token`, { field });
}
