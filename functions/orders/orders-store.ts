/**
 * The orders table behind a port (`OrdersStore`). An order is created once, by a conditional
 * write; every change of status or fraud_status is one conditional update whose condition is the
 * state machine's "may come from" (functions/orders/lifecycle.ts), and each bumps `version`, so
 * a late or concurrent writer can never move an order backwards. Acknowledging is guarded by a
 * lease (`ack_lease_until`): only its holder calls Klarna, so concurrent pushes send one
 * acknowledgement; a holder that dies leaves a lease that simply runs out.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLOSED_KLARNA_STATUSES, PASS_MOVES_FROM, fraudStatusesBefore, statusesBefore, type FraudStatus, type OrderStatus } from './lifecycle.js';
import { expiryDue, type OrderRecord } from './order.js';

/** The index of orders recorded but not acknowledged (lib/tables.ts). */
export const AWAITING_INDEX = 'awaiting-acknowledgement';
const AWAITING = 'recorded';

/**
 * The index of acknowledged orders with an authorization that may still expire (lib/tables.ts):
 * one partition, `open`, sorted by `expiry_due`. One partition is enough: each order writes it at
 * most a few times in its life (acknowledged, extended, taken out), far below the 1000 writes a
 * second one partition takes, and the sweep reads one range of it.
 */
export const EXPIRY_INDEX = 'authorization-expiry';
export const EXPIRY_BUCKET = 'open';

export type Moved = 'moved' | 'not_allowed';

export type AwaitingOrder = { readonly order_id: string; readonly recorded_at: string; readonly sweep_tries: number };

export type StatusDetail = {
  review_reason?: string;
  lease_owner?: string;
  /** Moving to `acknowledged`: the authorization's end, which puts the order in the expiry index. */
  expires_at?: string | undefined;
};

/** An order in the expiry index: its id and the end it is sorted by. */
export type DueOrder = { readonly order_id: string; readonly expiry_due: string };

/** What the expiry sweep reads and keeps of the orders table (functions/orders/handlers/expiry-sweep.ts). */
export interface ExpiryIndex {
  /** One page of the orders due before `beforeIso`, earliest first, and the capacity it consumed. */
  dueBefore(beforeIso: string, start?: Record<string, unknown>): Promise<{ orders: DueOrder[]; next?: Record<string, unknown>; readUnits: number }>;
  /** Move the order in the index (a new end), or take it out (`undefined`: nothing left to expire). */
  setExpiryDue(orderId: string, due: string | undefined): Promise<void>;
  /**
   * Orders acknowledged before the index existed: one page of a scan for those with an end and no
   * `expiry_bucket`, each put in the index. Returns how many and where the next page starts.
   */
  indexUnindexed(start?: Record<string, unknown>): Promise<{ indexed: number; next?: Record<string, unknown> }>;
}

/** The port the lifecycle depends on. Times are epoch milliseconds. */
export interface OrdersStore {
  /**
   * The same store with every call bounded by `deadline` (epoch ms by `now`): a call still running
   * then is aborted (and throws), so a slow DynamoDB counts against the same deadline as Klarna.
   */
  withDeadline(deadline: number, now?: () => number): OrdersStore;
  get(orderId: string): Promise<OrderRecord | undefined>;
  /** 'exists' when another writer created it first (nothing is overwritten). */
  create(record: OrderRecord, purgeAtMs: number): Promise<'created' | 'exists'>;
  /**
   * With `lease_owner` (a pass): only from `recorded` and only while that owner holds the
   * acknowledge lease. Without (the operator): any step the state machine allows.
   */
  moveStatus(orderId: string, to: OrderStatus, nowIso: string, detail?: StatusDetail): Promise<Moved>;
  moveFraudStatus(orderId: string, to: FraudStatus, nowIso: string): Promise<Moved>;
  /**
   * Store Klarna's order status as last read. Never over a closed one (CANCELLED, EXPIRED,
   * CLOSED): Klarna never leaves those, so only a stale read could.
   */
  refreshKlarnaStatus(orderId: string, klarnaStatus: string, nowIso: string): Promise<Moved>;
  /**
   * Take the acknowledge lease for `owner` until `untilMs`; false while another owner's lease
   * runs. Taking it again as the same owner succeeds (a retried request must not lock us out).
   */
  claimAcknowledgement(orderId: string, owner: string, nowMs: number, untilMs: number): Promise<boolean>;
  releaseAcknowledgement(orderId: string, owner: string): Promise<void>;
  /**
   * Every order still `recorded` that was recorded before `beforeIso` (all pages of the index,
   * up to `max`), with the sweeper's tries so far.
   */
  awaitingAcknowledgement(beforeIso: string, max?: number): Promise<AwaitingOrder[]>;
  /** One more sweeper try of an order still `recorded` (bookkeeping: no version, no event). */
  countSweepTry(orderId: string): Promise<void>;
}

