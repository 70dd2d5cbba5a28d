import type { FastifyInstance } from 'fastify';
import { UnsupportedMediaTypeError } from '../core/errors.js';
import { readCsvBody } from '../serving/index.js';

/** The media types the scoring routes read, as MLflow's scoring server does. */
export const SCORING_MEDIA_TYPES = ['application/json', 'text/csv'] as const;

/**
 * Inside an encapsulated scope (the predict / invocations routes): `text/csv` bodies are read into a
 * CsvBody beside the default JSON parser, and any other media type is a 415 that names the two.
 */
export function acceptScoringBodies(scope: FastifyInstance): void {
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
