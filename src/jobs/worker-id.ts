import { randomBytes } from 'node:crypto';
import os from 'node:os';

/** A worker's name in the attempt log: host, process and a random part (several workers per process). */
export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
