import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import { errorReplyOf } from './error-handler.js';
import type { BodyDone, ScoringBodyReader } from './scoring-body.js';

/*
 * The scoring server's fast lane: `sextant serve`'s main thread is its bottleneck under load, and
 * Fastify's per-request machinery (request and reply objects, routing, hooks, the content-type
 * parser chain, the reply pipeline) is a share of it that bare node:http does not pay. The lane
 * answers the plain scoring request itself, from node:http's request event, through the very
 * functions the Fastify routes use: the Host/Origin guard (request-guards.ts), the body readers
 * (scoring-body.ts), the predict options and reply (routes/predict.ts) and the error replies
 * (error-handler.ts).
 *
 * It takes a request only when everything that could make Fastify answer differently is absent:
 *   POST to exactly /predict or /invocations (no query string: ?explain and its errors stay Fastify's),
 *   Content-Type exactly application/json or text/csv (optionally "; charset=utf-8"),
 *   a Content-Length of 1 byte up to the body limit and no Transfer-Encoding (so no 413 can arise
 *   while reading, and an empty body keeps Fastify's error),
 *   and a request the Host/Origin guard lets pass.
 * Anything else (a refusal, a 413, a 415, an odd path or media type) goes to Fastify untouched, whose
 * answer is therefore unchanged. What the lane answers itself (a prediction, a body that does not
 * parse, a record the model refuses, a draining runtime) has the status, headers and body Fastify's
 * route would give it: test/e2e/serving-lane.test.ts compares the two on the same requests.
 */

/** The media types the lane reads (exact header values); any other goes to Fastify. */
const LANE_MEDIA_TYPES = new Map<string, 'json' | 'csv'>([
  ['application/json', 'json'],
  ['application/json; charset=utf-8', 'json'],
  ['text/csv', 'csv'],
  ['text/csv; charset=utf-8', 'csv'],
]);

const JSON_TYPE = 'application/json; charset=utf-8';

export interface ScoringLaneOptions {
  /** The same guard the app's onRequest hook runs (request-guards' hostAndOriginGuard). */
  refusal: (method: string, headers: IncomingHttpHeaders) => Error | undefined;
  /** The app's body limit in bytes. */
  bodyLimit: number;
  /** The scoring routes' body readers. */
  reader: ScoringBodyReader;
  /** Answers a parsed body with the reply's JSON text (the predict route's own steps). */
  predict: (headers: IncomingHttpHeaders, body: unknown) => Promise<string>;
  /** True once the app is closing: replies then ask the client to close the connection, as Fastify's do. */
  closing: () => boolean;
  logger: Logger;
}

/** Returns the lane: true when it took the request (and will answer it), false to hand it to Fastify. */
export function createScoringLane(
  opts: ScoringLaneOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { refusal, bodyLimit, reader, predict, closing, logger } = opts;

  function send(res: ServerResponse, status: number, text: string): void {
    if (closing()) res.setHeader('connection', 'close');
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const { status, body, unhandled } = errorReplyOf(req.url as string, err);
    if (unhandled) logger.error({ err }, 'unhandled error');
    send(res, status, JSON.stringify(body));
  }

  function answer(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    predict(req.headers, body).then(
      (text) => send(res, 200, text),
      (err: unknown) => fail(req, res, err),
    );
  }

  return (req, res) => {
    if (req.method !== 'POST' || (req.url !== '/predict' && req.url !== '/invocations')) return false;
    const headers = req.headers;
    const media = LANE_MEDIA_TYPES.get(headers['content-type'] ?? '');
    if (media === undefined || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= bodyLimit)) return false;
    if (refusal(req.method, headers) !== undefined) return false;

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const done: BodyDone = (err, body) => {
        if (err) {
          // As Fastify does after a body it could not parse: the client may still be sending.
          res.setHeader('connection', 'close');
          fail(req, res, err);
          return;
        }
        answer(req, res, body);
      };
      if (media === 'json') reader.json(bytes, done);
      else reader.csv(bytes.toString('utf8'), done);
    });
    return true;
  };
}
