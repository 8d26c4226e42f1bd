/**
 * The same commands from the stack's EventBridge bus: detail-types `Capture Order`,
 * `Refund Order`, `Cancel Order`, `Release Authorization`, `Extend Authorization`, the detail
 * being the HTTP body plus `order_id`. The same use case as the HTTP routes, so an event and a
 * call with the same command_id book once. A command Klarna could not take within the retries
 * throws: Lambda retries the event (asynchronous invocation, twice), then it goes to the
 * dead-letter queue, which is alarmed.
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { logger } from '../../shared/log.js';
import { countOrderCommand } from '../../shared/metrics.js';
import { commandDetailTypes, parseCommand } from '../commands/command.js';
import { commandEventTypes } from '../commands/ports.js';
import { runCommand, type CommandOutcome } from '../commands/run.js';
import { prefetchOmCredentials } from '../order-management.js';
import { commandDeps, type CommandContext } from './command-deps.js';
import { ORDER_ID, deadlineFor } from './deps.js';

export class CommandNotTakenError extends Error {}

export const commandEventHandler = (deps: () => CommandContext = commandDeps) => {
  prefetchOmCredentials();
  let resolved: CommandContext | undefined;
  return async (event: EventBridgeEvent<string, unknown>, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<CommandOutcome | { status: 400; outcome: 'refused'; reason: 'invalid_command' }> => {
    resolved ??= deps();
    const kind = commandDetailTypes[event['detail-type']];
    const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as Record<string, unknown>;
    const { order_id: orderId, ...body } = detail;
    const parsed =
      kind === undefined || typeof orderId !== 'string' || !ORDER_ID.test(orderId)
        ? ({ ok: false, reason: 'invalid_command', message: kind === undefined ? 'detail-type: not a command' : 'order_id: invalid' } as const)
        : parseCommand(kind, orderId, body);
    if (!parsed.ok) {
      logger.warn('order command event refused', { step: 'command_refused', reason: parsed.reason, detail_type: event['detail-type'], event_id: event.id });
      await resolved.publish({
        detailType: commandEventTypes.refused,
        detail: {
          schema_version: 1,
          order_id: typeof orderId === 'string' && ORDER_ID.test(orderId) ? orderId : 'unknown',
          occurred_at: new Date(resolved.now()).toISOString(),
          ...(typeof body.command_id === 'string' && body.command_id.length <= 128 ? { command_id: body.command_id } : {}),
          ...(kind ? { command: kind } : {}),
          reason: parsed.reason,
          message: parsed.message,
        },
      });
      countOrderCommand(kind ?? 'unknown', 'invalid');
      return { status: 400, outcome: 'refused', reason: 'invalid_command' };
    }
    const outcome = await runCommand(parsed.command, resolved, deadlineFor(context, resolved.now()));
    logger.info('order command event handled', { order_id: orderId, command: kind, status: outcome.status, outcome: outcome.outcome, ...(outcome.reason ? { reason: outcome.reason } : {}) });
    countOrderCommand(kind ?? 'unknown', outcome.outcome);
    // Failed (Klarna unreachable): let Lambda retry the event with the same command id.
    if (outcome.outcome === 'failed') throw new CommandNotTakenError(`command not taken by Klarna: ${String(outcome.reason)}`);
    return outcome;
  };
};

export const handler = commandEventHandler();
