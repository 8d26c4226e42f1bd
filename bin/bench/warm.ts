/**
 * Part 1, warm callback overhead: address_update, shipping_option_update and validation through
 * the real middy handlers (the modules the Lambdas run), in process, with the rules already in
 * the container's cache, on orders of 1, 10, 100 and 1000 lines. The floor for the same request
 * is `JSON.parse` of its body plus `JSON.stringify` of the same answer (nothing for validation's
 * empty 200): work no handler can skip. Handler and floor samples alternate, so both meet the
 * same GC and CPU weather.
 */
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { CallbackName } from '../../functions/kco/handlers/kco-handler.js';
import type { UpdateResponse } from '../../functions/kco/order.js';
import { BENCH_TOKEN } from './environment.js';
import { addressUpdateBody, callbackEvent, lambdaContext, shippingOptionUpdateBody, validationBody } from './orders.js';
import { ratio, summarize, type Summary } from './stats.js';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export const WARM_CALLBACKS = ['address_update', 'shipping_option_update', 'validation'] as const satisfies readonly CallbackName[];
export const WARM_SIZES = [1, 10, 100, 1000] as const;

export type WarmRow = {
  readonly callback: CallbackName;
  /** Goods lines built from the seed line. */
  readonly lines: number;
  /** Lines in the request as sent (goods, plus our shipping fee line after address_update). */
  readonly requestLines: number;
  readonly requestBytes: number;
  readonly status: number;
  readonly handler: Summary;
  readonly floor: Summary;
  /** Median handler time / median floor time. */
  readonly ratio: number;
};

const ORDER_ID = 'bench-warm-order';

const loadHandlers = async (): Promise<Record<(typeof WARM_CALLBACKS)[number], Handler>> => ({
  address_update: (await import('../../functions/kco/handlers/address-update.js')).handler as unknown as Handler,
  shipping_option_update: (await import('../../functions/kco/handlers/shipping-option-update.js')).handler as unknown as Handler,
  validation: (await import('../../functions/kco/handlers/validation.js')).handler as unknown as Handler,
});

/** One call; throws unless Klarna would get `expected`. */
const call = async (handler: Handler, callback: CallbackName, body: string, context: Context, expected = 200): Promise<APIGatewayProxyResult> => {
  const answer = await handler(callbackEvent(callback, ORDER_ID, body, BENCH_TOKEN), context);
  if (answer.statusCode !== expected) {
    throw new Error(`${callback} answered ${answer.statusCode} (expected ${expected}): ${answer.body.slice(0, 300)}`);
  }
  return answer;
};

type Cell = { callback: CallbackName; lines: number; body: string; answer: APIGatewayProxyResult };

/** The three requests of one checkout of `lines` goods lines, each the answer to the one before. */
const checkout = async (handlers: Record<(typeof WARM_CALLBACKS)[number], Handler>, lines: number): Promise<Cell[]> => {
  const context = lambdaContext('bench');
  const first = addressUpdateBody(lines);
  const firstBody = JSON.stringify(first);
  const firstAnswer = await call(handlers.address_update, 'address_update', firstBody, context);
  const second = shippingOptionUpdateBody(first, JSON.parse(firstAnswer.body) as UpdateResponse, 'express');
  const secondBody = JSON.stringify(second);
  const secondAnswer = await call(handlers.shipping_option_update, 'shipping_option_update', secondBody, context);
  const third = validationBody(second, JSON.parse(secondAnswer.body) as UpdateResponse, ORDER_ID);
  const thirdBody = JSON.stringify(third);
  const thirdAnswer = await call(handlers.validation, 'validation', thirdBody, context);
  return [
    { callback: 'address_update', lines, body: firstBody, answer: firstAnswer },
    { callback: 'shipping_option_update', lines, body: secondBody, answer: secondAnswer },
    { callback: 'validation', lines, body: thirdBody, answer: thirdAnswer },
  ];
};

