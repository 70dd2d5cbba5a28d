import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Workspace } from '../../src/app/index.js';
import { buildApp } from '../../src/server/app.js';
import { servicesRequired } from '../support/services.js';

/*
 * A real browser on a real server: Debian's chromium (apt-get install chromium) driven by
 * playwright-core, against `sextant server`'s app listening on a free loopback port.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The chromium to drive (SEXTANT_CHROMIUM overrides), or undefined with the skip printed. */
export function findChromium(): string | undefined {
  const found = [process.env.SEXTANT_CHROMIUM, ...CANDIDATES].find((p) => p && fs.existsSync(p));
  if (found) return found;
  const reason = 'no chromium found (apt-get install chromium, or set SEXTANT_CHROMIUM)';
  if (servicesRequired) throw new Error(`${reason}, and SEXTANT_REQUIRE_SERVICES=1 requires it`);
  console.warn(`SKIPPED: web UI browser suites (${reason})`);
  return undefined;
}

export async function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** The HTTP app over a workspace, listening on a free port; returns its base URL. */
export async function serve(
  ws: Workspace,
  authMode: 'off' | 'token',
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({ ...ws, config: { ...ws.config, authMode } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** Console errors and uncaught exceptions of a page, to assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

const axeSource = fs.readFileSync(
  path.resolve(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'),
  'utf8',
);

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol, which the page's CSP does not govern (an inline
  // <script> tag would be refused, as it should be).
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(
            o: unknown,
          ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}

const SHOTS = path.resolve(import.meta.dirname, '../../test-results/web');

/** A full-page screenshot kept as an artifact of the run (test-results/ is gitignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A page of a browser context signed in with `secret` (the token the sign-in page would store). */
export async function signedInPage(
  browser: Browser,
  secret: string,
): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await ctx.addInitScript(
    (t) =>
      (
        globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }
      ).localStorage.setItem('sextant.token', t),
    secret,
  );
  const page = await ctx.newPage();
  return { ctx, page, errors: watchErrors(page) };
}

/** What every page must show: a clean console and no serious a11y violation; a screenshot is kept. */
export async function pageProblems(page: Page, errors: string[], name: string): Promise<string[]> {
  await screenshot(page, name);
  return [
    ...errors.map((e) => `console on ${name}: ${e}`),
    ...(await seriousA11yViolations(page)).map((v) => `axe on ${name}: ${v}`),
  ];
}
