import fs from 'node:fs';
import { AppError } from '../core/errors.js';

/*
 * HTML to PDF with headless Chromium driven by playwright-core: the only renderer, so the PDF is the
 * HTML document as a browser prints it (its print CSS breaks pages per section). It runs in the CLI,
 * never in the server: over --url the CLI fetches the report and prints it here.
 */

/** Where Debian, Ubuntu and Chrome put the binary; SEXTANT_CHROMIUM goes first. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

const MISSING = 'set SEXTANT_CHROMIUM to a chromium binary, or install one (apt-get install chromium)';

/** The chromium to print with: the configured one (it must exist), else the first candidate found. */
export function findChromium(configured: string | undefined): string {
  if (configured) {
    if (fs.existsSync(configured)) return configured;
    throw new AppError('UNAVAILABLE', `PDF needs chromium: SEXTANT_CHROMIUM=${configured} does not exist`, {
      field: 'SEXTANT_CHROMIUM',
    });
  }
  const found = CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found)
    throw new AppError('UNAVAILABLE', `PDF needs chromium and none was found: ${MISSING}`, {
      field: 'SEXTANT_CHROMIUM',
    });
  return found;
}

interface PlaywrightLike {
  chromium: {
    launch(o: { executablePath: string; headless: boolean; args: string[] }): Promise<{
      newContext(o: { javaScriptEnabled: boolean }): Promise<{
        route(url: string, handler: (route: { abort(): Promise<void> }) => unknown): Promise<void>;
        newPage(): Promise<{
          setContent(html: string, o: { waitUntil: 'load' }): Promise<void>;
          pdf(o: {
            format: string;
            printBackground: boolean;
            margin: Record<string, string>;
          }): Promise<Buffer>;
        }>;
      }>;
      close(): Promise<void>;
    }>;
  };
}

/** Prints a self-contained HTML document to PDF bytes (A4, backgrounds, 15 mm margins). */
export async function htmlToPdf(html: string, chromiumPath: string | undefined): Promise<Buffer> {
  const executablePath = findChromium(chromiumPath);
  // A computed name: the bundler leaves it to Node, and a CLI without it installed still starts.
  const moduleName = 'playwright-core';
  let pw: PlaywrightLike;
  try {
    pw = (await import(moduleName)) as PlaywrightLike;
  } catch {
    throw new AppError(
      'UNAVAILABLE',
      'PDF needs the playwright-core package next to sextant (npm install playwright-core) and chromium',
      { field: 'playwright-core' },
    );
  }
  const browser = await pw.chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  try {
    // The document is self-contained and has no scripts: run none, and fetch nothing it might name
    // (over --url the HTML came from a server).
    const context = await browser.newContext({ javaScriptEnabled: false });
    await context.route('**', (route) => route.abort());
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' },
    });
  } finally {
    await browser.close();
  }
}
