/*
 * Canary routing: a request key always lands on the same side, so one caller sees one model. The key
 * is hashed (FNV-1a, 32 bits) into one of 10,000 buckets; buckets below percent x 100 go to the
 * challenger, which gives a resolution of 0.01 %.
 */

const BUCKETS = 10_000;

/** The bucket (0..9999) of a request key; stable across processes and versions. */
export function canaryBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Mix the high bits down: FNV's low bits are weak for keys differing only in their last character.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % BUCKETS;
}

/** True when the key's requests go to the canary challenger at this percentage (0-100). */
export function routesToChallenger(key: string, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return canaryBucket(key) < Math.round(percent * 100);
}
