import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnsupportedMediaTypeError } from '../core/errors.js';
import { readCsvBody, readNumericRecords } from '../serving/index.js';

/** The media types the scoring routes read, as MLflow's scoring server does. */
export const SCORING_MEDIA_TYPES = ['application/json', 'text/csv'] as const;

/** How a body parser answers: an error, or the parsed body. */
export type BodyDone = (err: Error | null, body?: unknown) => void;

/** Reads a scoring body: JSON (its bytes), or a CSV with a header row (its text). */
export interface ScoringBodyReader {
  json(bytes: Buffer, done: BodyDone): void;
  csv(text: string, done: BodyDone): void;
}

/**
 * The scoring routes' body parsers, built once per app: the Fastify scope below and the scoring
 * server's lane (scoring-lane.ts) read bodies through the same functions, so both accept and refuse
 * exactly the same bodies with the same errors.
 */
export function scoringBodyReader(app: FastifyInstance): ScoringBodyReader {
  const strict = app.getDefaultJsonParser('error', 'error');
  // Fastify's default JSON parser reads only the body, never the request.
  const noRequest = undefined as unknown as FastifyRequest;
  return {
    /*
     * Fastify's parser scans every body with two regular expressions for "__proto__" / "constructor"
     * keys, escaped or not (prototype poisoning). A body without `\u`, "__proto__" and "constructor"
     * cannot hold one: it is parsed at once. Any other body, an empty one or a parse error, takes the
     * default parser, so its checks and its errors stay exactly Fastify's. A body of rows holding
     * only numbers (records, or pandas' split orient) is read without JSON.parse (NumericRecords: the
     * same values, for the record checker).
     * The checks run on the bytes: UTF-8 decoding keeps ASCII as it is and makes no ASCII of others.
     */
    json(bytes, done) {
      if (bytes.length > 0 && !startsWithBom(bytes) && cannotPoison(bytes)) {
        const numeric = readNumericRecords(bytes);
        if (numeric !== null) {
          done(null, numeric);
          return;
        }
        const text = bytes.toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          strict(noRequest, text, done);
          return;
        }
        done(null, parsed);
        return;
      }
      strict(noRequest, bytes.toString('utf8'), done);
    },
    csv(text, done) {
      let body: unknown;
      try {
        body = readCsvBody(text);
      } catch (err) {
        done(err as Error, undefined);
        return;
      }
      done(null, body);
    },
  };
}

/**
 * Inside an encapsulated scope (the predict / invocations routes): JSON bodies through a fast path of
 * the default parser, `text/csv` bodies read into a CsvBody, and any other media type is a 415 that
 * names the two.
 */
export function acceptScoringBodies(scope: FastifyInstance, reader = scoringBodyReader(scope)): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
    reader.json(body as Buffer, done),
  );
  scope.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) =>
    reader.csv(body as string, done),
  );
  scope.addContentTypeParser('*', (req, _payload, done) => {
    const sent = req.headers['content-type'];
    done(
      new UnsupportedMediaTypeError(
        `content-type: ${sent ? `'${sent}' is not accepted` : 'missing'}; send ${SCORING_MEDIA_TYPES.join(' or ')}`,
        { field: 'content-type', accepted: [...SCORING_MEDIA_TYPES] },
      ),
      undefined,
    );
  });
}

const POISON_MARKS = ['\\u', '__proto__', 'constructor'].map((m) => Buffer.from(m, 'latin1'));

function cannotPoison(bytes: Buffer): boolean {
  for (const mark of POISON_MARKS) if (bytes.indexOf(mark) !== -1) return false;
  return true;
}

/** The UTF-8 byte order mark, which Fastify's parser strips (and a plain JSON.parse refuses). */
function startsWithBom(bytes: Buffer): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}
