/**
 * The rules checker: the rules table's stream → the same parse the callbacks apply → an event on
 * the shop's bus (`Rules Changed` or `Rules Rejected`), a count of rejections, and the replaced
 * version kept in the history table.
 *
 * One batch (up to the trigger's batch size) costs one BatchGetItem of the scopes' heads, one
 * PutEvents per ten records, and two writes per record that replaced a version (none for a scope's
 * first version: a flood of new order scopes writes nothing but its events). Records of one scope
 * arrive in order; a record that fails (DynamoDB, EventBridge) is reported as the batch's first
 * failure, so Lambda retries from it and nothing after it overtakes it. A retried record that was
 * recorded already (the head's sequence is not older) is skipped; its events may repeat, with the
 * same `scope` and `version` (consumers drop repeats by those two).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { intEnv, requireEnv } from '../../shared/config.js';
import { createDynamoDbClient } from '../../shared/dynamodb.js';
import { describeError, logger } from '../../shared/log.js';
import { countRulesRejected } from '../../shared/metrics.js';
import { createEventBridgeClient } from '../../shared/event-bridge.js';
import {
  EVENT_SOURCE,
  eventForWrite,
  rulesEventTypes,
  recordedAlready,
  scopeKinds,
  versionsFor,
  type RulesEvent,
  type ScopeKind,
} from '../change.js';
import { readHeads, readImage, recordChange, type HistoryClient, type Image, type RecordChange, type RecordedHead } from '../history-store.js';

/** The port: put up to ten entries on the bus, answer how many EventBridge did not take. */
export type EventBus = { put(entries: PutEventsRequestEntry[]): Promise<{ failed: number }> };

const eventBridgeBus = (): EventBus => {
  const client = createEventBridgeClient();
  return { put: async (entries) => ({ failed: (await client.send(new PutEventsCommand({ Entries: entries }))).FailedEntryCount ?? 0 }) };
};

export type CheckerDeps = {
  history: HistoryClient;
  historyTable: string;
  bus: EventBus;
  busName: string;
  retentionDays: number;
  now: () => Date;
};

/** What one record comes to: its event and what to write (nothing for a scope's first version). */
type Plan = { sequence: string; event: RulesEvent; write?: RecordChange };

const ENTRIES_PER_PUT = 10;

/** Lambda gives seconds since the epoch; the SDK (the local stream reader) a Date. */
const changeTime = (record: DynamoDBRecord, now: () => Date): Date => {
  const value: unknown = record.dynamodb?.ApproximateCreationDateTime;
  if (typeof value === 'number') return new Date(value * 1000);
  if (value instanceof Date) return value;
  return now();
};

const imageOf = (image: unknown): Image | undefined => (image ? (image as Record<string, AttributeValue>) : undefined);

const logEvent = (event: RulesEvent): void => {
  if (event.detailType === rulesEventTypes.rejected) {
    const { scope, scope_kind, version, problem, issues, issue_count } = event.detail;
    // Which scope and field, never the values: the dashboard's "Rejected rules" table reads these lines.
    for (const issue of issues) {
      logger.error('rules rejected', { scope, scope_kind, version, rejection: problem, path: issue.path, problem: issue.message, issue_count });
    }
  } else {
    const { scope, version, change, changed_fields } = event.detail;
    logger.info('rules changed', { scope, version, change, changed_fields });
  }
};

