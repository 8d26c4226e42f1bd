/**
 * A table's stream published to the shop's bus, as both stream publishers are built (the orders
 * table's in order-lifecycle.ts, the ledger's in order-commands.ts; their handlers share
 * functions/orders/handlers/bus-publishing.ts): the publisher function, its trigger, the
 * dead-letter queue of the batches it gave up on and the queue of the events EventBridge refused
 * for good. The caller makes the alarms, with its others.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { deadLetterQueue } from './dead-letter-queue.js';
import { KlarnaFunction } from './klarna-function.js';

export type StreamPublisherProps = {
  /** The publisher's construct id (its prebuilt bundle's folder) and handler module. */
  readonly fn: { readonly id: string; readonly entry: string };
  /** The table whose stream is published, and what the texts call it ('orders', 'ledger'). */
  readonly table: ITable;
  readonly tableLabel: string;
  /** What the texts call its events ('order', 'command'). */
  readonly eventKind: string;
  /** The queues' construct ids: they make their logical ids, never change them. */
  readonly failedQueueId: string;
  readonly refusedQueueId: string;
  readonly bus: IEventBus;
  /** Environment every function of the instance gets (the metrics namespace). */
  readonly environment: Readonly<Record<string, string>>;
  readonly tracing: boolean;
};

export type StreamPublisher = {
  readonly publisher: KlarnaFunction;
  /** Batches whose records could not be published within the retries (a day of them). */
  readonly failedEvents: Queue;
  /** Events EventBridge refused for good (the publisher's REFUSED_EVENTS_QUEUE_URL). */
  readonly refusedEvents: Queue;
};

/** Children are created in `scope` itself, so their logical ids do not depend on this function. */
export const addStreamPublisher = (scope: Construct, props: StreamPublisherProps): StreamPublisher => {
  const { bus, table, tableLabel, eventKind } = props;
  const publisher = new KlarnaFunction(scope, props.fn.id, {
    entry: props.fn.entry,
    environment: { ...props.environment, EVENT_BUS_NAME: bus.eventBusName },
    timeout: Duration.seconds(30),
    memorySize: 512,
    tracing: props.tracing,
  });
  bus.grantPutEventsTo(publisher.role);
  // The shard and sequence range of each batch given up on land here, so an operator can re-read those items.
  const failedEvents = deadLetterQueue(
    scope,
    props.failedQueueId,
    `This queue is itself the dead-letter destination of the ${tableLabel} stream trigger; it is alarmed, not redriven.`,
  );
  // Entries EventBridge refuses for good (never taken, whatever the retries): the publisher puts
  // each here and goes on, so one bad entry never holds back the records after it.
  const refusedEvents = deadLetterQueue(scope, props.refusedQueueId, `This queue is itself a dead-letter queue (${eventKind} events EventBridge refused); it is alarmed, not redriven.`);
  refusedEvents.grantSendMessages(publisher.role);
  publisher.function.addEnvironment('REFUSED_EVENTS_QUEUE_URL', refusedEvents.queueUrl);
  publisher.function.addEventSource(
    new DynamoEventSource(table, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      // One failed record stops its shard until it is published: events stay in order.
      reportBatchItemFailures: true,
      retryAttempts: 10_000,
      maxRecordAge: Duration.days(1),
      onFailure: new SqsDlq(failedEvents),
    }),
  );
  Validations.of(publisher.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `dynamodb:ListStreams has no resource-level permission; the stream read itself (DescribeStream, GetRecords, GetShardIterator) is limited to the ${tableLabel} table stream.`,
  });
  return { publisher, failedEvents, refusedEvents };
};
