import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/** Items serialised per chunk: a few milliseconds of JSON.stringify, then the loop is free again. */
const CHUNK = 2000;

/**
 * Sends `{ [field]: items, ...rest }` as JSON written chunk by chunk, so a large reply (a history page
 * of 100k points is ~8 MB) never holds the event loop for one long JSON.stringify. The body is the
 * same JSON a plain reply would carry; only the pacing differs.
 */
export function sendJsonList<T>(
  reply: FastifyReply,
  field: string,
  items: readonly T[],
  rest: Record<string, unknown> = {},
): FastifyReply {
  async function* chunks(): AsyncGenerator<string> {
    yield `{${JSON.stringify(field)}:[`;
    for (let i = 0; i < items.length; i += CHUNK) {
      const part = items.slice(i, i + CHUNK).map((x) => JSON.stringify(x));
      yield (i === 0 ? '' : ',') + part.join(',');
      await new Promise((resolve) => setImmediate(resolve));
    }
    const tail = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join('');
    yield `]${tail}}`;
  }
  return reply.type('application/json; charset=utf-8').send(Readable.from(chunks()));
}
