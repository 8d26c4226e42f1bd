/**
 * Lambda's DynamoDB stream trigger, locally: reads a table's stream from DynamoDB Local (which
 * keeps streams as DynamoDB does), hands each batch to the same handler the stack triggers (the
 * orders table's publisher, the rules table's checker), and on a reported failure reads again from
 * the failed record, as Lambda does with ReportBatchItemFailures. `npm start` runs one per stream
 * so the events reach the EventBridge stand-in; the tests `drain()` them.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { localClient } from './dynamodb-local.js';

export type StreamHandler = (records: DynamoDBRecord[]) => Promise<DynamoDBBatchResponse>;

export type OrderStream = {
  /** Poll until one full pass over every shard finds no record (or `maxPasses`). */
  drain(maxPasses?: number): Promise<void>;
  stop(): Promise<void>;
};

/** `retryFrom`: a record the handler failed on; `after`: the last record handed on successfully. */
type Shard = { id: string; iterator: string | undefined; closed: boolean; after?: string; retryFrom?: string };

/** The SDK's stream record in the shape Lambda hands a stream-triggered function. */
const asLambdaRecord = (record: StreamRecord): DynamoDBRecord => record as unknown as DynamoDBRecord;

export const startOrderStream = async (options: {
  endpoint: string;
  tableName: string;
  handle: StreamHandler;
  /** Pause between polls when running on its own; 0: only `drain()` reads. */
  pollMs?: number;
  /** What the stream is called in errors (default "the orders stream"). */
  label?: string;
  onError?: (error: unknown) => void;
}): Promise<OrderStream> => {
  const dynamodb = localClient(options.endpoint);
  const table = await dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  dynamodb.destroy();
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`${options.tableName} has no stream`);
  const streams = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: process.env.AWS_REGION ?? 'eu-north-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
  });
  const shards = new Map<string, Shard>();

  const discover = async (): Promise<void> => {
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of described.StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || shards.has(shard.ShardId)) continue;
      shards.set(shard.ShardId, { id: shard.ShardId, iterator: undefined, closed: false });
    }
  };

  /** A fresh iterator where this shard's reading stands: the failed record, after the last good one, or the start. */
  const position = async (shard: Shard): Promise<string | undefined> => {
    const where = shard.retryFrom
      ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER' as const, SequenceNumber: shard.retryFrom }
      : shard.after
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: shard.after }
        : { ShardIteratorType: 'TRIM_HORIZON' as const };
    return (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.id, ...where }))).ShardIterator;
  };

  /** One pass over every open shard; the number of records handed on. */
  const pass = async (): Promise<number> => {
    await discover();
    let handled = 0;
    for (const shard of shards.values()) {
      if (shard.closed) continue;
      shard.iterator ??= await position(shard);
      if (!shard.iterator) continue;
      let output;
      try {
        output = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 100 }));
      } catch (error) {
        // An iterator DynamoDB Local no longer honours (expired, or taken on a shard that was still
        // empty): a fresh one from where reading stands, next pass.
        shard.iterator = undefined;
        const name = (error as { name?: string } | undefined)?.name;
        if (name === 'TrimmedDataAccessException' || name === 'ExpiredIteratorException') continue;
        throw error;
      }
      const records = (output.Records ?? []).map(asLambdaRecord);
      if (records.length > 0) {
        const result = await options.handle(records);
        handled += records.length;
        const failed = result.batchItemFailures[0]?.itemIdentifier;
        if (failed) {
          // Lambda retries the batch from the failed record: nothing after it overtakes it.
          shard.retryFrom = failed;
          shard.iterator = undefined;
          continue;
        }
        shard.retryFrom = undefined;
        shard.after = records.at(-1)?.dynamodb?.SequenceNumber ?? shard.after;
      }
      shard.iterator = output.NextShardIterator;
      if (!shard.iterator) shard.closed = true;
    }
    return handled;
  };

  let running: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = running.then(work, work);
    running = next.catch(() => undefined);
    return next;
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (stopped || !options.pollMs) return;
    timer = setTimeout(() => {
      serial(pass)
        .catch((error: unknown) => options.onError?.(error))
        .finally(schedule);
    }, options.pollMs);
  };
  schedule();

  return {
    drain: async (maxPasses = 50) => {
      for (let i = 0; i < maxPasses; i += 1) {
        if ((await serial(pass)) === 0) return;
      }
      throw new Error(`${options.label ?? 'the orders stream'} still had records after ${maxPasses} passes`);
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      streams.destroy();
    },
  };
};

/** The same reader for any table with a stream (the rules table's, in `npm start` and its tests). */
export const startTableStream = startOrderStream;
export type TableStream = OrderStream;
