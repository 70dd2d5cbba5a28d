import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A real HTTP receiver on loopback (webhook tests). `answer` decides each reply from the request and
 * its 1-based number: a status code, or a string to redirect there (302). `delayMs` holds each reply.
 */
export async function startReceiver(
  answer: (n: number, r: Received) => number | string = () => 200,
  opts: { delayMs?: number } = {},
) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body };
      got.push(r);
      const a = answer(got.length, r);
      setTimeout(() => {
        if (typeof a === 'string') {
          res.statusCode = 302;
          res.setHeader('location', a);
        } else res.statusCode = a;
        res.end();
      }, opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