type Client = Pick<DynamoDBDocumentClient, 'send'>;

/** A DynamoDB call not started, or aborted, because the pass's deadline had passed. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
  constructor() {
    super('the deadline passed before DynamoDB answered');
  }
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/** Bookkeeping attributes that are ours, not the order's. */
const internalAttributes = ['purge_at', 'awaiting', 'ack_lease_until', 'ack_lease_owner', 'line_parts', 'line_count', 'sweep_tries', 'expiry_bucket', 'expiry_due'] as const;

const toRecord = (item: Record<string, unknown>): OrderRecord => {
  const record = { ...item };
  for (const key of internalAttributes) delete record[key];
  return record as OrderRecord;
};

/**
 * DynamoDB takes an item of at most 400 KB; Klarna takes an order of 1000 lines with 255-character
 * names and references (up to 4 bytes a character). A record whose JSON stays under
 * INLINE_RECORD_BYTES keeps its lines inline (nearly every order); a larger one keeps them apart,
 * in parts of at most LINE_PART_BYTES each (`<order_id>#lines#<n>`, same table, same TTL),
 * written in one transaction with the order item and put back together by `get`. JSON bytes
 * overstate DynamoDB's own size by little; the margins below 400 KB cover the difference.
 */
export const INLINE_RECORD_BYTES = 300_000;
export const LINE_PART_BYTES = 300_000;

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The key of an order's n-th part of lines. A `#` never occurs in an order id (handlers/deps.ts ORDER_ID). */
export const linePartKey = (orderId: string, part: number): string => `${orderId}#lines#${part}`;

/** Lines split into parts of at most `maxBytes` of JSON each, in order. */
export const splitLines = <T>(lines: readonly T[], maxBytes: number): T[][] => {
  const parts: T[][] = [];
  let current: T[] = [];
  let bytes = 2;
  for (const line of lines) {
    const size = jsonBytes(line) + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      parts.push(current);
      current = [];
      bytes = 2;
    }
    current.push(line);
    bytes += size;
  }
  if (current.length > 0) parts.push(current);
  return parts;
};

