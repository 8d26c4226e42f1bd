/**
 * Part 5, hostile text: the largest order, its every text field at Klarna's maximum length, once
 * with ordinary text and once with text written against the address rules (runs of spaces, of
 * "p ." pairs that open a PO-box keyword and never finish it, zero-width characters every other
 * letter, fullwidth forms, keyword beginnings over and over). Validation and address_update run
 * both, alternating. Hostile text is longer in bytes (fullwidth letters take three) and slower to
 * parse as JSON (V8 keeps non-Latin-1 strings two bytes a character), so each body's own
 * `JSON.parse` is timed beside it and the ratio compares the work beyond that floor: about 1
 * means hostile text costs what its length costs.
 */
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { BENCH_TOKEN } from './environment.js';
import { callbackEvent, lambdaContext } from './orders.js';
import { ratio, summarize, type Summary } from './stats.js';
import { checkoutBodies } from './warm.js';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export type HostileRow = {
  readonly callback: 'address_update' | 'validation';
  readonly bytes: { readonly ordinary: number; readonly hostile: number };
  readonly ordinary: Summary;
  readonly hostile: Summary;
  /** JSON.parse of each body alone. */
  readonly parse: { readonly ordinary: Summary; readonly hostile: Summary };
  /** (median hostile − its parse) / (median ordinary − its parse): our work on each. */
  readonly ratio: number;
};

const ORDER_ID = 'bench-warm-order';
const ADDRESS_FIELDS = ['street_address', 'street_address2', 'care_of', 'city'] as const;

/** `length` characters of `unit` repeated. */
const fill = (unit: string, length: number): string => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

const hostileTexts = [' ', 'p .', 'P\u200bO\u00ad', 'ＰＯＳＴ ', 'post office ', 'pob '];
// Ordinary text of the same kind, one for one: ASCII where the hostile text is ASCII, and
// characters outside Latin-1 (which V8 stores two bytes each) where it has them.
const ordinaryTexts = ['Storgatan ', 'Main St ', 'Bjørn’s Way ', '港区六本木 ', 'high street ', 'park '];

/** Every address field and line text at its maximum, ordinary or hostile, same lengths. */
const inflate = (body: string, hostile: boolean): string => {
  const order = JSON.parse(body) as { order_lines: Record<string, unknown>[]; billing_address: Record<string, unknown>; shipping_address: Record<string, unknown> };
  const text = (i: number, length: number): string => fill((hostile ? hostileTexts : ordinaryTexts)[i % hostileTexts.length]!, length);
  for (const address of [order.billing_address, order.shipping_address]) {
    ADDRESS_FIELDS.forEach((field, i) => {
      // The first word stays a street so that the order is still deliverable, then the flood.
      address[field] = `Storgatan 3 ${text(i, 988)}`;
    });
    address.region = text(7, 100);
  }
  order.order_lines.forEach((line, i) => {
    if (line.type === 'shipping_fee') return;
    line.name = text(i, 255);
    line.merchant_data = text(i + 1, 1024);
  });
  return JSON.stringify(order);
};

const measure = async (handler: Handler, callback: HostileRow['callback'], bodies: { ordinary: string; hostile: string }, samples: number): Promise<HostileRow> => {
  const times = { ordinary: [] as number[], hostile: [] as number[] };
  const parseTimes = { ordinary: [] as number[], hostile: [] as number[] };
  let sink = 0;
  const once = async (kind: 'ordinary' | 'hostile', record: boolean): Promise<void> => {
    const event = callbackEvent(callback, ORDER_ID, bodies[kind], BENCH_TOKEN);
    // A context per invocation, as in Lambda: one context's 5 s budget would run out mid-run.
    const context: Context = lambdaContext('bench');
    const t0 = performance.now();
    const answer = await handler(event, context);
    const elapsed = performance.now() - t0;
    if (answer.statusCode !== 200) throw new Error(`${callback} answered ${answer.statusCode} for the ${kind} order: ${answer.body.slice(0, 200)}`);
    const t1 = performance.now();
    sink += (JSON.parse(bodies[kind]) as { order_lines: unknown[] }).order_lines.length;
    const parsed = performance.now() - t1;
    if (record) {
      times[kind].push(elapsed);
      parseTimes[kind].push(parsed);
    }
  };
  for (let i = 0; i < 10; i++) await once(i % 2 === 0 ? 'ordinary' : 'hostile', false);
  for (let i = 0; i < samples; i++) {
    // Alternate which goes first, so both meet the same GC and CPU weather.
    const [a, b] = i % 2 === 0 ? (['ordinary', 'hostile'] as const) : (['hostile', 'ordinary'] as const);
    await once(a, true);
    await once(b, true);
  }
  if (sink < 0) throw new Error('unreachable');
  const ordinary = summarize(times.ordinary);
  const hostile = summarize(times.hostile);
  const parse = { ordinary: summarize(parseTimes.ordinary), hostile: summarize(parseTimes.hostile) };
  return {
    callback,
    bytes: { ordinary: Buffer.byteLength(bodies.ordinary), hostile: Buffer.byteLength(bodies.hostile) },
    ordinary,
    hostile,
    parse,
    ratio: ratio(hostile.median - parse.hostile.median, ordinary.median - parse.ordinary.median),
  };
};

export const runHostile = async (options: { samples?: number; progress?: (line: string) => void } = {}): Promise<HostileRow[]> => {
  const base = await checkoutBodies(1000);
  const handlers: Record<HostileRow['callback'], Handler> = {
    address_update: (await import('../../functions/kco/handlers/address-update.js')).handler as unknown as Handler,
    validation: (await import('../../functions/kco/handlers/validation.js')).handler as unknown as Handler,
  };
  const rows: HostileRow[] = [];
  for (const callback of ['address_update', 'validation'] as const) {
    const source = callback === 'validation' ? base.validation : base.address_update;
    const row = await measure(handlers[callback], callback, { ordinary: inflate(source, false), hostile: inflate(source, true) }, options.samples ?? 100);
    options.progress?.(
      `  hostile ${callback}: ordinary ${row.ordinary.median.toFixed(2)} ms (parse ${row.parse.ordinary.median.toFixed(2)}), hostile ${row.hostile.median.toFixed(2)} ms (parse ${row.parse.hostile.median.toFixed(2)}): ${row.ratio}× beyond the parse`,
    );
    rows.push(row);
  }
  return rows;
};
