/**
 * The order ledger table behind the `CommandLedgerStore` port: per order (partition `order_id`),
 * one item per thing kept, so the order item never grows:
 * - `ledger`: the state in units, the version, cancel/release/extension marks, the command lease
 *   and the plan of the command holding it;
 * - `command#<command_id>`: a booked command's answer and event (its INSERT on the stream is the
 *   event);
 * - `capture#<capture_id>`, `refund#<refund_id>`: Klarna's ids, amounts, lines, reference, time.
 * A booking is one transaction of conditional writes: nothing is booked twice, and nothing moves
 * the ledger that did not hold its lease at its version.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LedgerState } from './ledger.js';
import type { CaptureEntry, Claim, CommandLedgerStore, Completion, LedgerRecord, PendingPlan, RefundEntry, StoredCommand } from './commands/ports.js';

type Client = Pick<DynamoDBDocumentClient, 'send'>;

export const LEDGER_ENTRY = 'ledger';
export const entryKey = {
  command: (id: string) => `command#${id}`,
  capture: (id: string) => `capture#${id}`,
  refund: (id: string) => `refund#${id}`,
};

/**
 * Where the expiry index's one-off backfill stands (orders acknowledged before the index existed,
 * functions/orders/handlers/expiry-sweep.ts): one bookkeeping item outside every order, since a
 * `#` never occurs in an order id. The command events publisher reads only `command#` entries.
 */
export const EXPIRY_BACKFILL_KEY = { order_id: '#expiry-index', entry: 'backfill' } as const;
export type ExpiryBackfill = { readonly done: boolean; readonly next?: Record<string, unknown> };

const EMPTY_STATE: LedgerState = { captured_units: [], refunded_units: [], captured_unallocated: 0, refunded_unallocated: 0 };

const isCondition = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
const isCancelled = (error: unknown): boolean =>
  error instanceof TransactionCanceledException || (error as { name?: string } | undefined)?.name === 'TransactionCanceledException';

const ledgerOf = (item: Record<string, unknown> | undefined): LedgerRecord | undefined => {
  if (!item) return undefined;
  const record: LedgerRecord = {
    state: (item.state as LedgerState | undefined) ?? EMPTY_STATE,
    version: typeof item.version === 'number' ? item.version : 0,
    ...(typeof item.cancelled_at === 'string' ? { cancelled_at: item.cancelled_at } : {}),
    ...(typeof item.released_at === 'string' ? { released_at: item.released_at } : {}),
    ...(typeof item.expires_at === 'string' ? { expires_at: item.expires_at } : {}),
    ...(typeof item.extended_at === 'string' ? { extended_at: item.extended_at } : {}),
    ...(typeof item.expiring_notified_for === 'string' ? { expiring_notified_for: item.expiring_notified_for } : {}),
    ...(typeof item.expired_alarmed_for === 'string' ? { expired_alarmed_for: item.expired_alarmed_for } : {}),
    ...(typeof item.lease_command === 'string' && typeof item.lease_until === 'number'
      ? { lease: { command_id: item.lease_command, fingerprint: String(item.lease_fingerprint ?? ''), until: item.lease_until } }
      : {}),
    ...(item.plan ? { plan: item.plan as PendingPlan } : {}),
  };
  return record;
};

const strip = <T>(item: Record<string, unknown>): T => {
  const { order_id: _o, entry: _e, purge_at: _p, ...rest } = item;
  return rest as T;
};