const isTransactionConditionFailure = (error: unknown): boolean => {
  const reasons = (error as { name?: string; CancellationReasons?: { Code?: string }[] } | undefined) ?? {};
  return reasons.name === 'TransactionCanceledException' && (reasons.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
};

/** The deadline a store's calls are bounded by, and the clock it is read with. */
type Bound = { readonly deadline: number; readonly now: () => number };

export class DynamoDbOrdersStore implements OrdersStore, ExpiryIndex {
  constructor(
    private readonly client: Client,
    private readonly tableName: string,
    private readonly bound?: Bound,
  ) {}

  withDeadline(deadline: number, now: () => number = Date.now): OrdersStore {
    return new DynamoDbOrdersStore(this.client, this.tableName, { deadline, now });
  }

  /** Options for one call to DynamoDB: aborted (with its retries) when the deadline passes. */
  private callOptions(): { abortSignal?: AbortSignal } {
    if (this.bound === undefined) return {};
    const left = this.bound.deadline - this.bound.now();
    return { abortSignal: left > 0 ? AbortSignal.timeout(left) : AbortSignal.abort(new DeadlineExceeded()) };
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    const output = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { order_id: orderId }, ConsistentRead: true }), this.callOptions());
    if (!output.Item) return undefined;
    const parts = output.Item.line_parts;
    if (typeof parts !== 'number' || parts < 1) return toRecord(output.Item);
    return { ...toRecord(output.Item), order_lines: await this.linesOf(orderId, parts) };
  }

  /** The lines kept apart, in their order: one BatchGetItem (and its unprocessed keys again). */
  private async linesOf(orderId: string, parts: number): Promise<OrderRecord['order_lines']> {
    const found = new Map<string, OrderRecord['order_lines']>();
    let keys: Record<string, unknown>[] = Array.from({ length: parts }, (_, i) => ({ order_id: linePartKey(orderId, i) }));
    for (let round = 0; keys.length > 0; round += 1) {
      if (round >= 5) throw new Error('order lines could not be read: DynamoDB left keys unprocessed');
      const output = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }), this.callOptions());
      for (const item of output.Responses?.[this.tableName] ?? []) found.set(String(item.order_id), item.lines as OrderRecord['order_lines']);
      keys = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return Array.from({ length: parts }, (_, i) => {
      const lines = found.get(linePartKey(orderId, i));
      if (!lines) throw new Error('order lines missing: a part of them was not found');
      return lines;
    }).flat();
  }

  async create(record: OrderRecord, purgeAtMs: number): Promise<'created' | 'exists'> {
    const purgeAt = Math.floor(purgeAtMs / 1000);
    if (jsonBytes(record) > INLINE_RECORD_BYTES) return this.createWithLinesApart(record, purgeAt);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, awaiting: AWAITING, purge_at: purgeAt },
          ConditionExpression: 'attribute_not_exists(order_id)',
        }),
        this.callOptions(),
      );
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw error;
    }
  }

  /** The order item without its lines and the parts of lines, in one transaction: all or nothing. */
  private async createWithLinesApart(record: OrderRecord, purgeAt: number): Promise<'created' | 'exists'> {
    const { order_lines: lines, ...rest } = record;
    const parts = splitLines(lines, LINE_PART_BYTES);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...rest, awaiting: AWAITING, purge_at: purgeAt, line_parts: parts.length, line_count: lines.length },
                ConditionExpression: 'attribute_not_exists(order_id)',
              },
            },
            ...parts.map((part, i) => ({ Put: { TableName: this.tableName, Item: { order_id: linePartKey(record.order_id, i), lines: part, purge_at: purgeAt } } })),
          ],
        }),
        this.callOptions(),
      );
      return 'created';
    } catch (error) {
      if (isTransactionConditionFailure(error)) return 'exists';
      throw error;
    }
  }

  private async update(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<Moved> {
    try {
      await this.client.send(new UpdateCommand(input), this.callOptions());
      return 'moved';
    } catch (error) {
      if (isConditionFailure(error)) return 'not_allowed';
      throw error;
    }
  }

  moveStatus(orderId: string, to: OrderStatus, nowIso: string, detail: StatusDetail = {}): Promise<Moved> {
    const byPass = detail.lease_owner !== undefined;
    const from = byPass ? statusesBefore(to).filter((status) => status === PASS_MOVES_FROM) : statusesBefore(to);
    if (from.length === 0) return Promise.resolve('not_allowed');
    const values: Record<string, unknown> = { ':to': to, ':now': nowIso, ':one': 1 };
    from.forEach((status, i) => (values[`:from${i}`] = status));
    if (byPass) values[':owner'] = detail.lease_owner;
    const sets = ['#status = :to', 'updated_at = :now', 'version = version + :one'];
    if (to === 'acknowledged') sets.push('acknowledged_at = :now');
    const due = to === 'acknowledged' ? expiryDue(detail.expires_at) : undefined;
    if (due !== undefined) {
      // From now on its authorization may expire: the expiry sweep finds it by this index.
      sets.push('expiry_bucket = :bucket', 'expiry_due = :due');
      values[':bucket'] = EXPIRY_BUCKET;
      values[':due'] = due;
    }
    if (detail.review_reason !== undefined) {
      sets.push('review_reason = :reason');
      values[':reason'] = detail.review_reason;
    }
    return this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      // Leaving `recorded` takes the order out of the sweeper's index.
      UpdateExpression: `SET ${sets.join(', ')} REMOVE awaiting, ack_lease_until, ack_lease_owner`,
      ConditionExpression: `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})${byPass ? ' AND ack_lease_owner = :owner' : ''}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    });
  }

  moveFraudStatus(orderId: string, to: FraudStatus, nowIso: string): Promise<Moved> {
    const from = fraudStatusesBefore(to);
    if (from.length === 0) return Promise.resolve('not_allowed');
    const values: Record<string, unknown> = { ':to': to, ':now': nowIso, ':one': 1 };
    from.forEach((status, i) => (values[`:from${i}`] = status));
    const sets = ['fraud_status = :to', 'updated_at = :now', 'version = version + :one'];
    return this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: `fraud_status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
      ExpressionAttributeValues: values,
    });
  }

  refreshKlarnaStatus(orderId: string, klarnaStatus: string, nowIso: string): Promise<Moved> {
    const closed = [...CLOSED_KLARNA_STATUSES];
    const values: Record<string, unknown> = { ':klarna': klarnaStatus, ':now': nowIso, ':one': 1 };
    closed.forEach((status, i) => (values[`:closed${i}`] = status));
    return this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      // Klarna closed the order: nothing of it can expire any more (the expiry index lets it go).
      UpdateExpression: `SET klarna_status = :klarna, updated_at = :now, version = version + :one${CLOSED_KLARNA_STATUSES.has(klarnaStatus) ? ' REMOVE expiry_bucket, expiry_due' : ''}`,
      ConditionExpression: `attribute_exists(order_id) AND (attribute_not_exists(klarna_status) OR (klarna_status <> :klarna AND NOT klarna_status IN (${closed.map((_, i) => `:closed${i}`).join(', ')})))`,
      ExpressionAttributeValues: values,
    });
  }

  async claimAcknowledgement(orderId: string, owner: string, nowMs: number, untilMs: number): Promise<boolean> {
    const moved = await this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      UpdateExpression: 'SET ack_lease_until = :until, ack_lease_owner = :owner',
      ConditionExpression:
        '#status = :recorded AND (attribute_not_exists(ack_lease_until) OR ack_lease_until < :now OR ack_lease_owner = :owner)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':until': untilMs, ':now': nowMs, ':recorded': 'recorded', ':owner': owner },
    });
    return moved === 'moved';
  }

  async releaseAcknowledgement(orderId: string, owner: string): Promise<void> {
    // Only our own lease: a later holder's stays.
    await this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      UpdateExpression: 'REMOVE ack_lease_until, ack_lease_owner',
      ConditionExpression: 'ack_lease_owner = :owner',
      ExpressionAttributeValues: { ':owner': owner },
    });
  }

  async awaitingAcknowledgement(beforeIso: string, max = 100_000): Promise<AwaitingOrder[]> {
    const found: AwaitingOrder[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: AWAITING_INDEX,
          KeyConditionExpression: 'awaiting = :recorded AND recorded_at < :before',
          ExpressionAttributeValues: { ':recorded': AWAITING, ':before': beforeIso },
          ProjectionExpression: 'order_id, recorded_at, sweep_tries',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
        this.callOptions(),
      );
      for (const item of output.Items ?? []) {
        found.push({ order_id: String(item.order_id), recorded_at: String(item.recorded_at), sweep_tries: typeof item.sweep_tries === 'number' ? item.sweep_tries : 0 });
      }
      start = output.LastEvaluatedKey;
    } while (start !== undefined && found.length < max);
    return found;
  }

  async countSweepTry(orderId: string): Promise<void> {
    await this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      UpdateExpression: 'ADD sweep_tries :one',
      ConditionExpression: '#status = :recorded',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':one': 1, ':recorded': AWAITING },
    });
  }

  async dueBefore(beforeIso: string, start?: Record<string, unknown>): Promise<{ orders: DueOrder[]; next?: Record<string, unknown>; readUnits: number }> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: EXPIRY_INDEX,
        KeyConditionExpression: 'expiry_bucket = :open AND expiry_due < :before',
        ExpressionAttributeValues: { ':open': EXPIRY_BUCKET, ':before': beforeIso },
        ReturnConsumedCapacity: 'TOTAL',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
      this.callOptions(),
    );
    return {
      orders: (output.Items ?? []).map((item) => ({ order_id: String(item.order_id), expiry_due: String(item.expiry_due) })),
      ...(output.LastEvaluatedKey ? { next: output.LastEvaluatedKey } : {}),
      readUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
    };
  }

  async setExpiryDue(orderId: string, due: string | undefined): Promise<void> {
    await this.update({
      TableName: this.tableName,
      Key: { order_id: orderId },
      UpdateExpression: due === undefined ? 'REMOVE expiry_bucket, expiry_due' : 'SET expiry_bucket = :open, expiry_due = :due',
      // Never creates an item (an order purged meanwhile stays purged).
      ConditionExpression: 'attribute_exists(order_id)',
      ...(due === undefined ? {} : { ExpressionAttributeValues: { ':open': EXPIRY_BUCKET, ':due': due } }),
    });
  }

  async indexUnindexed(start?: Record<string, unknown>): Promise<{ indexed: number; next?: Record<string, unknown> }> {
    const output = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        FilterExpression: '#status = :acknowledged AND attribute_exists(klarna_expires_at) AND attribute_not_exists(expiry_bucket)',
        ProjectionExpression: 'order_id, klarna_expires_at',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':acknowledged': 'acknowledged' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
      this.callOptions(),
    );
    let indexed = 0;
    for (const item of output.Items ?? []) {
      const due = expiryDue(typeof item.klarna_expires_at === 'string' ? item.klarna_expires_at : undefined);
      if (due === undefined) continue;
      // Only if still without: the lifecycle or a sweep may have set it since the scan read it.
      const moved = await this.update({
        TableName: this.tableName,
        Key: { order_id: String(item.order_id) },
        UpdateExpression: 'SET expiry_bucket = :open, expiry_due = :due',
        ConditionExpression: 'attribute_exists(order_id) AND attribute_not_exists(expiry_bucket)',
        ExpressionAttributeValues: { ':open': EXPIRY_BUCKET, ':due': due },
      });
      if (moved === 'moved') indexed += 1;
    }
    return { indexed, ...(output.LastEvaluatedKey ? { next: output.LastEvaluatedKey } : {}) };
  }
}
