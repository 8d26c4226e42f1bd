/**
 * The playground open in a real browser for a browser test: the local service started in-process
 * exactly as `npm start` starts it (its own table prefix, no callback tokens or rules cache from
 * the shell), Debian's chromium through puppeteer-core on its page, waited for until the page says
 * it is ready. `pageErrors` collects the page's uncaught errors (each test expects none);
 * `stop()` closes the browser and the service and gives back stdout, the log level and the
 * environment.
 */
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../../bin/local/playground/browser.js';
import { startLocal, type LocalService } from '../../bin/local/start.js';
import { logger } from '../../functions/shared/log.js';

export type PlaygroundPage = {
  readonly service: LocalService;
  readonly page: Page;
  readonly pageErrors: string[];
  stop(): Promise<void>;
};

export const openPlayground = async (options: {
  readonly tablePrefix: string;
  /** puppeteer's wait for the page to be ready. */
  readonly wait: { readonly timeout: number };
  /** @default 1400 × 1000 */
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Set for the file's run, back to SILENT after it; unset: left as it is. */
  readonly logLevel?: 'INFO' | 'SILENT';
}): Promise<PlaygroundPage> => {
  const envBefore = { ...process.env };
  const pageErrors: string[] = [];
  let service: LocalService | undefined;
  let browser: Browser | undefined;
  delete process.env.KCO_CALLBACK_TOKENS;
  delete process.env.RULES_CACHE_SECONDS;
  // A cold DynamoDB Local on a busy machine can take longer than the deployed 700 ms for its first
  // writes; these files are about the page, not about DynamoDB's timing.
  process.env.DYNAMODB_REQUEST_TIMEOUT_MS = '10000';
  if (options.logLevel) logger.setLogLevel(options.logLevel);
  // The service's log lines stay off the test output.
  const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const stop = async (): Promise<void> => {
    await browser?.close();
    await service?.stop();
    quiet.mockRestore();
    if (options.logLevel) logger.setLogLevel('SILENT');
    process.env = envBefore;
  };
  try {
    service = await startLocal({ port: 0, tablePrefix: options.tablePrefix });
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.setViewport(options.viewport ?? { width: 1400, height: 1000 });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(`${service.url}/`);
    await page.waitForSelector('body[data-ready="true"]', options.wait);
    return { service, page, pageErrors, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