export class DynamoDbCommandLedgerStore implements CommandLedgerStore {
  constructor(
    private readonly client: Client,
    private readonly tableName: string,
    /** Items are deleted (TTL `purge_at`) this long after their last write, like the orders. */
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private purgeAt(): number {
    return Math.floor((this.now() + this.retentionMs) / 1000);
  }

  async ledger(orderId: string): Promise<LedgerRecord | undefined> {
    const output = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { order_id: orderId, entry: LEDGER_ENTRY }, ConsistentRead: true }));
    return ledgerOf(output.Item);
  }

  private async query(orderId: string, prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'order_id = :o AND begins_with(#entry, :prefix)',
          ExpressionAttributeNames: { '#entry': 'entry' },
          ExpressionAttributeValues: { ':o': orderId, ':prefix': prefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(output.Items ?? []));
      start = output.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async entries(orderId: string): Promise<{ captures: CaptureEntry[]; refunds: RefundEntry[] }> {
    const [captureItems, refundItems] = await Promise.all([this.query(orderId, 'capture#'), this.query(orderId, 'refund#')]);
    const captures = captureItems.map((item) => strip<CaptureEntry>(item)).sort((a, b) => a.captured_at.localeCompare(b.captured_at));
    const refunds = refundItems.map((item) => strip<RefundEntry>(item)).sort((a, b) => a.refunded_at.localeCompare(b.refunded_at));
    return { captures, refunds };
  }

  async command(orderId: string, commandId: string): Promise<StoredCommand | undefined> {
    const output = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { order_id: orderId, entry: entryKey.command(commandId) }, ConsistentRead: true }));
    return output.Item ? strip<StoredCommand>(output.Item) : undefined;
  }

  async claim(orderId: string, lease: { command_id: string; fingerprint: string }, nowMs: number, untilMs: number): Promise<Claim> {
    try {
      const output = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { order_id: orderId, entry: LEDGER_ENTRY },
          UpdateExpression:
            'SET lease_command = :c, lease_fingerprint = :f, lease_until = :until, #state = if_not_exists(#state, :empty), version = if_not_exists(version, :zero), purge_at = :purge',
          // Only a free or run-out lease: two deliveries of one command must not both run either.
          ConditionExpression: 'attribute_not_exists(lease_until) OR lease_until < :now',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':c': lease.command_id, ':f': lease.fingerprint, ':until': untilMs, ':now': nowMs, ':empty': EMPTY_STATE, ':zero': 0, ':purge': this.purgeAt() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'claimed', ledger: ledgerOf(output.Attributes) as LedgerRecord };
    } catch (error) {
      if (!isCondition(error)) throw error;
      const item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { order_id: orderId, entry: LEDGER_ENTRY }, ConsistentRead: true }))).Item;
      // A lease given up since our attempt reads as free (''): the caller tries again.
      const held = typeof item?.lease_until === 'number' && item.lease_until >= nowMs;
      return { kind: 'busy', command_id: held ? String(item?.lease_command ?? '') : '', fingerprint: held ? String(item?.lease_fingerprint ?? '') : '' };
    }
  }

  async savePlan(orderId: string, plan: PendingPlan): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { order_id: orderId, entry: LEDGER_ENTRY },
        UpdateExpression: 'SET #plan = :plan',
        ConditionExpression: 'lease_command = :c',
        ExpressionAttributeNames: { '#plan': 'plan' },
        ExpressionAttributeValues: { ':plan': plan, ':c': plan.command_id },
      }),
    );
  }

  async release(orderId: string, commandId: string, dropPlan: boolean): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { order_id: orderId, entry: LEDGER_ENTRY },
          UpdateExpression: `SET lease_until = :zero${dropPlan ? ' REMOVE #plan' : ''}`,
          ConditionExpression: 'lease_command = :c',
          ...(dropPlan ? { ExpressionAttributeNames: { '#plan': 'plan' } } : {}),
          ExpressionAttributeValues: { ':zero': 0, ':c': commandId },
        }),
      );
    } catch (error) {
      // Another command took it since: not ours to release.
      if (!isCondition(error)) throw error;
    }
  }

  async complete(orderId: string, completion: Completion): Promise<'completed' | 'conflict'> {
    const purge_at = this.purgeAt();
    const notThere = 'attribute_not_exists(entry)';
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      { Put: { TableName: this.tableName, Item: { order_id: orderId, entry: entryKey.command(completion.command.command_id), ...completion.command, purge_at }, ConditionExpression: notThere } },
    ];
    const { ledger } = completion;
    const sets = ['version = version + :one', 'purge_at = :purge'];
    const values: Record<string, unknown> = { ':one': 1, ':base': ledger.base_version, ':c': completion.command.command_id, ':purge': purge_at };
    if (ledger.state) {
      sets.push('#state = :state');
      values[':state'] = ledger.state;
    }
    for (const [field, value] of Object.entries(ledger.set ?? {})) {
      if (value === undefined) continue;
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = value;
    }
    items.push({
      Update: {
        TableName: this.tableName,
        Key: { order_id: orderId, entry: LEDGER_ENTRY },
        UpdateExpression: `SET ${sets.join(', ')} REMOVE #plan, lease_until, lease_command, lease_fingerprint`,
        ConditionExpression: 'version = :base AND lease_command = :c',
        ExpressionAttributeNames: { '#plan': 'plan', ...(ledger.state ? { '#state': 'state' } : {}) },
        ExpressionAttributeValues: values,
      },
    });
    if (completion.capture) {
      items.push({ Put: { TableName: this.tableName, Item: { order_id: orderId, entry: entryKey.capture(completion.capture.capture_id), ...completion.capture, purge_at }, ConditionExpression: notThere } });
    }
    if (completion.refund) {
      items.push({ Put: { TableName: this.tableName, Item: { order_id: orderId, entry: entryKey.refund(completion.refund.refund_id), ...completion.refund, purge_at }, ConditionExpression: notThere } });
    }
    if (completion.shippingInfo) {
      items.push({
        Update: {
          TableName: this.tableName,
          Key: { order_id: orderId, entry: entryKey.capture(completion.shippingInfo.capture_id) },
          UpdateExpression: 'SET shipping_info = list_append(if_not_exists(shipping_info, :none), :info)',
          ConditionExpression: 'attribute_exists(entry)',
          ExpressionAttributeValues: { ':none': [], ':info': completion.shippingInfo.shipping_info },
        },
      });
    }
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return 'completed';
    } catch (error) {
      if (isCancelled(error)) return 'conflict';
      throw error;
    }
  }

  async markExpiry(orderId: string, field: 'expiring_notified_for' | 'expired_alarmed_for', expiresAt: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { order_id: orderId, entry: LEDGER_ENTRY },
          UpdateExpression: `SET ${field} = :at, purge_at = if_not_exists(purge_at, :purge)`,
          ConditionExpression: `attribute_not_exists(${field}) OR ${field} <> :at`,
          ExpressionAttributeValues: { ':at': expiresAt, ':purge': this.purgeAt() },
        }),
      );
      return true;
    } catch (error) {
      if (isCondition(error)) return false;
      throw error;
    }
  }

  async expiryBackfill(): Promise<ExpiryBackfill> {
    const item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: EXPIRY_BACKFILL_KEY, ConsistentRead: true }))).Item;
    return { done: item?.done === true, ...(item?.next ? { next: item.next as Record<string, unknown> } : {}) };
  }

  async saveExpiryBackfill(state: ExpiryBackfill): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...EXPIRY_BACKFILL_KEY, done: state.done, ...(state.next ? { next: state.next } : {}), updated_at: new Date(this.now()).toISOString() } }));
  }
}
