/**
 * The ledger table's stream → the shop's EventBridge bus: each booked command (a new
 * `command#…` item) carries its event (`Order Captured`, `Order Refunded`, `Order Cancelled`,
 * `Authorization Released`, `Authorization Extended`), published in the stream's order, as the
 * order events are (bus-publishing.ts): refused for a while → the batch's first failure, so Lambda
 * retries from it; refused for good → the dead-letter queue (REFUSED_EVENTS_QUEUE_URL:
 * CommandEventsRefusedQueue, alarmed) and the records after it go on. At least once: consumers
 * drop repeats by (`order_id`, `command_id`, detail-type).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { CommandEvent } from '../commands/ports.js';
import { commandBusEntries } from './command-bus-entries.js';
import { streamPublisherHandler, type Outgoing } from './bus-publishing.js';

/** The event a stream record carries: only the INSERT of a booked command that has one. */
const eventOfRecord = (record: DynamoDBRecord): CommandEvent | undefined => {
  if (record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) return undefined;
  const item = unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) as { entry?: unknown; event?: CommandEvent };
  return typeof item.entry === 'string' && item.entry.startsWith('command#') && item.event ? item.event : undefined;
};

/** A booked command's event; nothing for any other ledger change. */
const commandEventsOfRecord = (record: DynamoDBRecord, busName: string): Outgoing[] => {
  const event = eventOfRecord(record);
  if (!event) return [];
  const key = { order_id: event.detail.order_id, detail_type: event.detailType, command_id: event.detail.command_id };
  // The booking itself is in the ledger (GET /orders/{order_id}) whatever happens to its event.
  return commandBusEntries(event, busName).map((entry) => ({ entry, key }));
};

export const handler = streamPublisherHandler('command', commandEventsOfRecord);
