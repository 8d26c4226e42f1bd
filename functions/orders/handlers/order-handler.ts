/**
 * The one wrapper the push and notification Lambdas share: the callbacks' token check, the order
 * id from the URL, one pass of `processOrder` within the function's time, and a short JSON
 * answer. Klarna's push carries no body and the notification's body is not trusted (the order is
 * re-read from Klarna), so nothing in the body decides anything.
 *
 * The work is done within the request: a failure answers 503 and Klarna's own retries (until the
 * order is acknowledged, for 48 hours) are the queue; the sweeper covers an order recorded but
 * not acknowledged in between.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { tokenMatches } from '../../shared/http.js';
import { describeError, lambdaContextLogging, logger } from '../../shared/log.js';
import { countOrderStep, type OrderOutcome } from '../../shared/metrics.js';
import { callbackTokens, prefetchCallbackTokens } from '../../shared/secrets.js';
import { fraudStatusClaimedBy } from '../lifecycle.js';
import { prefetchOmCredentials } from '../order-management.js';
import { processOrder, type ProcessDeps, type ProcessOutcome, type Trigger } from '../process.js';
import { ORDER_ID, deadlineFor, defaultDeps } from './deps.js';

const json = (statusCode: number, body: unknown): APIGatewayProxyResult & { headers: Record<string, string> } => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** What Klarna gets back. Klarna pushes again until the order is acknowledged, whatever we answer. */
export const answerFor = (orderId: string, outcome: ProcessOutcome): APIGatewayProxyResult => {
  switch (outcome.kind) {
    case 'acknowledged':
      return json(200, { order_id: orderId, status: 'acknowledged' });
    case 'needs_review':
      return json(200, { order_id: orderId, status: 'needs_review' });
    case 'in_progress':
      return json(202, { order_id: orderId, status: 'recorded' });
    case 'unknown_order':
      return json(404, { error: 'Unknown order' });
    case 'retry':
      return json(503, { error: 'The order could not be processed now; it will be on the next attempt.' });
  }
};

/** How a push or notification ended, as OrderStep{step=push|notification}'s outcome. */
const metricOutcome: Readonly<Record<ProcessOutcome['kind'], OrderOutcome>> = {
  acknowledged: 'ok',
  needs_review: 'ok',
  in_progress: 'skipped',
  unknown_order: 'error',
  retry: 'retry',
};

/** An abort by the pass's deadline (orders-store.ts), in any of the names the SDK gives it. */
const ranOutOfTime = (error: unknown): boolean => {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'AbortError' || name === 'DeadlineExceeded' || name === 'TimeoutError';
};

const NOTIFICATION_EVENTS = new Set(['FRAUD_RISK_ACCEPTED', 'FRAUD_RISK_REJECTED', 'FRAUD_RISK_STOPPED']);

/** The notification's event_type, for the log only: a known value or `unknown`. */
const eventTypeOf = (body: string | null): string => {
  if (!body || body.length > 10_000) return 'none';
  try {
    const value = (JSON.parse(body) as { event_type?: unknown }).event_type;
    return typeof value === 'string' && NOTIFICATION_EVENTS.has(value) ? value : 'unknown';
  } catch {
    return 'unknown';
  }
};

export const orderHandler = (trigger: Exclude<Trigger, 'sweep'>, deps: () => ProcessDeps = defaultDeps) => {
  // Both secrets are read from the start of a cold container, side by side (secrets.ts). Should the
  // extension not answer that early, the first request starts both again, still side by side.
  prefetchCallbackTokens();
  prefetchOmCredentials();
  let omCredentialsRequested = false;
  let resolved: ProcessDeps | undefined;
  const log = (orderId: string | undefined, status: number, fields: Record<string, unknown>, started: number): void =>
    logger.info('order request answered', { trigger, order_id: orderId, status, duration_ms: Date.now() - started, ...fields });

  const core = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const started = Date.now();
    const orderId = event.pathParameters?.order_id ?? '';
    resolved ??= deps();
    const stepDeps: ProcessDeps = { ...resolved, log: (step, fields) => resolved?.log(step, { order_id: orderId, ...fields }) };
    const eventType = trigger === 'notification' ? eventTypeOf(event.body) : undefined;
    // The token authenticates the notification: its stop or rejection is applied (never an acceptance).
    const outcome = await processOrder(orderId, trigger, deadlineFor(context, resolved.now()), stepDeps, { claimedFraudStatus: fraudStatusClaimedBy(eventType) });
    const answer = answerFor(orderId, outcome);
    countOrderStep(trigger, metricOutcome[outcome.kind]);
    log(orderId, answer.statusCode, { outcome: outcome.kind, ...(eventType === undefined ? {} : { event_type: eventType }) }, started);
    return answer;
  };

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>(core, { timeoutEarlyInMillis: 0 })
    // First: every line of the invocation carries this function's name and request id.
    .use(lambdaContextLogging())
    .use(httpHeaderNormalizer())
    .use({
      before: async (request) => {
        const started = Date.now();
        const orderId = request.event.pathParameters?.order_id ?? '';
        if (!omCredentialsRequested) {
          omCredentialsRequested = true;
          prefetchOmCredentials();
        }
        if (!tokenMatches(request.event.queryStringParameters?.token, await callbackTokens())) {
          log(ORDER_ID.test(orderId) ? orderId : undefined, 401, { outcome: 'unauthorized' }, started);
          return json(401, { error: 'Unauthorized' });
        }
        if (!ORDER_ID.test(orderId)) {
          log(undefined, 400, { outcome: 'invalid_order_id' }, started);
          return json(400, { error: 'The order id in the URL is invalid.' });
        }
        return undefined;
      },
      onError: (request) => {
        const orderId = request.event.pathParameters?.order_id;
        const fields = { trigger, order_id: orderId && ORDER_ID.test(orderId) ? orderId : undefined, ...describeError(request.error) };
        if (ranOutOfTime(request.error)) {
          // A DynamoDB call the pass's deadline aborted: the next attempt goes on, as after Klarna failing.
          logger.warn('order request ran out of time', { ...fields, outcome: 'retry', reason: 'deadline' });
          countOrderStep(trigger, 'retry');
        } else {
          logger.error('order request failed', fields);
          countOrderStep(trigger, 'error');
        }
        request.response = answerFor(orderId ?? '', { kind: 'retry', step: 'read', reason: 'internal_error' });
      },
    });
};
