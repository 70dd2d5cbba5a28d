import net from 'node:net';

export const postgresUrl = process.env.SEXTANT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.SEXTANT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const servicesRequired = process.env.SEXTANT_REQUIRE_SERVICES === '1';

/** True when something accepts TCP connections at the URL's host and port. */
export function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Decides whether a service-backed suite runs. Without the server the suite is skipped with a
 * visible reason; with SEXTANT_REQUIRE_SERVICES=1 a missing server is an error.
 */
export async function serviceAvailable(name: string, url: string, defaultPort: number): Promise<boolean> {
  if (await reachable(url, defaultPort)) return true;
  const reason = `${name} is not reachable at ${url.replace(/\/\/[^@]*@/, '//')}`;
  if (servicesRequired) throw new Error(`${reason}, and SEXTANT_REQUIRE_SERVICES=1 requires it`);
  console.warn(`SKIPPED: ${name} suites (${reason}; set SEXTANT_TEST_${name.toUpperCase()}_URL to run them)`);
  return false;
}
