import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** Prefixes of every id kind; an id reads as `<prefix>_<ULID>`, e.g. run_01J9Z3.... */
export type IdPrefix =
  | 'run'
  | 'usr'
  | 'tok'
  | 'aud'
  | 'art'
  | 'inp'
  | 'req'
  | 'evt'
  | 'whk'
  | 'whd'
  | 'wha'
  | 'dst'
  | 'dsv'
  | 'mdl'
  | 'mv'
  | 'prq'
  | 'ale'
  | 'pdc'
  | 'dqs'
  | 'dqr'
  | 'dep'
  | 'pred';

/** A new prefixed, lexicographically time-sortable id. */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${nextUlid(now).toLowerCase()}`;
}