/** Check a batch of rules-table stream records; see the module comment. */
export const checkRecords = async (records: readonly DynamoDBRecord[], deps: CheckerDeps): Promise<DynamoDBBatchResponse> => {
  const withScope = records.flatMap((record) => {
    const scope = record.dynamodb?.Keys?.scope?.S;
    const sequence = record.dynamodb?.SequenceNumber;
    if (scope === undefined || sequence === undefined) {
      logger.warn('rules stream record without scope or sequence', { event_name: record.eventName });
      return [];
    }
    return [{ record, scope, sequence }];
  });
  const first = withScope[0];
  if (!first) return { batchItemFailures: [] };
  const failAt = (sequence: string): DynamoDBBatchResponse => ({ batchItemFailures: [{ itemIdentifier: sequence }] });

  let heads: Map<string, RecordedHead>;
  try {
    heads = await readHeads(deps.history, deps.historyTable, withScope.map((r) => r.scope));
  } catch (error) {
    logger.error('rules history unavailable', { step: 'read_heads', ...describeError(error) });
    return failAt(first.sequence);
  }

  // Plan every record in order, advancing each scope's head in memory as its writes will.
  const plans: Plan[] = [];
  for (const { record, scope, sequence } of withScope) {
    const head = heads.get(scope);
    if (recordedAlready(head, sequence, record.eventSourceARN)) continue; // by an earlier attempt
    const oldImage = imageOf(record.dynamodb?.OldImage);
    const newImage = imageOf(record.dynamodb?.NewImage);
    const before = oldImage ? readImage(scope, oldImage) : undefined;
    const after = newImage ? readImage(scope, newImage) : undefined;
    const { previous, next } = versionsFor(head, oldImage !== undefined);
    const at = changeTime(record, deps.now);
    const event = eventForWrite({
      scope,
      ...(before ? { before: before.document } : {}),
      ...(after ? { after: after.document, parsed: after.parsed } : {}),
      version: next,
      previousVersion: previous,
      occurredAt: at.toISOString(),
    });
    let write: RecordChange | undefined;
    if (previous !== null) {
      write = {
        scope,
        replaced: { version: previous, image: oldImage },
        version: next,
        present: newImage !== undefined,
        sequence,
        stream: record.eventSourceARN,
        previousHead: head,
        changedAt: at,
        retentionDays: deps.retentionDays,
      };
      heads.set(scope, {
        latestVersion: next,
        present: newImage !== undefined,
        lastSequence: sequence,
        ...(record.eventSourceARN === undefined ? {} : { lastStream: record.eventSourceARN }),
      });
    }
    plans.push({ sequence, event, ...(write ? { write } : {}) });
  }

  // Events in stream order, ten to a PutEvents; the first chunk that fails ends the batch there.
  let failedFrom = plans.length;
  for (let start = 0; start < plans.length; start += ENTRIES_PER_PUT) {
    const chunk = plans.slice(start, start + ENTRIES_PER_PUT);
    let failed: number;
    try {
      failed = (
        await deps.bus.put(
          chunk.map(({ event }) => ({
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            EventBusName: deps.busName,
            Time: new Date(event.detail.occurred_at),
          })),
        )
      ).failed;
    } catch (error) {
      logger.error('rules events not published', { step: 'events_failed', ...describeError(error) });
      failed = chunk.length;
    }
    if (failed > 0) {
      logger.warn('rules events will be retried', { step: 'events_retry', scope: chunk[0]?.event.detail.scope, failed });
      failedFrom = start;
      break;
    }
  }

  // The history, record by record, up to the first failure.
  for (let i = 0; i < failedFrom; i += 1) {
    const plan = plans[i] as Plan;
    if (!plan.write) continue;
    try {
      await recordChange(deps.history, deps.historyTable, plan.write);
    } catch (error) {
      logger.error('rules history not written', { step: 'history_failed', scope: plan.write.scope, version: plan.write.version, ...describeError(error) });
      failedFrom = i;
      break;
    }
  }

  // Per kind of scope: the rejections, or 0 when only accepted writes came. The alarms keep their
  // state while no data comes (lib/rules-checker.ts): a 0 is what turns them back to OK.
  const rejected = new Map<ScopeKind, number>();
  for (const plan of plans.slice(0, failedFrom)) {
    logEvent(plan.event);
    const kind = plan.event.detail.scope_kind;
    rejected.set(kind, (rejected.get(kind) ?? 0) + (plan.event.detailType === rulesEventTypes.rejected ? 1 : 0));
  }
  for (const kind of scopeKinds) {
    const count = rejected.get(kind);
    if (count !== undefined) countRulesRejected(kind, count);
  }

  const failed = plans[failedFrom];
  return failed ? failAt(failed.sequence) : { batchItemFailures: [] };
};

let deps: CheckerDeps | undefined;

/** From the environment: RULES_HISTORY_TABLE, EVENT_BUS_NAME, RULES_HISTORY_DAYS (default 90). */
const depsFromEnv = (): CheckerDeps => ({
  history: createDynamoDbClient(),
  historyTable: requireEnv('RULES_HISTORY_TABLE'),
  bus: eventBridgeBus(),
  busName: requireEnv('EVENT_BUS_NAME'),
  retentionDays: intEnv('RULES_HISTORY_DAYS', 90, { min: 1, max: 3650 }),
  now: () => new Date(),
});

export const handler = async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
  // Every line of the invocation carries this function's name and request id.
  if (context) logger.addContext(context);
  return checkRecords(event.Records, (deps ??= depsFromEnv()));
};
