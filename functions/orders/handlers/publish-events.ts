/**
 * The orders table's stream → the shop's EventBridge bus. Each stream record becomes the events
 * `eventsForChange` derives from it, sent in the order of the stream; a record whose events could
 * not all be put is reported as the batch's first failure, so Lambda retries from that record on
 * and nothing after it overtakes it. Delivery is at least once: consumers drop repeats by
 * (`order_id`, `sequence`, detail-type).
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { optionalEnv, requireEnv } from '../../shared/config.js';
import { describeError, logger } from '../../shared/log.js';
import { EVENT_SOURCE, eventsForChange, type OrderEvent } from '../events.js';

/** The port: put entries on the bus, answer how many failed. */
export type EventBus = { put(entries: PutEventsRequestEntry[]): Promise<{ failed: number }> };

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

export const publishRecords = async (records: readonly DynamoDBRecord[], bus: EventBus, busName: string): Promise<DynamoDBBatchResponse> => {
  for (const record of records) {
    const events = eventsForChange(image(record.dynamodb?.OldImage), image(record.dynamodb?.NewImage));
    if (events.length === 0) continue;
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    let failed: number;
    try {
      // PutEvents takes up to 10 entries; one change makes at most two.
      failed = (await bus.put(entriesFor(events, busName))).failed;
    } catch (error) {
      logger.error('order events not published', { step: 'events_failed', order_id: events[0]?.detail.order_id, ...describeError(error) });
      failed = events.length;
    }
    if (failed > 0) {
      logger.warn('order events will be retried', { step: 'events_retry', order_id: events[0]?.detail.order_id, failed });
      return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
    }
    for (const event of events) {
      logger.info('order event published', { step: 'event_published', order_id: event.detail.order_id, detail_type: event.detailType, sequence: event.detail.sequence });
    }
  }
  return { batchItemFailures: [] };
};

/** EventBridge, or the loopback stand-in at EVENTBRIDGE_ENDPOINT (npm start, tests). */
export const eventBridgeBus = (endpoint = optionalEnv('EVENTBRIDGE_ENDPOINT')): EventBus => {
  const client = new EventBridgeClient({
    maxAttempts: 3,
    ...(endpoint
      ? { endpoint, region: process.env.AWS_REGION ?? 'eu-north-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return {
    put: async (entries) => ({ failed: (await client.send(new PutEventsCommand({ Entries: entries }))).FailedEntryCount ?? 0 }),
  };
};

let bus: EventBus | undefined;

export const handler = async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
  // Every line of the invocation carries this function's name and request id.
  if (context) logger.addContext(context);
  return publishRecords(event.Records, (bus ??= eventBridgeBus()), requireEnv('EVENT_BUS_NAME'));
};
