/**
 * The one wrapper all four KCO callback Lambdas share: middy stack, token check, body limit,
 * schema, rules lookup, the pure use case, Klarna's answer and one log line per call.
 * Fail closed everywhere: anything unexpected denies validation and refuses an update.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { bodyBytes, isBodyParserError, maxBodyBytes, safeJsonBodyParser, tokenMatches } from '../../shared/http.js';
import { describeError, lambdaContextLogging, logger } from '../../shared/log.js';
import { callbackDecisionCounter } from '../../shared/metrics.js';
import { NOT_JSON_TEXT, UNAUTHORIZED_TEXT } from '../../shared/refusal-texts.js';
import { rulesSource, type RulesLookup, type RulesSource } from '../../shared/rules-store.js';
import { callbackTokens, callbackTokensPending, prefetchCallbackTokens } from '../../shared/secrets.js';
import { JSON_HEADERS, approved, denyPurchase, errorText, refuseUpdate, rejected, tooLarge, updated, type HttpAnswer } from '../answer.js';
import type { Outcome } from '../callbacks.js';
import { safeParse, type FastParser } from '../fast-parse.js';
import { firstIssuePath } from '../order.js';
import { orderScope, orderScopeRefusal, reasonCodes, type MerchantRules, type ReasonCode } from '../rules.js';

const countCallbackDecision = callbackDecisionCounter(reasonCodes);

export type CallbackName = 'address_update' | 'country_change' | 'shipping_option_update' | 'validation';

type CallbackSpec<Body> = {
  callback: CallbackName;
  parser: FastParser<Body>;
  decide: (body: Body, rules: MerchantRules) => Outcome;
  /** Where rules come from; the container's DynamoDB source unless a test passes another. */
  rules?: () => RulesSource;
};

// Klarna's order ids are UUIDs; accept any URL-safe id but nothing that could smuggle text into logs.
const ORDER_ID = /^[A-Za-z0-9._~-]{1,128}$/;

type Logged = { decision: 'update' | 'approve' | 'deny' | 'refuse' | 'reject' | 'unauthorized' | 'error'; reason?: string; line?: number; body_bytes?: number; limit_bytes?: number };

// Not a decision about the order: the caller is not Klarna (or not configured), so no Klarna shape.
const unauthorized = (): HttpAnswer => ({ statusCode: 401, headers: { ...JSON_HEADERS }, body: JSON.stringify({ error: UNAUTHORIZED_TEXT }) });

const LOOKUP_FAILURES: Record<Exclude<RulesLookup['status'], 'ok'>, ReasonCode> = {
  missing: 'rules_missing',
  invalid: 'rules_invalid',
  unavailable: 'rules_unavailable',
};

const answerFor = (callback: CallbackName, outcome: Outcome, orderId: string, rules: MerchantRules | undefined): HttpAnswer => {
  switch (outcome.kind) {
    case 'update':
      return updated(outcome.body);
    case 'approve':
      return approved();
    case 'deny':
      return denyPurchase(outcome.reason, orderId, rules);
    case 'refuse':
      return callback === 'validation' ? denyPurchase(outcome.reason, orderId, rules) : refuseUpdate(outcome.reason, rules);
  }
};

/**
 * When we cannot decide (bad body, rules missing or broken, a fault) every callback answers 400
 * approval_failed: validation denies, updates refuse. No redirect: without rules there is no page.
 */
const failClosed = (reason: ReasonCode, text?: string): HttpAnswer => rejected('approval_failed', text ?? errorText(reason, undefined));

