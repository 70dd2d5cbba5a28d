import { type Logger, pino } from 'pino';

export type { Logger };

/** The process logger; JSON lines on stderr so stdout stays for command output. */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}

/** A logger that drops everything (tests, quiet CLI runs). */
export const silentLogger: Logger = pino({ level: 'silent' });
