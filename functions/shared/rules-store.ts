/**
 * The merchant rules in DynamoDB, behind a port (`RulesSource`) so the callbacks never see the
 * table. One item per scope (`default`, `order#<id>`) holds the rules document as top-level
 * attributes beside the key, so a merchant can edit it by hand in the console.
 *
 * A lookup reads both scopes in one BatchGetItem, validates each scope on its own (a bad document
 * names its scope and field), and merges them (the order's fields win). Each container keeps a
 * short per-scope cache; when DynamoDB fails, the last value read may serve a little longer, then
 * the lookup answers `unavailable` and the callbacks fail closed.
 */
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  ScanCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import {
  mergeRules,
  orderScope,
  defaultScope,
  isRulesScope,
  parseRulesDocument,
  type MerchantRules,
  type ParsedRules,
  type RulesIssue,
  type RulesLookup,
} from '../kco/rules.js';

export type { RulesLookup };
export { isRulesScope };
import { intEnv, requireEnv } from './config.js';
import { documentClient } from './dynamodb.js';
import { describeError, logger } from './log.js';

/** The port the callbacks depend on. */
export interface RulesSource {
  rulesFor(orderId: string): Promise<RulesLookup>;
}

/** All the adapter needs of a DynamoDB document client. */
export type BatchGetClient = {
  send(command: BatchGetCommand, options?: { abortSignal?: AbortSignal }): Promise<BatchGetCommandOutput>;
};

/** All the rules tool needs: the document client's `send`. */
export type RulesWriteClient = Pick<DynamoDBDocumentClient, 'send'>;

export type RulesSourceOptions = {
  /** How long a scope read from DynamoDB (or found absent) is used without asking again. */
  cacheSeconds: number;
  /** After that, how long the last value read may still serve while DynamoDB is failing. */
  staleSeconds: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now: () => number;
  /** The whole lookup (BatchGetItem and its one retry) gives up after this. */
  timeoutMs?: number;
  /** Bound on cached scopes (order scopes are per order: a warm container meets many). */
  maxEntries?: number;
};

/** Attributes kept beside the rules for people, never part of the rules document. */
export const bookkeepingAttributes = ['updated_at', 'updated_by'] as const;

const SCOPE_ATTRIBUTE = 'scope';
const DEFAULT_TIMEOUT_MS = 1500;
const DEFAULT_MAX_ENTRIES = 1000;
const UNPROCESSED_RETRY_DELAY_MS = 25;

/**
 * DynamoDB sets (a hand edit in the console may create a String Set) become arrays; the document
 * client gives them to us as `Set`s. Applied at every depth.
 */
export const setsToArrays = (value: unknown): unknown => {
  if (value instanceof Set) return [...value].map(setsToArrays);
  if (Array.isArray(value)) return value.map(setsToArrays);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, setsToArrays(inner)]));
  }
  return value;
};

/** The rules document stored in an item: the item without its key and bookkeeping, sets as arrays. */
export const itemToDocument = (item: Record<string, unknown>): Record<string, unknown> => {
  const document: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (key === SCOPE_ATTRIBUTE || (bookkeepingAttributes as readonly string[]).includes(key)) continue;
    document[key] = setsToArrays(value);
  }
  return document;
};

/**
 * THE check of a stored rules item: what the callbacks' lookup applies to every item it reads, and
 * the rules checker to every item written (functions/rules/handlers/check-rules.ts).
 */
export const parseRulesItem = (scope: string, item: Record<string, unknown>): ParsedRules => parseRulesDocument(scope, itemToDocument(item));

/** One scope as last read: absent, or present and parsed (valid or with its issues). */
type ScopeValue = { present: false } | { present: true; parsed: ParsedRules };
type CacheEntry = { value: ScopeValue; readAt: number };

class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

/** Race `promise` against `signal`, so a client that ignores the signal cannot hold us longer. */
const beforeDeadline = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new DeadlineExceeded('rules lookup deadline exceeded'));
    const onAbort = (): void => reject(new DeadlineExceeded('rules lookup deadline exceeded'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });

