/**
 * The checkout playground in a real browser: Debian's chromium driven by puppeteer-core, against
 * the local service started in-process (DynamoDB Local, the example rules, the local OSM stand-in)
 * exactly as `npm start` starts it. Every wait is bounded by puppeteer's own timeout; nothing
 * asserts a duration.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Page } from 'puppeteer-core';
import type { LocalService } from '../../bin/local/start.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { getRules } from '../../functions/shared/rules-store.js';
import exampleRules from '../../bin/local/example-rules.json';
import { openPlayground, type PlaygroundPage } from '../support/playground-page.js';

jest.setTimeout(60_000);

const WAIT = { timeout: 20_000 };
const prefix = `browser-${randomUUID().slice(0, 8)}`;

let playground: PlaygroundPage;
let service: LocalService;
let page: Page;

beforeAll(async () => {
  // The reason codes come from the callbacks' INFO log lines (kept off the test output).
  playground = await openPlayground({ tablePrefix: prefix, wait: WAIT, logLevel: 'INFO' });
  ({ service, page } = playground);
});

afterAll(() => playground?.stop());

afterEach(() => {
  expect(playground.pageErrors).toEqual([]);
});

const textOf = (selector: string): Promise<string> => page.$eval(selector, (e) => e.textContent ?? '');

/** Type into a field after clearing it, as a shopper would. */
const retype = async (selector: string, value: string): Promise<void> => {
  await page.click(selector, { count: 3 });
  await page.keyboard.press('Backspace');
  if (value) await page.type(selector, value);
};

/** Wait for the next callback answer and read its fields. */
const nextAnswer = async (count: number): Promise<Record<string, string>> => {
  await page.waitForFunction((n) => document.querySelectorAll('#results > li').length === n, WAIT, count);
  return page.$eval('#results > li:first-child', (li) => {
    const out: Record<string, string> = { title: li.querySelector('h4')?.textContent ?? '' };
    for (const dd of li.querySelectorAll('[data-field]')) out[(dd as HTMLElement).dataset.field ?? ''] = dd.textContent ?? '';
    return out;
  });
};
const answers = (): Promise<number> => page.$$eval('#results > li', (items) => items.length);
const optionLabels = (): Promise<string[]> => page.$$eval('#shipping-option-list label', (labels) => labels.map((l) => l.textContent ?? ''));

const pickOrder = async (key: string): Promise<void> => {
  await page.select('#order-pick', key);
};

