import type { FastifyInstance } from 'fastify';
import { UnsupportedMediaTypeError } from '../core/errors.js';
import { readCsvBody } from '../serving/index.js';

/** The media types the scoring routes read, as MLflow's scoring server does. */
export const SCORING_MEDIA_TYPES = ['application/json', 'text/csv'] as const;

/**
 * Inside an encapsulated scope (the predict / invocations routes): JSON bodies through a fast path of
 * the default parser, `text/csv` bodies read into a CsvBody, and any other media type is a 415 that
 * names the two.
 */
export function acceptScoringBodies(scope: FastifyInstance): void {
  const strict = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  /*
   * Fastify's parser scans every body with two regular expressions for "__proto__" / "constructor"
   * keys, escaped or not (prototype poisoning). A body without `\u`, "__proto__" and "constructor"
   * cannot hold one: it is parsed at once. Any other body, an empty one or a parse error, takes the
   * default parser, so its checks and its errors stay exactly Fastify's.
   */
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (text !== '' && text.charCodeAt(0) !== 0xfeff && cannotPoison(text)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        strict(req, text, done);
        return;
      }
      done(null, parsed);
      return;
    }
    strict(req, text, done);
  });
  scope.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, text, done) => {
    try {
      done(null, readCsvBody(text as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
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
