/**
 * Personal data never reaches a log line: Klarna's full example payloads (and variants that fail
 * in every way we know) go through every callback handler while stdout and stderr are captured;
 * none of the shopper's values, nor the callback token, may appear in what was written.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { kcoCallbackEvent, lambdaContext } from '../../bin/local/server.js';
import { startKcoCallbacks, type KcoCallbacks, type KcoHandlers } from '../support/kco-handlers.js';
import type { CallbackName } from '../../functions/kco/handlers/kco-handler.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { logger } from '../../functions/shared/log.js';


const TOKEN = 'very-secret-callback-token-4711';
const seed = (name: string): Record<string, unknown> => JSON.parse(readFileSync(`test/fixtures/seed/${name}.json`, 'utf8')) as Record<string, unknown>;

// Every personal value in Klarna's examples: names, email, phone, street, postal code, city,
// care-of, date of birth, organisation number; and the names and emails inside `attachment`.
const PERSONAL_VALUES = [
  'John', 'Doe', 'john@doe.com', '333444555', 'Lombard St', 'Apt 214', '90210', 'Beverly Hills', 'C/O',
  '1995-10-20', '556737-0431', 'jonas.larlsson@klarna.com', 'Adamson', 'Storgatan 3', '113 35',
  TOKEN,
];

let callbacks: KcoCallbacks;
let handlers: KcoHandlers;
// A fresh context per invocation, as Lambda gives: its remaining time counts down from the call.
const context = () => lambdaContext('personal-data');

const event = (callback: string, orderId: string, body: string, token = TOKEN, contentType = 'application/json') =>
  kcoCallbackEvent(callback, orderId, body, { token, headers: { 'content-type': contentType } });

beforeAll(async () => {
  // Rules the seed's US order fits (VAT-style 10% as in Klarna's example), a store that refuses
  // it, and a broken document (written around the rules store, which would refuse it).
  callbacks = await startKcoCallbacks({
    tablePrefix: 'pii-rules',
    token: TOKEN,
    cacheSeconds: 0,
    rules: [
      ['default', { tax: { mode: 'vat', rates: { US: 1000 } }, block_po_boxes: true }],
      ['order#refusing', { shipping_countries: ['SE'], billing_countries: ['SE'] }],
    ],
  });
  ({ handlers } = callbacks);
  const client = createDocumentClient(callbacks.dynamo.endpoint);
  await client.send(new PutCommand({ TableName: callbacks.table, Item: { scope: 'order#broken', tax: { mode: 'vat', rates: { US: 'John Doe' } } } }));
  client.destroy();
}, 60_000);

afterAll(() => callbacks?.stop());

it('no personal value and no token appears in any log line, whatever the outcome', async () => {
  const requests: [CallbackName, Record<string, unknown>][] = [
    ['address_update', seed('address-update.request')],
    ['country_change', seed('country-change.request')],
    ['shipping_option_update', seed('shipping-option-update.request')],
    ['validation', seed('validation.order')],
  ];
  const written: string[] = [];
  const capture = (stream: NodeJS.WriteStream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  const stdout = capture(process.stdout);
  const stderr = capture(process.stderr);
  logger.setLogLevel('DEBUG');
  const statuses: number[] = [];
  try {
    for (const [callback, body] of requests) {
      const json = JSON.stringify(body);
      const poBox = JSON.stringify({ ...body, shipping_address: { ...(body.shipping_address as object), street_address: 'PO Box 12, John Doe' } });
      const badField = JSON.stringify({ ...body, order_lines: [{ name: 'John Doe john@doe.com', quantity: 'many' }] });
      const variants: APIGatewayProxyEvent[] = [
        event(callback, 'seed-order', json),
        event(callback, 'refusing', json),
        event(callback, 'broken', json),
        event(callback, 'seed-order', poBox),
        event(callback, 'seed-order', badField),
        event(callback, 'seed-order', `${json.slice(0, 200)} john@doe.com 333444555`),
        event(callback, 'seed-order', json, 'wrong-token'),
        event(callback, 'seed-order', json, TOKEN, 'text/plain'),
      ];
      for (const variant of variants) statuses.push((await handlers[callback]!(variant, context())).statusCode);
    }
  } finally {
    logger.setLogLevel('SILENT');
    stdout.mockRestore();
    stderr.mockRestore();
  }
  // The handlers did run and log every outcome: 200s, refusals, rules errors, 401s.
  expect(statuses).toEqual(expect.arrayContaining([200, 400, 401]));
  const log = written.join('');
  expect(log).toContain('"callback":"validation"');
  expect(log).toContain('"reason":"shipping_country_not_allowed"');
  expect(log).toContain('"reason":"rules_invalid"');
  for (const value of PERSONAL_VALUES) expect({ value, found: log.toLowerCase().includes(value.toLowerCase()) }).toEqual({ value, found: false });
});