describe('the checkout playground', () => {
  it('serves the page with every control labelled and both kinds of example order', async () => {
    const unlabelled = await page.$$eval('input, select, textarea', (controls) =>
      controls
        .filter((c) => c.getAttribute('type') !== 'radio' && !c.closest('label'))
        .filter((c) => !document.querySelector(`label[for="${c.id}"]`) && !c.getAttribute('aria-label'))
        .map((c) => c.id || c.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    const groups = await page.$$eval('#order-pick optgroup', (gs) => gs.map((g) => [g.label, g.querySelectorAll('option').length]));
    expect(groups).toEqual([
      ['Ours (fit the example rules)', 4],
      ["Klarna's examples (callback reference)", 2],
    ]);
    // The rules form has one field per property of the schema `npm run rules -- schema` prints.
    const fields = await page.$$eval('#rules-fields label', (labels) => labels.map((l) => l.textContent));
    expect(fields).toEqual(expect.arrayContaining(['shipping_countries', 'block_po_boxes', 'shipping_options', 'tax', 'min_order_amount', 'error_texts']));
  });

  it('changing the address from Stockholm to Berlin brings the shipping options the rules give Germany', async () => {
    await pickOrder('se-tshirt');
    const before = await answers();
    await page.click('#address-form button[type="submit"]');
    const sweden = await nextAnswer(before + 1);
    expect(sweden.title).toBe('address_update → 200');
    expect(sweden.before).toBe('199.00 SEK (19900), tax 39.80 SEK (3980)');
    expect(sweden.after).toBe('248.00 SEK (24800), tax 49.60 SEK (4960)'); // + standard delivery 49.00 at 25 %
    expect(await optionLabels()).toEqual([
      'Standard delivery (standard): 2-4 business days, 49.00 SEK (4900)',
      'Express delivery (express): Next business day, 99.00 SEK (9900)',
      'Pickup point (pickup-point): Collect at a pickup point near you, 29.00 SEK (2900)',
    ]);

    await retype('#address-street', 'Teststraße 5');
    await retype('#address-postal', '10117');
    await retype('#address-city', 'Berlin');
    await retype('#address-country', 'DE');
    await page.keyboard.press('Enter'); // submits the address form from its last field
    const germany = await nextAnswer(before + 2);
    expect(germany.title).toBe('address_update → 200');
    expect(germany.reason).toBe('—');
    // German VAT (19 %) on the shirt and on shipping; the pickup point is offered in Sweden only.
    expect(germany.after).toBe('248.00 SEK (24800), tax 39.59 SEK (3959)');
    expect(await optionLabels()).toEqual([
      'Standard delivery (standard): 2-4 business days, 49.00 SEK (4900)',
      'Express delivery (express): Next business day, 99.00 SEK (9900)',
    ]);
    expect(await page.$eval('#shipping-option-0', (r) => (r as HTMLInputElement).checked)).toBe(true);
  });

  it('choosing another shipping option with the keyboard sends shipping_option_update and reprices', async () => {
    const before = await answers();
    await page.focus('#shipping-option-0');
    await page.keyboard.press('ArrowDown');
    const answer = await nextAnswer(before + 1);
    expect(answer.title).toBe('shipping_option_update → 200');
    expect(answer.after).toBe('298.00 SEK (29800), tax 47.58 SEK (4758)');
    expect(await page.$eval('#shipping-option-1', (r) => (r as HTMLInputElement).checked)).toBe(true);
  });

  it('a PO box is refused with address_error, the text the shopper reads and the reason code', async () => {
    await pickOrder('se-tshirt');
    const before = await answers();
    await retype('#address-street', 'Box 123');
    await page.click('#address-form button[type="submit"]');
    const answer = await nextAnswer(before + 1);
    expect(answer.title).toBe('address_update → 400');
    expect(answer['error-type']).toBe('address_error');
    expect(answer['error-text']).toBe('We cannot deliver to a post-office box. Please enter a street address.');
    expect(answer.reason).toBe('po_box');
    expect(answer.decision).toBe('refuse');
    expect(answer.after).toBe('unchanged');
  });

  it('validation of the order whose rules expect 448.00 approves at that amount, says why it denies otherwise, and shows a redirect', async () => {
    await pickOrder('example-order-1');
    const start = await answers();
    await page.click('#address-form button[type="submit"]');
    expect((await nextAnswer(start + 1)).after).toBe('448.00 SEK (44800), tax 89.60 SEK (8960)');
    await page.click('#validate');
    expect((await nextAnswer(start + 2)).title).toBe('validation → 200');

    await page.focus('#shipping-option-0');
    await page.keyboard.press('ArrowDown'); // express: 498.00
    await nextAnswer(start + 3);
    await page.click('#validate');
    const denied = await nextAnswer(start + 4);
    expect(denied.title).toBe('validation → 400');
    expect(denied.reason).toBe('expected_amount_mismatch');
    expect(denied['error-type']).toBe('approval_failed');

    // A deny page in this order's rules turns the denial into a redirect that names the reason.
    await page.select('#rules-scope', 'order');
    await page.waitForFunction(() => document.getElementById('rules-stored')?.textContent?.startsWith('Stored for order#example-order-1'), WAIT);
    await retype('#rules-field-deny_redirect_url', 'https://shop.example/denied');
    await page.click('#rules-save');
    await page.waitForFunction(() => document.getElementById('rules-status')?.textContent?.startsWith('Saved'), WAIT);
    await page.click('#validate');
    const redirected = await nextAnswer(start + 5);
    expect(redirected.title).toBe('validation → 303');
    expect(redirected.location).toMatch(/^https:\/\/shop\.example\/denied\?/);
    expect(new URL(redirected.location ?? '').searchParams.get('reason')).toBe('expected_amount_mismatch');
    expect(redirected.reason).toBe('expected_amount_mismatch');
    expect(redirected['error-text']).toBeUndefined();
    await page.select('#rules-scope', 'default');
  });

  it('shows a pasted order as text: markup in it is never parsed', async () => {
    const order = {
      order_amount: 1000,
      order_tax_amount: 200,
      purchase_currency: 'SEK',
      order_lines: [{ name: '<img src=x id=injected onerror="document.title=1">', quantity: 1, unit_price: 1000, tax_rate: 2500, total_amount: 1000, total_tax_amount: 200 }],
    };
    await page.click('details:has(#order-paste) summary');
    await page.click('#order-paste-use'); // still empty: refused
    expect(await textOf('#order-paste-error')).toMatch(/^Not a JSON object/);
    await page.$eval('#order-paste', (t, value) => ((t as HTMLTextAreaElement).value = value), JSON.stringify(order));
    await page.click('#order-paste-use');
    expect(await textOf('#order-lines tbody td:nth-child(3)')).toBe(order.order_lines[0]!.name);
    expect(await page.$('#injected')).toBeNull();
  });

  it('a bad rules edit shows the schema error at its field and nothing is saved', async () => {
    await page.select('#rules-scope', 'default');
    await page.click('#rules-reload');
    await page.waitForFunction(() => (document.getElementById('rules-field-min_order_amount') as HTMLInputElement).value === '100', WAIT);
    await retype('#rules-field-min_order_amount', '-5');
    await page.$eval('#rules-field-shipping_options', (t) => {
      const area = t as HTMLTextAreaElement;
      area.value = area.value.replace('"price": 4900', '"price": "free"');
    });
    await page.click('#rules-save');
    await page.waitForFunction(() => document.getElementById('rules-status')?.textContent?.startsWith('Not saved'), WAIT);
    expect(await textOf('#rules-status')).toBe('Not saved: 2 problem(s).');
    expect(await textOf('#rules-field-min_order_amount-error')).toBe('must be at least 0');
    expect(await textOf('#rules-field-shipping_options-error')).toBe('shipping_options[0].price: expected number');
    expect(await page.$eval('#rules-field-min_order_amount', (i) => i.getAttribute('aria-invalid'))).toBe('true');
    expect(await textOf('#rules-field-tax-error')).toBe('');

    const client = createDocumentClient(service.endpoint);
    try {
      const stored = await getRules(client, `${prefix}-rules`, 'default');
      expect(stored?.document).toEqual(exampleRules);
      expect(stored?.updatedBy).toBe('npm start (example)');
    } finally {
      client.destroy();
    }
  });

  it('a valid edit is saved to the local DynamoDB, as the rules tool writes it, and the callbacks use it', async () => {
    await page.click('#rules-reload');
    await page.waitForFunction(() => (document.getElementById('rules-field-min_order_amount') as HTMLInputElement).value === '100', WAIT);
    await page.select('#rules-field-block_po_boxes', 'false');
    await page.click('#rules-save');
    await page.waitForFunction(() => document.getElementById('rules-status')?.textContent?.startsWith('Saved'), WAIT);
    const client = createDocumentClient(service.endpoint);
    try {
      const stored = await getRules(client, `${prefix}-rules`, 'default');
      expect(stored?.document).toEqual({ ...exampleRules, block_po_boxes: false });
      expect(stored?.updatedBy).toBe('playground');
    } finally {
      client.destroy();
    }
    await pickOrder('se-tshirt');
    const before = await answers();
    await retype('#address-street', 'Box 123');
    await page.click('#address-form button[type="submit"]');
    expect((await nextAnswer(before + 1)).title).toBe('address_update → 200');
  });

  it('previews On-site messaging for an amount: the badge, the data and x-cache', async () => {
    const badge = async (): Promise<string> => {
      const frame = await (await page.$('#osm-preview'))?.contentFrame();
      return frame ? frame.$eval('body', (b) => b.textContent ?? '') : '';
    };
    await page.waitForFunction(() => document.getElementById('osm-status')?.textContent === '200', WAIT); // 12900, on load
    await retype('#osm-amount', '40000');
    await page.waitForFunction(() => document.getElementById('osm-data')?.textContent?.includes('"purchase_amount": 40000'), WAIT);
    expect(await textOf('#osm-cache')).toBe('miss');
    expect(await badge()).toContain('Make 4 payments of $100.00. No fees.');
    expect(await page.$eval('#osm-preview', (f) => f.getAttribute('sandbox'))).toBe('');

    await retype('#osm-amount', '12900');
    await page.waitForFunction(() => document.getElementById('osm-data')?.textContent?.includes('"purchase_amount": 12900'), WAIT);
    expect(await badge()).toContain('Make 4 payments of $32.25. No fees.');

    // Back to 40000: the local OSM route serves it from its cache now (the stand-in allows 60 s).
    await retype('#osm-amount', '40000');
    await page.waitForFunction(() => document.getElementById('osm-data')?.textContent?.includes('"purchase_amount": 40000'), WAIT);
    expect(await textOf('#osm-cache')).toBe('hit');
    expect(await badge()).toContain('Make 4 payments of $100.00. No fees.');
  });
});

describe('the playground API answers only its own page', () => {
  /** node:http, so the test can send the Host header a rebinding DNS name would carry. */
  const call = (path: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    new Promise<{ status: number; body: string }>((resolveCall, reject) => {
      const url = new URL(path, service.url);
      const req = httpRequest(url, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveCall({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const json = { 'content-type': 'application/json' };
  const validDocument = JSON.stringify({ document: { block_po_boxes: true } });

  it('refuses another Host (DNS rebinding), another Origin and a body that is not declared JSON, writing nothing', async () => {
    const host = new URL(service.url).host;
    expect((await call('/playground/api/orders', { headers: { host: `rebound.example:${host.split(':')[1]}` } })).status).toBe(403);
    const crossOrigin = await call('/playground/api/rules?scope=order%23api-test', { method: 'PUT', headers: { ...json, origin: 'https://evil.example' }, body: validDocument });
    expect(crossOrigin.status).toBe(403);
    const formPost = await call('/playground/api/rules?scope=order%23api-test', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: validDocument });
    expect(formPost.status).toBe(403);
    const client = createDocumentClient(service.endpoint);
    try {
      expect(await getRules(client, `${prefix}-rules`, 'order#api-test')).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('answers 400 for a bad scope or body, and 422 with the issues for an invalid document', async () => {
    expect((await call('/playground/api/rules?scope=store', { method: 'PUT', headers: json, body: validDocument })).status).toBe(400);
    expect((await call('/playground/api/rules?scope=default', { method: 'PUT', headers: json, body: '{' })).status).toBe(400);
    expect((await call('/playground/api/callbacks/validation', { method: 'POST', headers: json, body: '{"order": {}}' })).status).toBe(400);
    const invalid = await call('/playground/api/rules?scope=order%23api-test', { method: 'PUT', headers: json, body: JSON.stringify({ document: { max_quantity_per_line: 0, colour: 'red' } }) });
    expect(invalid.status).toBe(422);
    expect(JSON.parse(invalid.body)).toEqual({
      ok: false,
      issues: [
        { scope: 'order#api-test', path: 'max_quantity_per_line', message: 'must be at least 1' },
        { scope: 'order#api-test', path: '(document)', message: 'unknown field(s): colour' },
      ],
    });
  });

  it('never hands the callback token to the page', async () => {
    for (const path of ['/', '/playground/app.js', '/playground/api/orders']) {
      expect((await call(path)).body).not.toContain(service.token);
    }
  });
});
