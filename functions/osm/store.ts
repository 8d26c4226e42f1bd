/**
 * DynamoDB adapters of the placements table: the cache's copies of Klarna's answers and the
 * single-use impression tokens. Both live in the one table (different partition keys) and
 * expire through its TTL attribute `expires_at`; TTL deletion is lazy, so reads check the times.
 */
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { PlacementStore } from './cache.js';
import { ttlEpochSeconds, type CacheKey, type CachedPlacement } from './cache-policy.js';
import { documentedContent } from './client.js';
import type { ImpressionBinding, ImpressionTokens } from './impression-token.js';

type DocumentSender = Pick<DynamoDBDocumentClient, 'send'>;

const itemSchema = z.object({
  content: z.nullable(z.object({ nodes: z.array(z.unknown()) })),
  impression_url: z.optional(z.nullable(z.string())),
  fetched_at_ms: z.number(),
  fresh_until_ms: z.number(),
  stale_until_ms: z.number(),
  // Required: an item written before it existed may hold a `private` answer, so it is a miss.
  max_age_until_ms: z.number(),
});

/**
 * Items: `placement_id` + `purchase_amount` (keys), `content`, `impression_url`, `fetched_at_ms`,
 * `fresh_until_ms`, `stale_until_ms`, `max_age_until_ms` (the browsers' share) and `expires_at`
 * (epoch seconds: when nothing may be served any more).
 */
export class DynamoPlacementStore implements PlacementStore {
  constructor(
    private readonly client: DocumentSender,
    private readonly tableName: string,
  ) {}

  async get(key: CacheKey): Promise<CachedPlacement | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { placement_id: key.placementId, purchase_amount: key.purchaseAmount },
      }),
    );
    if (out.Item === undefined) return undefined;
    const parsed = itemSchema.safeParse(out.Item);
    if (!parsed.success) return undefined; // an item of another shape is a miss, not a fault
    const item = parsed.data;
    const content = item.content === null ? null : documentedContent(item.content.nodes).content;
    return {
      content: content !== null && content.nodes.length > 0 ? content : null,
      impressionUrl: item.impression_url ?? null,
      fetchedAtMs: item.fetched_at_ms,
      freshUntilMs: item.fresh_until_ms,
      staleUntilMs: item.stale_until_ms,
      maxAgeUntilMs: item.max_age_until_ms,
    };
  }

  async put(key: CacheKey, entry: CachedPlacement): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          placement_id: key.placementId,
          purchase_amount: key.purchaseAmount,
          content: entry.content,
          impression_url: entry.impressionUrl,
          fetched_at_ms: entry.fetchedAtMs,
          fresh_until_ms: entry.freshUntilMs,
          stale_until_ms: entry.staleUntilMs,
          max_age_until_ms: entry.maxAgeUntilMs,
          expires_at: ttlEpochSeconds(entry),
        },
      }),
    );
  }
}

/**
 * Impression tokens: item `placement_id` = `impression|<token>|<placement identity>`,
 * `purchase_amount` = the amount (so a token only matches the placement it was served with),
 * `impression_url`, `valid_until_ms`, `expires_at`. Redeeming is one conditional DeleteItem: of
 * any number of concurrent redeemers, in any container, exactly one gets the URL.
 */
export class DynamoImpressionTokens implements ImpressionTokens {
  constructor(
    private readonly client: DocumentSender,
    private readonly tableName: string,
  ) {}

  private key(token: string, binding: ImpressionBinding) {
    return { placement_id: `impression|${token}|${binding.placementId}`, purchase_amount: binding.purchaseAmount };
  }

  async put(token: string, binding: ImpressionBinding, impressionUrl: string, validUntilMs: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(token, binding),
          impression_url: impressionUrl,
          valid_until_ms: validUntilMs,
          expires_at: Math.ceil(validUntilMs / 1000),
        },
        // A random 128-bit token never repeats; the condition makes sure a clash could not reset one.
        ConditionExpression: 'attribute_not_exists(placement_id)',
      }),
    );
  }

  async redeem(token: string, binding: ImpressionBinding, nowMs: number): Promise<string | undefined> {
    try {
      const out = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(token, binding),
          ConditionExpression: 'attribute_exists(placement_id) AND valid_until_ms > :now',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const url: unknown = out.Attributes?.impression_url;
      return typeof url === 'string' ? url : undefined;
    } catch (error) {
      // Unknown, spent or expired: the condition failed. Anything else is a fault for the caller.
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }
}