/** The request bodies of one accepted checkout of `lines` goods lines, by callback. */
export const checkoutBodies = async (lines: number): Promise<Record<(typeof WARM_CALLBACKS)[number], string>> => {
  const cells = await checkout(await loadHandlers(), lines);
  return Object.fromEntries(cells.map((cell) => [cell.callback, cell.body])) as Record<(typeof WARM_CALLBACKS)[number], string>;
};

let sink = 0;

const measureCell = async (
  handler: Handler,
  cell: Cell,
  budget: { minSamples: number; maxSamples: number; ms: number },
): Promise<WarmRow> => {
  const template = callbackEvent(cell.callback, ORDER_ID, cell.body, BENCH_TOKEN);
  const answerValue: unknown = cell.answer.body === '' ? undefined : JSON.parse(cell.answer.body);
  const floor = (): void => {
    const parsed = JSON.parse(cell.body) as { order_lines: unknown[] };
    sink += parsed.order_lines.length;
    if (answerValue !== undefined) sink += JSON.stringify(answerValue).length;
  };
  // middy's body parser replaces event.body: a fresh (shallow) event per call, made untimed.
  const fresh = (): APIGatewayProxyEvent => ({ ...template, headers: { ...template.headers } });
  const handlerTimes: number[] = [];
  const floorTimes: number[] = [];
  const once = async (record: boolean, handlerFirst: boolean): Promise<void> => {
    const event = fresh();
    // A context per invocation, as in Lambda: one context's 5 s budget would run out mid-cell.
    const context = lambdaContext('bench');
    let f = 0;
    if (!handlerFirst) {
      const t0 = performance.now();
      floor();
      f = performance.now() - t0;
    }
    const t1 = performance.now();
    const answer = await handler(event, context);
    const h = performance.now() - t1;
    if (handlerFirst) {
      const t2 = performance.now();
      floor();
      f = performance.now() - t2;
    }
    if (answer.statusCode !== cell.answer.statusCode) throw new Error(`${cell.callback} answered ${answer.statusCode} during the run`);
    if (record) {
      handlerTimes.push(h);
      floorTimes.push(f);
    }
  };
  // Warm up (JIT, caches), then measure.
  const warmupUntil = performance.now() + Math.min(300, budget.ms / 4);
  for (let i = 0; i < 20 || performance.now() < warmupUntil; i++) await once(false, i % 2 === 0);
  const started = performance.now();
  for (let i = 0; handlerTimes.length < budget.minSamples || (performance.now() - started < budget.ms && handlerTimes.length < budget.maxSamples); i++) {
    await once(true, i % 2 === 0);
  }
  const handlerSummary = summarize(handlerTimes);
  const floorSummary = summarize(floorTimes);
  return {
    callback: cell.callback,
    lines: cell.lines,
    requestLines: (JSON.parse(cell.body) as { order_lines: unknown[] }).order_lines.length,
    requestBytes: Buffer.byteLength(cell.body),
    status: cell.answer.statusCode,
    handler: handlerSummary,
    floor: floorSummary,
    ratio: ratio(handlerSummary.median, floorSummary.median),
  };
};

export const runWarm = async (
  options: { sizes?: readonly number[]; msPerCell?: number; progress?: (line: string) => void } = {},
): Promise<WarmRow[]> => {
  const handlers = await loadHandlers();
  const rows: WarmRow[] = [];
  for (const lines of options.sizes ?? WARM_SIZES) {
    const cells = await checkout(handlers, lines);
    for (const cell of cells) {
      const handler = handlers[cell.callback as (typeof WARM_CALLBACKS)[number]];
      const ms = (options.msPerCell ?? 1500) * (lines >= 1000 ? 2 : 1);
      const row = await measureCell(handler, cell, { minSamples: lines >= 1000 ? 150 : 300, maxSamples: 50_000, ms });
      options.progress?.(
        `  warm ${row.callback} ${row.lines} lines: median ${row.handler.median.toFixed(3)} ms, floor ${row.floor.median.toFixed(3)} ms (${row.ratio}×), n=${row.handler.n}`,
      );
      rows.push(row);
    }
  }
  if (sink < 0) throw new Error('unreachable');
  return rows;
};
