import type { FastifyInstance } from 'fastify';

/**
 * Inside an encapsulated scope: every request body arrives as the raw stream, whatever its content
 * type, so uploads stream into the blob store and never sit in memory whole.
 */
export function acceptRawBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (_req, payload, done) =>
    done(null, payload),
  );
}