export class DynamoDbRulesSource implements RulesSource {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly timeoutMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly client: BatchGetClient,
    private readonly tableName: string,
    private readonly options: RulesSourceOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  async rulesFor(orderId: string): Promise<RulesLookup> {
    const scopes = [defaultScope, orderScope(orderId)];
    const started = this.options.now();
    const values = new Map<string, ScopeValue>();
    const toRead: string[] = [];
    for (const scope of scopes) {
      const entry = this.cache.get(scope);
      if (entry && started - entry.readAt < this.options.cacheSeconds * 1000) {
        this.remember(scope, entry); // least recently used goes first: `default` stays
        values.set(scope, entry.value);
      } else toRead.push(scope);
    }

    if (toRead.length > 0) {
      const read = await this.read(toRead);
      const readAt = this.options.now();
      for (const scope of toRead) {
        const fresh = read.values.get(scope);
        if (fresh) {
          this.remember(scope, { value: fresh, readAt });
          values.set(scope, fresh);
          continue;
        }
        // Not read this time: the last value may serve until its stale window closes.
        const entry = this.cache.get(scope);
        const staleUntil = entry ? entry.readAt + (this.options.cacheSeconds + this.options.staleSeconds) * 1000 : -Infinity;
        if (!entry || readAt >= staleUntil) {
          logger.error('rules unavailable', { scope, table: this.tableName, ...read.failure });
          return { status: 'unavailable' };
        }
        logger.warn('rules served stale', { scope, age_ms: readAt - entry.readAt, ...read.failure });
        values.set(scope, entry.value);
      }
    }

    const issues: RulesIssue[] = [];
    const found: { scope: string; rules: MerchantRules }[] = [];
    for (const scope of scopes) {
      const value = values.get(scope);
      if (!value?.present) continue;
      if (value.parsed.ok) found.push({ scope, rules: value.parsed.rules });
      else issues.push(...value.parsed.issues);
    }
    if (issues.length > 0) return { status: 'invalid', issues };
    const store = found.find((f) => f.scope === defaultScope)?.rules;
    if (!store) return { status: 'missing' };
    const order = found.find((f) => f.scope !== defaultScope)?.rules;
    return { status: 'ok', rules: mergeRules(store, order), scopesFound: found.map((f) => f.scope) };
  }

  /**
   * One BatchGetItem for every scope asked; unprocessed keys get one more try within the same
   * deadline. Scopes not answered are missing from `values` and `failure` says why.
   */
  private async read(
    scopes: string[],
  ): Promise<{ values: Map<string, ScopeValue>; failure?: { reason: string; error_name?: string; error_message?: string } }> {
    const values = new Map<string, ScopeValue>();
    const signal = AbortSignal.timeout(this.timeoutMs);
    let keys: Record<string, unknown>[] = scopes.map((scope) => ({ [SCOPE_ATTRIBUTE]: scope }));
    try {
      for (let attempt = 0; attempt < 2 && keys.length > 0; attempt += 1) {
        // DynamoDB leaves keys unprocessed when throttled: a short pause before the one retry.
        if (attempt > 0) await beforeDeadline(new Promise((r) => setTimeout(r, UNPROCESSED_RETRY_DELAY_MS)), signal);
        const output = await beforeDeadline(
          this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: false } } }), {
            abortSignal: signal,
          }),
          signal,
        );
        for (const item of output.Responses?.[this.tableName] ?? []) {
          const scope = item[SCOPE_ATTRIBUTE];
          if (typeof scope !== 'string' || !scopes.includes(scope)) continue;
          values.set(scope, { present: true, parsed: this.parse(scope, item) });
        }
        keys = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    } catch (error) {
      return { values, failure: { reason: 'dynamodb_error', ...describeError(error) } };
    }
    const unprocessed = new Set(keys.map((key) => key[SCOPE_ATTRIBUTE]));
    for (const scope of scopes) {
      // Asked, not unprocessed and not returned: the item does not exist.
      if (!values.has(scope) && !unprocessed.has(scope)) values.set(scope, { present: false });
    }
    return unprocessed.size > 0 ? { values, failure: { reason: 'unprocessed_keys' } } : { values };
  }

  private parse(scope: string, item: Record<string, unknown>): ParsedRules {
    const parsed = parseRulesItem(scope, item);
    if (!parsed.ok) {
      // Which scope and field, never the values: a rules document may be pasted from anywhere.
      // `message` is reserved by the logger: the problem goes under its own key.
      for (const issue of parsed.issues) logger.warn('rules document invalid', { scope: issue.scope, path: issue.path, problem: issue.message });
    }
    return parsed;
  }

  private remember(scope: string, entry: CacheEntry): void {
    this.cache.delete(scope);
    this.cache.set(scope, entry);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}

