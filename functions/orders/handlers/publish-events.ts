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
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { optionalEnv, requireEnv } from '../../shared/config.js';
import { describeError, logger } from '../../shared/log.js';
import { EVENT_SOURCE, eventsForChange, type OrderEvent } from '../events.js';

/** One entry's fate: put, refused for now (retry), or refused for good (dead letter). */
export type EntryResult = { kind: 'ok' } | { kind: 'retry'; code: string } | { kind: 'refused'; code: string };

/** The port: put entries on the bus; one result per entry, in order. */
export type EventBus = { put(entries: PutEventsRequestEntry[]): Promise<EntryResult[]> };

/** The port: keep an event EventBridge refused for good, for an operator. Throws when it cannot. */
export type DeadLetters = { send(letter: RefusedEvent): Promise<void> };

/** What the dead-letter queue holds: the entry as it was to be put, and why it was refused. */
export type RefusedEvent = {
  reason: string;
  order_id: string;
  detail_type: string;
  sequence: number;
  stream_sequence_number: string;
  entry: PutEventsRequestEntry;
};

/** EventBridge's codes for a failure that passes: anything else is refused for good. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'InternalFailure',
  'InternalException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'LimitExceededException',
]);

export const classify = (code: string | undefined): EntryResult =>
  code === undefined ? { kind: 'ok' } : TRANSIENT_CODES.has(code) ? { kind: 'retry', code } : { kind: 'refused', code };

/** A whole request failing: refused for good only when EventBridge says the request itself is wrong. */
export const classifyError = (error: unknown): EntryResult => {
  const { name, $fault } = (error ?? {}) as { name?: string; $fault?: string };
  if ($fault === 'client' && name !== undefined && !TRANSIENT_CODES.has(name)) return { kind: 'refused', code: name };
  return { kind: 'retry', code: name ?? 'unknown' };
};

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
    if (events.length === 0) continue;
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    const retryFromHere = { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
    const orderId = events[0]?.detail.order_id;
    const entries = entriesFor(events, busName);
    let results: EntryResult[];
    try {
      // PutEvents takes up to 10 entries; one change makes at most four.
      results = await bus.put(entries);
    } catch (error) {
      const verdict = classifyError(error);
      logger.warn('order events not published', { step: 'events_failed', order_id: orderId, outcome: verdict.kind, ...describeError(error) });
      results = entries.map(() => verdict);
    }
    const retrying = results.filter((r) => r.kind === 'retry').length;
    if (retrying > 0) {
      logger.warn('order events will be retried', { step: 'events_retry', order_id: orderId, failed: retrying });
      return retryFromHere;
    }
    for (const [i, result] of results.entries()) {
      const event = events[i];
      const entry = entries[i];
      if (!event || !entry) continue;
      if (result.kind === 'refused') {
        try {
          await deadLetters.send({
            reason: result.code,
            order_id: event.detail.order_id,
            detail_type: event.detailType,
            sequence: event.detail.sequence,
            stream_sequence_number: sequenceNumber,
            entry,
          });
        } catch (error) {
          // Not kept anywhere yet: retry the record rather than lose the event.
          logger.error('refused order event not dead-lettered', { step: 'events_dead_letter_failed', order_id: event.detail.order_id, ...describeError(error) });
          return retryFromHere;
        }
        logger.error('order event refused by EventBridge, dead-lettered', {
          step: 'event_refused',
          order_id: event.detail.order_id,
          detail_type: event.detailType,
          sequence: event.detail.sequence,
          reason: result.code,
        });
        continue;
      }
      logger.info('order event published', { step: 'event_published', order_id: event.detail.order_id, detail_type: event.detailType, sequence: event.detail.sequence });
    }
  }
  return { batchItemFailures: [] };
};

const localClientConfig = (endpoint: string) => ({
  endpoint,
  region: process.env.AWS_REGION ?? 'eu-north-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

/** EventBridge, or the loopback stand-in at EVENTBRIDGE_ENDPOINT (npm start, tests). */
export const eventBridgeBus = (endpoint = optionalEnv('EVENTBRIDGE_ENDPOINT')): EventBus => {
  const client = new EventBridgeClient({ maxAttempts: 3, ...(endpoint ? localClientConfig(endpoint) : {}) });
  return {
    put: async (entries) => {
      const output = await client.send(new PutEventsCommand({ Entries: entries }));
      return entries.map((_, i) => classify(output.Entries?.[i]?.ErrorCode ?? undefined));
    },
  };
};

/** The SQS queue at REFUSED_EVENTS_QUEUE_URL, or its loopback stand-in at SQS_ENDPOINT. */
export const sqsDeadLetters = (queueUrl = requireEnv('REFUSED_EVENTS_QUEUE_URL'), endpoint = optionalEnv('SQS_ENDPOINT')): DeadLetters => {
  const client = new SQSClient({ maxAttempts: 3, ...(endpoint ? localClientConfig(endpoint) : {}) });
  return {
    send: async (letter) => {
      // The detail can be up to 256 KB and an SQS message too: a letter over it keeps the head of
      // the detail; the order id and sequence say which change to re-read from the table.
      const body = JSON.stringify(letter);
      const fitted = Buffer.byteLength(body, 'utf8') <= 250_000 ? body : JSON.stringify({ ...letter, entry: { ...letter.entry, Detail: letter.entry.Detail?.slice(0, 100_000) }, truncated: true });
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: fitted }));
    },
  };
};

let bus: EventBus | undefined;
let deadLetters: DeadLetters | undefined;

export const handler = async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
  // Every line of the invocation carries this function's name and request id.
  if (context) logger.addContext(context);
  return publishRecords(event.Records, (bus ??= eventBridgeBus()), requireEnv('EVENT_BUS_NAME'), (deadLetters ??= sqsDeadLetters()));
};
