/**
 * Putting a stream record's events on the shop's EventBridge bus, shared by both stream
 * publishers (publish-events.ts: the orders table; publish-command-events.ts: the ledger table),
 * whose handlers `streamPublisherHandler` makes: they differ only in which events a record carries.
 * What EventBridge refuses for a while (throttling, its own failures, the network) makes Lambda
 * retry from the record (partial batch response), so nothing after it overtakes it. What it refuses
 * for good (an entry it will never take, whatever the retries) goes to the dead-letter queue
 * (REFUSED_EVENTS_QUEUE_URL, alarmed) and the records after it go on; when the queue cannot take
 * the letter either, the record is retried rather than the event lost.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { optionalEnv, requireEnv } from '../../shared/config.js';
import { describeError, logger } from '../../shared/log.js';

/** One entry's fate: put, refused for now (retry), or refused for good (dead letter). */
export type EntryResult = { kind: 'ok' } | { kind: 'retry'; code: string } | { kind: 'refused'; code: string };

/** The port: put entries on the bus; one result per entry, in order. */
export type EventBus = { put(entries: PutEventsRequestEntry[]): Promise<EntryResult[]> };

/** The port: keep an event EventBridge refused for good, for an operator. Throws when it cannot. */
export type DeadLetters = { send(letter: RefusedEvent): Promise<void> };

/** What identifies an event in the logs and its letter: order events say `sequence`, command events `command_id`. */
export type EventKey = { order_id: string; detail_type: string; sequence?: number; command_id?: string };

/** What the dead-letter queue holds: the entry as it was to be put, which event it is, and why it was refused. */
export type RefusedEvent = EventKey & { reason: string; stream_sequence_number: string; entry: PutEventsRequestEntry };

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

/** One event of a record: its entry and its key. */
export type Outgoing = { entry: PutEventsRequestEntry; key: EventKey };

/**
 * Puts one stream record's events (at most 10: one PutEvents) and dead-letters what is refused for
 * good. 'retry' when Lambda must retry from this record (report it as the batch's first failure).
 * `kind` names the events in the logs ('order', 'command').
 */
export const publishRecordEvents = async (
  outgoing: readonly Outgoing[],
  streamSequenceNumber: string,
  bus: EventBus,
  deadLetters: DeadLetters,
  kind: string,
): Promise<'done' | 'retry'> => {
  if (outgoing.length === 0) return 'done';
  const orderId = outgoing[0]?.key.order_id;
  const entries = outgoing.map((o) => o.entry);
  let results: EntryResult[];
  try {
    results = await bus.put(entries);
  } catch (error) {
    const verdict = classifyError(error);
    logger.warn(`${kind} events not published`, { step: 'events_failed', order_id: orderId, outcome: verdict.kind, ...describeError(error) });
    results = entries.map(() => verdict);
  }
  const retrying = outgoing.filter((_, i) => (results[i] ?? { kind: 'retry' }).kind === 'retry').length;
  if (retrying > 0) {
    logger.warn(`${kind} events will be retried`, { step: 'events_retry', order_id: orderId, failed: retrying });
    return 'retry';
  }
  for (const [i, { entry, key }] of outgoing.entries()) {
    const result = results[i];
    if (result?.kind === 'refused') {
      try {
        await deadLetters.send({ reason: result.code, ...key, stream_sequence_number: streamSequenceNumber, entry });
      } catch (error) {
        // Not kept anywhere yet: retry the record rather than lose the event.
        logger.error(`refused ${kind} event not dead-lettered`, { step: 'events_dead_letter_failed', ...key, ...describeError(error) });
        return 'retry';
      }
      logger.error(`${kind} event refused by EventBridge, dead-lettered`, { step: 'event_refused', ...key, reason: result.code });
      continue;
    }
    logger.info(`${kind} event published`, { step: 'event_published', ...key });
  }
  return 'done';
};

/** The events one stream record carries, as entries for the bus named `busName`: none when it carries none. */
export type RecordEvents = (record: DynamoDBRecord, busName: string) => readonly Outgoing[];

/**
 * A stream publisher's Lambda handler. It publishes a batch's records in the stream's order; at
 * the first record to retry it stops and reports that record as the batch's first failure, so
 * Lambda retries from it and nothing overtakes it. The bus (EVENT_BUS_NAME) and dead-letter queue
 * (REFUSED_EVENTS_QUEUE_URL) clients are made at the first invocation and kept for the container.
 */
export const streamPublisherHandler = (kind: string, eventsOf: RecordEvents): ((event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse>) => {
  let bus: EventBus | undefined;
  let deadLetters: DeadLetters | undefined;
  return async (event, context) => {
    // Every line of the invocation carries this function's name and request id.
    if (context) logger.addContext(context);
    bus ??= eventBridgeBus();
    const busName = requireEnv('EVENT_BUS_NAME');
    deadLetters ??= sqsDeadLetters();
    for (const record of event.Records) {
      const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
      if ((await publishRecordEvents(eventsOf(record, busName), sequenceNumber, bus, deadLetters, kind)) === 'retry') return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
    }
    return { batchItemFailures: [] };
  };
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
      // the detail; the order id and sequence (or command id) say which change to re-read.
      const body = JSON.stringify(letter);
      const fitted = Buffer.byteLength(body, 'utf8') <= 250_000 ? body : JSON.stringify({ ...letter, entry: { ...letter.entry, Detail: letter.entry.Detail?.slice(0, 100_000) }, truncated: true });
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: fitted }));
    },
  };
};