let shared: RulesSource | undefined;

/**
 * The container's one rules source, from the environment: `RULES_TABLE` (required),
 * `RULES_CACHE_SECONDS` (default 5), `RULES_STALE_SECONDS` (default 60).
 */
export const rulesSource = (): RulesSource =>
  (shared ??= new DynamoDbRulesSource(documentClient(), requireEnv('RULES_TABLE'), {
    cacheSeconds: intEnv('RULES_CACHE_SECONDS', 5, { max: 3600 }),
    staleSeconds: intEnv('RULES_STALE_SECONDS', 60, { max: 86_400 }),
    now: Date.now,
  }));

// ---- For the rules tool: read and write one scope at a time. ----

export type PutRulesResult = { ok: true; rules: MerchantRules } | { ok: false; issues: RulesIssue[] };

const scopeIssue = (scope: string): RulesIssue => ({
  scope,
  path: '(scope)',
  message: 'a scope is "default" or "order#<order_id>"',
});

/** Validate, then write one scope's document with `updated_at`; an invalid document is refused. */
export const putRules = async (
  client: RulesWriteClient,
  table: string,
  scope: string,
  rules: unknown,
  { updatedBy, now = () => new Date() }: { updatedBy?: string; now?: () => Date } = {},
): Promise<PutRulesResult> => {
  if (!isRulesScope(scope)) return { ok: false, issues: [scopeIssue(scope)] };
  const parsed = parseRulesDocument(scope, rules);
  if (!parsed.ok) return parsed;
  await client.send(
    new PutCommand({
      TableName: table,
      Item: {
        ...parsed.rules,
        [SCOPE_ATTRIBUTE]: scope,
        updated_at: now().toISOString(),
        ...(updatedBy ? { updated_by: updatedBy } : {}),
      },
    }),
  );
  return { ok: true, rules: parsed.rules };
};

export type StoredRules = {
  scope: string;
  /** As stored (without key and bookkeeping), even when it does not validate. */
  document: Record<string, unknown>;
  parsed: ParsedRules;
  updatedAt?: string;
  updatedBy?: string;
};

const bookkeeping = (item: Record<string, unknown>): { updatedAt?: string; updatedBy?: string } => ({
  ...(typeof item.updated_at === 'string' ? { updatedAt: item.updated_at } : {}),
  ...(typeof item.updated_by === 'string' ? { updatedBy: item.updated_by } : {}),
});

/** One scope's stored document, or undefined when there is none. */
export const getRules = async (client: RulesWriteClient, table: string, scope: string): Promise<StoredRules | undefined> => {
  const output = await client.send(new GetCommand({ TableName: table, Key: { [SCOPE_ATTRIBUTE]: scope }, ConsistentRead: true }));
  if (!output.Item) return undefined;
  const document = itemToDocument(output.Item);
  return { scope, document, parsed: parseRulesDocument(scope, document), ...bookkeeping(output.Item) };
};

/** Every stored scope with its bookkeeping, sorted (`default` first, then orders). */
export const listScopes = async (
  client: RulesWriteClient,
  table: string,
): Promise<{ scope: string; updatedAt?: string; updatedBy?: string }[]> => {
  const scopes: { scope: string; updatedAt?: string; updatedBy?: string }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ProjectionExpression: '#scope, updated_at, updated_by',
        ExpressionAttributeNames: { '#scope': SCOPE_ATTRIBUTE },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const scope = item[SCOPE_ATTRIBUTE];
      if (typeof scope === 'string') scopes.push({ scope, ...bookkeeping(item) });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return scopes.sort((a, b) =>
    a.scope === defaultScope ? -1 : b.scope === defaultScope ? 1 : a.scope.localeCompare(b.scope),
  );
};

/** Delete one scope; true when there was something to delete. */
export const deleteRules = async (client: RulesWriteClient, table: string, scope: string): Promise<boolean> => {
  const output = await client.send(
    new DeleteCommand({ TableName: table, Key: { [SCOPE_ATTRIBUTE]: scope }, ReturnValues: 'ALL_OLD' }),
  );
  return output.Attributes !== undefined;
};
