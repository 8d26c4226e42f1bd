/**
 * The playground's rules history in a real browser (Debian's chromium through puppeteer-core),
 * against the local service as `npm start` starts it: a write made directly to the local table
 * shows up as an invalid version once the local checker has read it from the stream, and the
 * editor restores the earlier version as a new one. Waits are bounded by puppeteer's timeouts and
 * a count of polls; nothing asserts a duration.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Page } from 'puppeteer-core';
import type { LocalService } from '../../bin/local/start.js';
import { createDocumentClient, createDynamoDbClient } from '../../functions/shared/dynamodb.js';
import { getRules } from '../../functions/shared/rules-store.js';
import { openPlayground, type PlaygroundPage } from '../support/playground-page.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(90_000);

const WAIT = { timeout: 20_000 };
const prefix = `history-${randomUUID().slice(0, 8)}`;

let playground: PlaygroundPage;
let service: LocalService;
let page: Page;

beforeAll(async () => {
  playground = await openPlayground({ tablePrefix: prefix, wait: WAIT, logLevel: 'SILENT' });
  ({ service, page } = playground);
});

afterAll(() => playground?.stop());

afterEach(() => {
  expect(playground.pageErrors).toEqual([]);
});

const historyLines = (): Promise<string[]> =>
  page.$$eval('#rules-history > li', (items) => items.map((li) => `${li.querySelector('strong')?.textContent ?? ''}${li.querySelector('span')?.textContent ?? ''}`));

/** Reload the editor until the history's newest line is `line` (the local checker polls its stream). */
const reloadUntilNewest = async (line: string): Promise<void> => {
  await waitFor(async () => {
    await page.click('#rules-reload');
    await page.waitForFunction(() => document.querySelectorAll('#rules-history > li').length > 0, WAIT);
    return (await historyLines())[0] === line;
  }, 100);
};

describe('the rules history in the playground', () => {
  it('shows a direct invalid write as the current version, and restores the earlier one as a new version', async () => {
    await page.select('#rules-scope', 'default');
    await reloadUntilNewest('Version 1 (current): valid');

    // As the console saves it: min_order_amount typed as a string.
    const plain = createDynamoDbClient(service.endpoint);
    try {
      await plain.send(new PutItemCommand({ TableName: `${prefix}-rules`, Item: { scope: { S: 'default' }, min_order_amount: { S: '100' } } }));
    } finally {
      plain.destroy();
    }
    await reloadUntilNewest('Version 2 (current): invalid (min_order_amount: expected number)');
    expect(await historyLines()).toEqual(['Version 2 (current): invalid (min_order_amount: expected number)', 'Version 1: valid']);
    expect(await page.$eval('#rules-field-min_order_amount-error', (e) => e.textContent)).toBe('expected number');
    // Only an earlier valid version can be restored.
    expect(await page.$$eval('#rules-history button.restore', (buttons) => buttons.map((b) => b.textContent))).toEqual(['Restore version 1']);
    const changes = await page.$$eval('#rules-history > li:first-child .changes li', (items) => items.map((li) => li.textContent ?? ''));
    expect(changes).toContain('~ min_order_amount: 100 → "100"');

    await page.click('#rules-history button[data-version="1"]');
    await page.waitForFunction(() => document.getElementById('rules-status')?.textContent === 'Restored version 1 of default as a new version.', WAIT);
    await page.waitForFunction(() => document.querySelector('#rules-history > li:first-child strong')?.textContent === 'Version 3 (current): ', WAIT);
    expect(await historyLines()).toEqual([
      'Version 3 (current): valid',
      'Version 2: invalid (min_order_amount: expected number)',
      'Version 1: valid',
    ]);
    expect(await page.$eval('#rules-field-min_order_amount', (i) => (i as HTMLInputElement).value)).toBe('100');

    const client = createDocumentClient(service.endpoint);
    try {
      const stored = await getRules(client, `${prefix}-rules`, 'default');
      expect(stored?.parsed.ok).toBe(true);
      expect(stored?.updatedBy).toBe('playground, rollback to version 1');
    } finally {
      client.destroy();
    }
  });
});

describe('the history API', () => {
  const post = async (path: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('refuses a restore without a version number (400), of the current version or one not kept (422), and a bad scope (400)', async () => {
    expect((await post('/playground/api/rules/restore?scope=default', '{"version": "1"}')).status).toBe(400);
    expect((await post('/playground/api/rules/restore?scope=store', '{"version": 1}')).status).toBe(400);
    const current = await post('/playground/api/rules/restore?scope=default', '{"version": 3}');
    expect(current).toEqual({ status: 422, body: { ok: false, reason: 'current', message: 'Version 3 is the current version of default.', issues: [] } });
    expect((await post('/playground/api/rules/restore?scope=default', '{"version": 42}')).body).toMatchObject({ reason: 'not_found' });
    const history = (await (await fetch(`${service.url}/playground/api/rules/history?scope=default`)).json()) as { versions: { version: number }[] };
    expect(history.versions.map((v) => v.version)).toEqual([3, 2, 1]);
  });
});
