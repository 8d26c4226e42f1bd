/**
 * The shop's command routes (lib/routes.ts, IAM-authorized when deployed):
 * `POST /orders/{order_id}/captures | refunds | cancel | release | extend`,
 * `POST /orders/{order_id}/captures/{capture_id}/shipping-info` and `GET /orders/{order_id}`.
 * Thin: the route gives the command kind, the body is checked, `runCommand` does the rest; the
 * answer is the use case's (201 / 200, or 400 / 404 / 409 / 503 `{reason, message}`).
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { safeJsonReviver } from '../../shared/http.js';
import { countOrderCommand } from '../../shared/metrics.js';
import { describeError, lambdaContextLogging, logger } from '../../shared/log.js';
import { parseCommand, type CommandKind } from '../commands/command.js';
import { runCommand } from '../commands/run.js';
import { viewOf } from '../commands/view.js';
import { prefetchOmCredentials } from '../order-management.js';
import { commandDeps, type CommandContext } from './command-deps.js';
import { ORDER_ID, deadlineFor } from './deps.js';

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** The route's last segments → the command. */
const kindOf = (resource: string): CommandKind | 'view' | undefined => {
  if (resource.endsWith('/shipping-info')) return 'shipping_info';
  const last = resource.split('/').at(-1);
  switch (last) {
    case 'captures':
      return 'capture';
    case 'refunds':
      return 'refund';
    case 'cancel':
    case 'release':
    case 'extend':
      return last;
    case '{order_id}':
      return 'view';
    default:
      return undefined;
  }
};

const MAX_COMMAND_BYTES = 1024 * 1024;

const bodyOf = (event: APIGatewayProxyEvent): unknown | 'invalid' => {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (text.length > MAX_COMMAND_BYTES) return 'invalid';
  try {
    return JSON.parse(text, safeJsonReviver);
  } catch {
    return 'invalid';
  }
};

export const commandHttpHandler = (deps: () => CommandContext = commandDeps) => {
  prefetchOmCredentials();
  let resolved: CommandContext | undefined;

  const core = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const started = Date.now();
    const orderId = event.pathParameters?.order_id ?? '';
    const kind = kindOf(event.resource ?? '');
    const answered = (status: number, fields: Record<string, unknown>): void =>
      logger.info('order command answered', { order_id: ORDER_ID.test(orderId) ? orderId : undefined, command: kind, status, duration_ms: Date.now() - started, ...fields });
    if (kind === undefined) {
      answered(404, { reason: 'unknown_route' });
      return json(404, { reason: 'unknown_route', message: 'No such route.' });
    }
    if (!ORDER_ID.test(orderId)) {
      answered(400, { reason: 'invalid_command' });
      return json(400, { reason: 'invalid_command', message: 'order_id: invalid' });
    }
    resolved ??= deps();
    if (kind === 'view') {
      const order = await resolved.ordersStore.get(orderId);
      if (!order) {
        answered(404, { reason: 'unknown_order' });
        return json(404, { reason: 'unknown_order', message: 'No order with this id has been recorded.' });
      }
      const [ledger, entries] = await Promise.all([resolved.ledgerStore.ledger(orderId), resolved.ledgerStore.entries(orderId)]);
      answered(200, {});
      return json(200, viewOf(order, ledger, entries, resolved.now()));
    }
    const body = bodyOf(event);
    const parsed = body === 'invalid' ? ({ ok: false, reason: 'invalid_command', message: 'body: not a JSON object' } as const) : parseCommand(kind, orderId, body, event.pathParameters?.capture_id);
    if (!parsed.ok) {
      answered(400, { reason: parsed.reason });
      countOrderCommand(kind, 'invalid');
      return json(400, { reason: parsed.reason, message: parsed.message });
    }
    const outcome = await runCommand(parsed.command, resolved, deadlineFor(context, resolved.now()));
    answered(outcome.status, { outcome: outcome.outcome, ...(outcome.reason ? { reason: outcome.reason } : {}) });
    countOrderCommand(kind, outcome.outcome);
    return json(outcome.status, outcome.body);
  };

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>(core, { timeoutEarlyInMillis: 0 })
    .use(lambdaContextLogging())
    .use(httpHeaderNormalizer())
    .use({
      onError: (request) => {
        logger.error('order command failed', { command: kindOf(request.event.resource ?? ''), ...describeError(request.error) });
        request.response = json(503, { reason: 'klarna_unavailable', message: 'The command could not be carried out now; repeat it with the same command_id.' });
      },
    });
};

export const handler = commandHttpHandler();
