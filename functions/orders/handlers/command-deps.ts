/**
 * What the command functions (HTTP and EventBridge) are built from, read once per container: the
 * orders table (read only), the ledger table, the Order Management commands client, the bus for
 * `Command Refused` / `Command Failed` and the log (metrics: functions/shared/metrics.ts
 * countOrderCommand).
 */
import { intEnv, requireEnv } from '../../shared/config.js';
import { documentClient } from '../../shared/dynamodb.js';
import { describeError, logger } from '../../shared/log.js';
import { DynamoDbCommandLedgerStore } from '../command-ledger-store.js';
import type { CommandDeps } from '../commands/run.js';
import { createOrderCommandsClient, readOmConfig } from '../order-management.js';
import { DynamoDbOrdersStore } from '../orders-store.js';
import { eventBridgeBus, type EventBus } from './bus-publishing.js';
import { commandBusEntries } from './command-bus-entries.js';
import { reportedCredentialsMissing } from './credentials-missing.js';

const DAY_MS = 86_400_000;

export type CommandContext = CommandDeps & { readonly ledgerStore: DynamoDbCommandLedgerStore; readonly ordersStore: DynamoDbOrdersStore };

/** Read at cold start: a missing table or unusable Klarna configuration fails loudly on deploy. */
export const commandDeps = (bus: EventBus = eventBridgeBus()): CommandContext => {
  const client = documentClient();
  const ordersStore = new DynamoDbOrdersStore(client, requireEnv('ORDERS_TABLE'));
  const ledgerStore = new DynamoDbCommandLedgerStore(client, requireEnv('ORDER_LEDGER_TABLE'), intEnv('ORDERS_RETENTION_DAYS', 90, { min: 1, max: 3650 }) * DAY_MS);
  const busName = requireEnv('EVENT_BUS_NAME');
  return {
    orders: ordersStore,
    ordersStore,
    ledger: ledgerStore,
    ledgerStore,
    klarna: createOrderCommandsClient(readOmConfig()),
    // A refusal or failure is answered whether or not its event could be published.
    publish: async (event) => {
      try {
        const failed = (await bus.put(commandBusEntries(event, busName))).filter((result) => result.kind !== 'ok').length;
        if (failed > 0) logger.warn('command event not published', { step: 'command_event_failed', order_id: event.detail.order_id, detail_type: event.detailType });
      } catch (error) {
        logger.warn('command event not published', { step: 'command_event_failed', order_id: event.detail.order_id, detail_type: event.detailType, ...describeError(error) });
      }
    },
    now: Date.now,
    log: (step, fields) => {
      if (reportedCredentialsMissing(fields?.failure, step, fields)) return;
      logger.info('order command step', { step, ...fields });
    },
  };
};
