/**
 * The orders table's stream → the shop's EventBridge bus. Each stream record becomes the events
 * `eventsForChange` derives from it, sent in the order of the stream. What EventBridge refuses
 * for a while (throttling, its own failures, the network) is reported as the batch's first failure
 * (partial batch response), so Lambda retries from that record on and nothing after it overtakes
 * it. What EventBridge refuses for good (an entry it will never take, whatever the retries) goes
 * to the dead-letter queue (REFUSED_EVENTS_QUEUE_URL, alarmed) and the records after it go on:
 * one bad entry never holds back the orders behind it. Delivery is at least once: consumers drop
 * repeats by (`order_id`, `sequence`, detail-type).
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { logger } from '../../shared/log.js';
import { EVENT_SOURCE, eventsForChange, type OrderEvent } from '../events.js';
import { eventBridgeBus, publishRecordEvents, sqsDeadLetters, type DeadLetters, type EventBus } from './bus-publishing.js';

// The bus port and its classification live in bus-publishing.ts (both stream publishers use them).
export { classify, classifyError, eventBridgeBus, sqsDeadLetters, type DeadLetters, type EntryResult, type EventBus, type RefusedEvent } from './bus-publishing.js';

const image = (value: Record<string, unknown> | undefined): unknown =>
  value ? unmarshall(value as Record<string, AttributeValue>) : undefined;

export const entriesFor = (events: readonly OrderEvent[], busName: string): PutEventsRequestEntry[] =>
  events.map((event) => ({
    Source: EVENT_SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    EventBusName: busName,
    Time: new Date(event.detail.occurred_at),
  }));

export const publishRecords = async (
  records: readonly DynamoDBRecord[],
  bus: EventBus,
  busName: string,
  deadLetters: DeadLetters,
): Promise<DynamoDBBatchResponse> => {
  for (const record of records) {
    const events = eventsForChange(image(record.dynamodb?.OldImage), image(record.dynamodb?.NewImage));
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    // PutEvents takes up to 10 entries; one change makes at most four.
    const entries = entriesFor(events, busName);
    const outgoing = events.map((event, i) => ({
      entry: entries[i] as PutEventsRequestEntry,
      key: { order_id: event.detail.order_id, detail_type: event.detailType, sequence: event.detail.sequence },
    }));
    if ((await publishRecordEvents(outgoing, sequenceNumber, bus, deadLetters, 'order')) === 'retry') return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
  }
  return { batchItemFailures: [] };
};

let bus: EventBus | undefined;
let deadLetters: DeadLetters | undefined;

export const handler = async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
  // Every line of the invocation carries this function's name and request id.
  if (context) logger.addContext(context);
  return publishRecords(event.Records, (bus ??= eventBridgeBus()), requireEnv('EVENT_BUS_NAME'), (deadLetters ??= sqsDeadLetters()));
};
