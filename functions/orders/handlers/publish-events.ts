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
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { EVENT_SOURCE, eventsForChange } from '../events.js';
import { streamPublisherHandler, type Outgoing } from './bus-publishing.js';

// The bus port and its classification live in bus-publishing.ts (both stream publishers use them).
export { classify, classifyError, eventBridgeBus, sqsDeadLetters, type DeadLetters, type EntryResult, type EventBus, type RefusedEvent } from './bus-publishing.js';

const image = (value: Record<string, unknown> | undefined): unknown =>
  value ? unmarshall(value as Record<string, AttributeValue>) : undefined;

/** A change of an order: the events `eventsForChange` derives from its old and new image (at most four: one PutEvents). */
const orderEventsOfRecord = (record: DynamoDBRecord, busName: string): Outgoing[] =>
  eventsForChange(image(record.dynamodb?.OldImage), image(record.dynamodb?.NewImage)).map((event) => ({
    entry: { Source: EVENT_SOURCE, DetailType: event.detailType, Detail: JSON.stringify(event.detail), EventBusName: busName, Time: new Date(event.detail.occurred_at) },
    key: { order_id: event.detail.order_id, detail_type: event.detailType, sequence: event.detail.sequence },
  }));

export const handler = streamPublisherHandler('order', orderEventsOfRecord);
