/**
 * The playground's orders panel in a real browser (Debian's chromium through puppeteer-core),
 * against the local service as `npm start` starts it: push the example order, see it recorded,
 * capture some units, refund, release, and see the totals, the captures and the events published.
 * Every wait is bounded by puppeteer's own timeout; nothing asserts a duration.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'puppeteer-core';
import { openPlayground, type PlaygroundPage } from '../support/playground-page.js';

jest.setTimeout(90_000);

const WAIT = { timeout: 30_000 };

let playground: PlaygroundPage;
let page: Page;

beforeAll(async () => {
  playground = await openPlayground({ tablePrefix: `orders-panel-${randomUUID().slice(0, 8)}`, wait: WAIT, viewport: { width: 1400, height: 1400 } });
  ({ page } = playground);
});

afterAll(() => playground?.stop());

afterEach(() => {
  expect(playground.pageErrors).toEqual([]);
});

const textOf = (selector: string): Promise<string> => page.$eval(selector, (e) => e.textContent ?? '');
const answerAfter = async (button: string, route: string): Promise<string> => {
  await page.$eval('#command-answer', (e) => (e.textContent = ''));
  await page.click(button);
  await page.waitForFunction((r) => (document.querySelector('#command-answer')?.textContent ?? '').startsWith(`${r} →`), WAIT, route);
  return textOf('#command-answer');
};

describe('the orders panel', () => {
  it('pushes the example order, captures one unit with the shipping fee, refunds it, releases the rest, and shows the events', async () => {
    const orderId = await page.$eval('#orders-push-id', (e) => (e as HTMLInputElement).value);
    expect(orderId).toBe('example-order-1');
    await page.click('#orders-push');
    await page.waitForSelector(`#orders-list button[data-order-id="${orderId}"]`, WAIT);
    await page.waitForFunction(() => document.querySelector('#order-status')?.textContent === 'acknowledged, fraud ACCEPTED', WAIT);
    expect(await textOf('#order-may-ship')).toBe('true');
    expect(await textOf('#order-remaining')).toBe('448.00 SEK (44800)');

    // One T-shirt of two: 199.50, and the 49.00 delivery goes with the first capture.
    await page.$eval('input[data-reference="TSHIRT-1"]', (e) => ((e as HTMLInputElement).value = '1'));
    expect(await answerAfter('#cmd-capture-lines', 'captures')).toContain('captures → 201');
    expect(await textOf('#order-captured')).toBe('248.50 SEK (24850)');
    expect(await textOf('#order-remaining')).toBe('199.50 SEK (19950)');
    expect(await page.$$eval('#order-captures li', (items) => items.length)).toBe(1);

    expect(await answerAfter('#cmd-cancel', 'cancel')).toContain('409 has_captures');

    await page.$eval('input[data-reference="TSHIRT-1"]', (e) => ((e as HTMLInputElement).value = '1'));
    expect(await answerAfter('#cmd-refund-lines', 'refunds')).toContain('refunds → 201');
    expect(await textOf('#order-refunded')).toBe('199.50 SEK (19950)');

    expect(await answerAfter('#cmd-release', 'release')).toContain('release → 200');
    expect(await textOf('#order-remaining')).toBe('0.00 SEK (0)');

    await page.waitForFunction(
      () => ['Order Captured', 'Order Refunded', 'Authorization Released', 'Command Refused (has_captures)'].every((t) => [...document.querySelectorAll('#order-events li')].some((li) => li.textContent === t)),
      WAIT,
    );
    const events = await page.$$eval('#order-events li', (items) => items.map((li) => li.textContent));
    expect(events).toEqual(expect.arrayContaining(['Order Recorded', 'Order Acknowledged', 'Order Captured', 'Order Refunded', 'Authorization Released']));
  });
});
