import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnsupportedMediaTypeError } from '../core/errors.js';
import { readCsvBody } from '../serving/index.js';

/** The media types the scoring routes read, as MLflow's scoring server does. */
export const SCORING_MEDIA_TYPES = ['application/json', 'text/csv'] as const;

/** How a body parser answers: an error, or the parsed body. */
export type BodyDone = (err: Error | null, body?: unknown) => void;

/** Reads a scoring body's text: JSON, or a CSV with a header row. */
export interface ScoringBodyReader {
  json(text: string, done: BodyDone): void;
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
     * default parser, so its checks and its errors stay exactly Fastify's.
     */
    json(text, done) {
      if (text !== '' && text.charCodeAt(0) !== 0xfeff && cannotPoison(text)) {
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
      strict(noRequest, text, done);
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
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
    reader.json(body as string, done),
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

function cannotPoison(text: string): boolean {
  return text.indexOf('\\u') === -1 && text.indexOf('__proto__') === -1 && text.indexOf('constructor') === -1;
}
