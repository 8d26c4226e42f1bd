/**
 * The ledger table's stream → the shop's EventBridge bus: each booked command (a new
 * `command#…` item) carries its event (`Order Captured`, `Order Refunded`, `Order Cancelled`,
 * `Authorization Released`, `Authorization Extended`), published in the stream's order. A record
 * that could not be published is the batch's first failure, so Lambda retries from it. At least
 * once: consumers drop repeats by (`order_id`, `command_id`, detail-type).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { describeError, logger } from '../../shared/log.js';
import type { CommandEvent } from '../commands/ports.js';
import { commandBusEntries } from './command-deps.js';
import { eventBridgeBus, type EventBus } from './publish-events.js';

/** The event a stream record carries: only the INSERT of a booked command that has one. */
export const eventOfRecord = (record: DynamoDBRecord): CommandEvent | undefined => {
  if (record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) return undefined;
  const item = unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) as { entry?: unknown; event?: CommandEvent };
  return typeof item.entry === 'string' && item.entry.startsWith('command#') && item.event ? item.event : undefined;
};

export const publishCommandRecords = async (records: readonly DynamoDBRecord[], bus: EventBus, busName: string): Promise<DynamoDBBatchResponse> => {
  for (const record of records) {
    const event = eventOfRecord(record);
    if (!event) continue;
    let result: { kind: string; code?: string };
    try {
      result = (await bus.put(commandBusEntries(event, busName)))[0] ?? { kind: 'retry', code: 'no_result' };
    } catch (error) {
      logger.error('command event not published', { step: 'events_failed', order_id: event.detail.order_id, ...describeError(error) });
      result = { kind: 'retry', code: 'error' };
    }
    // Throttling or an internal error: retry from this record, so nothing after it overtakes it.
    if (result.kind === 'retry') return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
    if (result.kind === 'refused') {
      // Refused for good (EventBridge will never take it): holding the shard would stop every
      // booking's event after it. The booking itself is in the ledger (GET /orders/{order_id}).
      logger.error('command event refused by EventBridge', { step: 'event_refused', order_id: event.detail.order_id, detail_type: event.detailType, command_id: event.detail.command_id, code: result.code });
      continue;
    }
    logger.info('command event published', { step: 'event_published', order_id: event.detail.order_id, detail_type: event.detailType, command_id: event.detail.command_id });
  }
  return { batchItemFailures: [] };
};

let bus: EventBus | undefined;

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> =>
  publishCommandRecords(event.Records, (bus ??= eventBridgeBus()), requireEnv('EVENT_BUS_NAME'));
