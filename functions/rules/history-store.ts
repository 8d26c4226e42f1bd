/**
 * The rules history table (lib/tables.ts `rulesHistoryTable`), written by the rules checker and
 * read by the rules tool and the playground. Per scope:
 *
 * - `version` 0, the head: the scope's current version number (`latest_version`), whether an
 *   item is there now (`present`) and the stream record that last moved it (`last_sequence`).
 *   It never expires: numbering goes on after the history has expired.
 * - `version` n ≥ 1: version n as it was when it was replaced: its whole item as the stream's old
 *   image gave it (`image`, DynamoDB's own attribute values, so a console edit is kept exactly,
 *   wrong types included), `replaced_at`, `replaced_by_version` and `expires_at` (TTL). A version
 *   that was a deletion has `absent` instead of an image.
 *
 * Writes use DynamoDB's plain client: an image goes back exactly as it came.
 */
import {
  BatchGetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ParsedRules } from '../kco/rules.js';
import { itemToDocument, parseRulesItem } from '../shared/rules-store.js';
import type { ScopeHead } from './change.js';

export type HistoryClient = Pick<DynamoDBClient, 'send'>;
export type Image = Record<string, AttributeValue>;

const HEAD_VERSION = 0;
const MAX_KEYS_PER_BATCH = 100;

/** One recorded head, with its sequence kept for the conditional update. */
export type RecordedHead = ScopeHead & { lastSequence: string };

const headKey = (scope: string): Image => ({ scope: { S: scope }, version: { N: String(HEAD_VERSION) } });

const headFrom = (item: Image): RecordedHead | undefined => {
  const latest = Number(item.latest_version?.N);
  const sequence = item.last_sequence?.S;
  if (!Number.isInteger(latest) || sequence === undefined) return undefined;
  const stream = item.last_stream?.S;
  return { latestVersion: latest, present: item.present?.BOOL === true, lastSequence: sequence, ...(stream === undefined ? {} : { lastStream: stream }) };
};

/** The heads of these scopes (absent ones are missing from the map); throws when DynamoDB does not answer for all. */
export const readHeads = async (client: HistoryClient, table: string, scopes: readonly string[]): Promise<Map<string, RecordedHead>> => {
  const heads = new Map<string, RecordedHead>();
  const unique = [...new Set(scopes)];
  for (let start = 0; start < unique.length; start += MAX_KEYS_PER_BATCH) {
    let keys: Image[] = unique.slice(start, start + MAX_KEYS_PER_BATCH).map(headKey);
    for (let attempt = 0; keys.length > 0; attempt += 1) {
      if (attempt === 3) throw new Error(`history heads: ${keys.length} key(s) still unprocessed after 3 attempts`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      const output = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of output.Responses?.[table] ?? []) {
        const head = headFrom(item);
        const scope = item.scope?.S;
        if (head && scope !== undefined) heads.set(scope, head);
      }
      keys = output.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return heads;
};

export type RecordChange = {
  scope: string;
  /** The version this write replaced, with its image (undefined image: it was a deletion); none for a first version. */
  replaced?: { version: number; image: Image | undefined };
  version: number;
  present: boolean;
  sequence: string;
  /** The stream the record came from (Lambda's eventSourceARN; none from the local reader). */
  stream: string | undefined;
  /** The head as read; the update is conditional on it (undefined: there must be none). */
  previousHead: RecordedHead | undefined;
  changedAt: Date;
  retentionDays: number;
};

/**
 * The replaced version first (an idempotent put: a retry writes the same item), then the head,
 * on condition that nobody moved it since it was read.
 */
export const recordChange = async (client: HistoryClient, table: string, change: RecordChange): Promise<void> => {
  const changedAt = change.changedAt.toISOString();
  if (change.replaced) {
    const expiresAt = Math.floor(change.changedAt.getTime() / 1000) + change.retentionDays * 86_400;
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          scope: { S: change.scope },
          version: { N: String(change.replaced.version) },
          ...(change.replaced.image ? { image: { M: change.replaced.image } } : { absent: { BOOL: true } }),
          replaced_at: { S: changedAt },
          replaced_by_version: { N: String(change.version) },
          expires_at: { N: String(expiresAt) },
        },
      }),
    );
  }
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: headKey(change.scope),
      UpdateExpression: `SET latest_version = :version, present = :present, last_sequence = :sequence, changed_at = :at${change.stream === undefined ? ' REMOVE last_stream' : ', last_stream = :stream'}`,
      ConditionExpression: change.previousHead ? 'last_sequence = :previous' : 'attribute_not_exists(#scope)',
      ...(change.previousHead ? {} : { ExpressionAttributeNames: { '#scope': 'scope' } }),
      ExpressionAttributeValues: {
        ':version': { N: String(change.version) },
        ':present': { BOOL: change.present },
        ':sequence': { S: change.sequence },
        ':at': { S: changedAt },
        ...(change.stream === undefined ? {} : { ':stream': { S: change.stream } }),
        ...(change.previousHead ? { ':previous': { S: change.previousHead.lastSequence } } : {}),
      },
    }),
  );
};

/** An item image as the callbacks would read it: the document, its check, its bookkeeping. */
export type ReadImage = {
  document: Record<string, unknown>;
  parsed: ParsedRules;
  updatedAt?: string;
  updatedBy?: string;
};

/**
 * The callbacks' reading of an image. A number beyond JavaScript's safe range (possible in a
 * console edit) cannot be read by the callbacks either: it is reported as the document's problem.
 */
export const readImage = (scope: string, image: Image): ReadImage => {
  let item: Record<string, unknown>;
  try {
    item = unmarshall(image);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 120) : 'unreadable';
    return { document: {}, parsed: { ok: false, issues: [{ scope, path: '(document)', message: `cannot be read: ${reason}` }] } };
  }
  return {
    document: itemToDocument(item),
    parsed: parseRulesItem(scope, item),
    ...(typeof item.updated_at === 'string' ? { updatedAt: item.updated_at } : {}),
    ...(typeof item.updated_by === 'string' ? { updatedBy: item.updated_by } : {}),
  };
};

export type HistoryEntry = {
  version: number;
  replacedAt: string;
  replacedByVersion: number;
  /** Undefined: this version was a deletion (no item). */
  image?: ReadImage;
};

export type ScopeHistory = {
  /** Undefined: the checker has recorded no change of this scope (an item there now is version 1). */
  head?: RecordedHead;
  /** Newest first. */
  entries: HistoryEntry[];
};

/** A scope's head and its recorded versions, newest first (one query, paged). */
export const readHistory = async (client: HistoryClient, table: string, scope: string): Promise<ScopeHistory> => {
  const history: ScopeHistory = { entries: [] };
  let startKey: Image | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#scope = :scope',
        ExpressionAttributeNames: { '#scope': 'scope' },
        ExpressionAttributeValues: { ':scope': { S: scope } },
        ScanIndexForward: false,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const version = Number(item.version?.N);
      if (version === HEAD_VERSION) {
        const head = headFrom(item);
        if (head) history.head = head;
        continue;
      }
      const image = item.image?.M;
      history.entries.push({
        version,
        replacedAt: item.replaced_at?.S ?? '',
        replacedByVersion: Number(item.replaced_by_version?.N),
        ...(image ? { image: readImage(scope, image) } : {}),
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return history;
};
