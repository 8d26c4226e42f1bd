/**
 * The README's picture of the playground: `npm run screenshot [-- out.png]` starts the local
 * service in-process (as `npm start` does, on free ports), walks one checkout in chromium and saves
 * the page (default .github/assets/playground.png). It refuses to save a picture that lacks a
 * field of the rules schema, and records the fields it shows beside the picture
 * (`<out>.fields.json`), which test/docs/screenshot.test.ts holds to the schema.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { rulesJsonSchema } from '../../../functions/kco/rules.js';
import { startLocal } from '../start.js';
import { launchChromium } from './browser.js';

process.env.LOG_LEVEL ??= 'INFO'; // the reason codes come from the callbacks' INFO lines
process.env.DYNAMODB_REQUEST_TIMEOUT_MS ??= '10000'; // a cold DynamoDB Local on a busy machine
const out = resolve(process.argv[2] ?? '.github/assets/playground.png');
const WAIT = { timeout: 30_000 };

const service = await startLocal({ port: 0 });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 1000 });
  await page.goto(`${service.url}/`);
  await page.waitForSelector('body[data-ready="true"]', WAIT);
  // Strings, not functions: this file is type-checked without the DOM library.
  const answered = (n: number) => page.waitForFunction(`document.querySelectorAll('#results > li').length === ${n}`, WAIT);

  await page.click('#address-form button[type="submit"]');
  await answered(1);
  await page.click('#shipping-option-1');
  await answered(2);
  await page.click('#address-street', { count: 3 });
  await page.type('#address-street', 'Box 123');
  await page.click('#address-form button[type="submit"]');
  await answered(3);
  await page.click('#rules-field-min_order_amount', { count: 3 });
  await page.type('#rules-field-min_order_amount', '-5');
  await page.waitForFunction(`document.getElementById('rules-field-min_order_amount-error').textContent !== ''`, WAIT);
  await page.waitForFunction(`document.getElementById('osm-status').textContent === '200'`, WAIT);
  const preview = await (await page.$('#osm-preview'))?.contentFrame();
  await preview?.waitForFunction(`document.body && document.body.textContent.includes('payments')`, WAIT);
  await mkdir(dirname(out), { recursive: true });
  // A viewport as tall as the page rather than `fullPage`: chromium leaves the sandboxed OSM
  // frame (its own process) blank in a full-page capture.
  const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
  await page.setViewport({ width: 1440, height });
  // Every field of the schema must be on the page, visible, and inside the picture.
  const expected = Object.keys((rulesJsonSchema() as { properties?: Record<string, unknown> }).properties ?? {}).sort();
  const shown = JSON.parse(
    String(
      await page.evaluate(`JSON.stringify([...document.querySelectorAll('[id^="rules-field-"]')]
        .filter((e) => !/-(error|help)$/.test(e.id))
        .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= ${height}; })
        .map((e) => e.id.slice('rules-field-'.length)))`),
    ),
  ) as string[];
  const missing = expected.filter((name) => !shown.includes(name));
  if (missing.length > 0) throw new Error(`The picture would lack rules fields: ${missing.join(', ')}`);
  await page.screenshot({ path: out as `${string}.png` });
  await writeFile(out.replace(/\.png$/, '.fields.json'), `${JSON.stringify(shown.sort(), null, 2)}\n`);
  process.stdout.write(`Saved ${out} (${shown.length} rules fields)\n`);
} finally {
  await browser.close();
  await service.stop();
}