export const kcoCallback = <Body>(spec: CallbackSpec<Body>) => {
  const { callback, parser, decide } = spec;
  prefetchCallbackTokens();
  const source = spec.rules ?? rulesSource;

  const log = (started: number, orderId: string | undefined, status: number, logged: Logged): void => {
    const entry = { callback, order_id: orderId, status, duration_ms: Date.now() - started, ...logged };
    if (logged.decision === 'error' || logged.decision === 'reject') logger.warn('callback answered', entry);
    else logger.info('callback answered', entry);
    countCallbackDecision(callback, logged.decision, logged.reason);
  };

  // Rules lookups started while a cold container waited for its tokens, by event (see `before`).
  const earlyLookups = new WeakMap<APIGatewayProxyEvent, Promise<RulesLookup>>();

  const core = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const started = Date.now();
    const orderId = event.pathParameters?.order_id ?? '';
    const parsed = safeParse(parser, event.body);
    if (!parsed.success) {
      const path = firstIssuePath(parsed.error);
      const answer = failClosed('invalid_request', `The order could not be read: ${path} is missing or invalid.`);
      log(started, orderId, answer.statusCode, { decision: 'reject', reason: 'invalid_request' });
      logger.warn('request failed schema', { callback, order_id: orderId, path, code: parsed.error.issues[0]?.code });
      return answer;
    }
    const lookup = await (earlyLookups.get(event) ?? source().rulesFor(orderId));
    if (lookup.status !== 'ok') {
      const reason = LOOKUP_FAILURES[lookup.status];
      const answer = failClosed(reason);
      log(started, orderId, answer.statusCode, { decision: 'error', reason });
      return answer;
    }
    const unknown = orderScopeRefusal(lookup.rules, lookup.scopesFound.includes(orderScope(orderId)));
    const outcome: Outcome = unknown ? { kind: callback === 'validation' ? 'deny' : 'refuse', reason: unknown } : decide(parsed.data, lookup.rules);
    const answer = answerFor(callback, outcome, orderId, lookup.rules);
    log(started, orderId, answer.statusCode, {
      decision: outcome.kind,
      ...('reason' in outcome ? { reason: outcome.reason } : {}),
      ...('line' in outcome && outcome.line !== undefined ? { line: outcome.line } : {}),
    });
    return answer;
  };

  const limit = maxBodyBytes();
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>(core, { timeoutEarlyInMillis: 0 })
    // First: every line of the invocation carries this function's name and request id.
    .use(lambdaContextLogging())
    .use(httpHeaderNormalizer())
    .use({
      // Guard before any parsing: a wrong token costs no JSON parse, and no DynamoDB read once the
      // container knows its tokens.
      before: async (request) => {
        const started = Date.now();
        const orderId = request.event.pathParameters?.order_id ?? '';
        const token = request.event.queryStringParameters?.token;
        // A cold container whose tokens are in Secrets Manager reads the rules while it waits for
        // them: the two round trips overlap. The lookup is used only after the token matched; a
        // wrong token is answered 401 whatever it found (and costs at most this one read, once
        // per container).
        if (callbackTokensPending() && ORDER_ID.test(orderId)) {
          const early = source().rulesFor(orderId);
          early.catch(() => undefined);
          earlyLookups.set(request.event, early);
        }
        const tokens = await callbackTokens().catch((error: unknown) => {
          logger.error('callback tokens unavailable', { callback, ...describeError(error) });
          return undefined;
        });
        if (tokens === undefined) {
          // The token cannot be checked: Klarna's refusal (400), not a claim that it is wrong (401).
          log(started, undefined, 400, { decision: 'error', reason: 'tokens_unavailable' });
          return failClosed('internal_error');
        }
        if (!tokenMatches(token, tokens)) {
          log(started, ORDER_ID.test(orderId) ? orderId : undefined, 401, { decision: 'unauthorized' });
          return unauthorized();
        }
        if (!ORDER_ID.test(orderId)) {
          log(started, undefined, 400, { decision: 'reject', reason: 'invalid_request' });
          return failClosed('invalid_request', 'The order id in the callback URL is invalid.');
        }
        const size = bodyBytes(request.event);
        if (size > limit) {
          log(started, orderId, 400, { decision: 'reject', reason: 'invalid_request', body_bytes: size, limit_bytes: limit });
          return tooLarge();
        }
        return undefined;
      },
    })
    .use(safeJsonBodyParser({ dropNulls: true }))
    .use({
      onError: (request) => {
        const orderId = request.event.pathParameters?.order_id;
        const safeOrderId = orderId && ORDER_ID.test(orderId) ? orderId : '';
        if (isBodyParserError(request.error)) {
          const answer = failClosed('invalid_request', NOT_JSON_TEXT);
          log(Date.now(), safeOrderId, answer.statusCode, { decision: 'reject', reason: 'invalid_request' });
          request.response = answer;
          return;
        }
        logger.error('callback failed', { callback, order_id: safeOrderId, ...describeError(request.error) });
        const answer = failClosed('internal_error');
        log(Date.now(), safeOrderId, answer.statusCode, { decision: 'error', reason: 'internal_error' });
        request.response = answer;
      },
    });
  return handler;
};
