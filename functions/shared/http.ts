/**
 * The middy pieces every HTTP handler uses, in middy's fixed order: normalise headers → guard
 * (body size, and for KCO the callback token) → JSON body parser → handler → error mapping.
 * Nothing internal (stack, table name, raw error, request values) reaches the caller.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { intEnv } from './config.js';

export type HttpResult = APIGatewayProxyResult & { headers: Record<string, string> };

/**
 * Largest request body accepted, in bytes. An order Klarna allows can be large: 1000 lines with
 * every text field at its documented maximum is about 3.8 MB, so the default (6 MiB) only stops
 * what cannot be an order; a deployed function never sees more anyway, since Lambda refuses a
 * synchronous invocation whose event exceeds 6 MB.
 */
export const maxBodyBytes = (): number => intEnv('MAX_BODY_BYTES', 6 * 1024 * 1024, { min: 1024, max: 10 * 1024 * 1024 });

/** Body size in bytes as sent, without decoding a base64 body first. */
export const bodyBytes = (event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): number => {
  const body = event.body;
  if (!body) return 0;
  if (event.isBase64Encoded) return Math.floor((body.length * 3) / 4);
  return Buffer.byteLength(body, 'utf8');
};

/** JSON.parse reviver that drops prototype-polluting keys before anything can copy them. */
export const safeJsonReviver = (key: string, value: unknown): unknown =>
  key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value;

// One pass over the body: a third of the time of four `includes` on a 1000-line order.
const UNSAFE_KEY_TEXT = /__proto__|constructor|prototype|\\u/;

/**
 * Could JSON text hold a key `safeJsonReviver` drops? In JSON such a key is either written out
 * or spelled with a `\u` escape, so text with neither parses to the same value without it.
 */
export const mayHoldUnsafeKey = (text: string): boolean => UNSAFE_KEY_TEXT.test(text);

/**
 * Order JSON as KCO clients really write it: some write every absent field as `null` (a .NET
 * model, say), which Klarna's schema treats as absent. So a null-valued property is dropped like
 * a prototype key; a required field that is null is then missing, and refused as before.
 */
export const orderJsonReviver = (key: string, value: unknown): unknown => (value === null ? undefined : safeJsonReviver(key, value));

const UNSAFE_OR_NULL_TEXT = /__proto__|constructor|prototype|\\u|null/;

/** Could order JSON text hold a key `orderJsonReviver` drops: an unsafe key, or a null? */
export const mayHoldUnsafeKeyOrNull = (text: string): boolean => UNSAFE_OR_NULL_TEXT.test(text);

/**
 * middy's JSON body parser with a reviver. A reviver makes `JSON.parse` 3–4× slower (it is called
 * for every value of a 1000-line order), so it runs only when the body could hold what it drops;
 * otherwise the same parser runs without it. Same result, same errors. `dropNulls` takes
 * `orderJsonReviver` instead of `safeJsonReviver`.
 */
export const safeJsonBodyParser = <Event extends APIGatewayProxyEvent>(options: { dropNulls?: boolean } = {}): MiddlewareObj<Event> => {
  const plain = httpJsonBodyParser<Event>();
  const revived = httpJsonBodyParser<Event>({ reviver: options.dropNulls ? orderJsonReviver : safeJsonReviver });
  const mayNeedReviver = options.dropNulls ? mayHoldUnsafeKeyOrNull : mayHoldUnsafeKey;
  return {
    before: (request) => {
      const { body, isBase64Encoded } = request.event;
      const parser = !isBase64Encoded && typeof body === 'string' && !mayNeedReviver(body) ? plain : revived;
      return parser.before?.(request);
    },
  };
};

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Constant-time membership: every configured token is compared (fixed-length digests, so length
 * leaks nothing) and the loop never exits early.
 */
export const tokenMatches = (presented: string | undefined, accepted: readonly string[]): boolean => {
  if (presented === undefined || presented.length === 0 || presented.length > 512) return false;
  const candidate = digest(presented);
  let match = false;
  for (const token of accepted) {
    if (token.length > 0 && timingSafeEqual(candidate, digest(token))) match = true;
  }
  return match;
};

/** Is this error middy's JSON body parser refusing the body (bad JSON or content type)? */
export const isBodyParserError = (error: unknown): boolean => {
  const cause = (error as { cause?: { package?: unknown } } | undefined)?.cause;
  return cause?.package === '@middy/http-json-body-parser';
};
