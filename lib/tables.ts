/**
 * Table definitions, read by the CDK stack and by the local server / tests, so that DynamoDB Local
 * always has the same keys and TTL attribute as AWS. No physical names: the stack lets
 * CloudFormation name the tables and passes the names to the functions in the environment.
 */
export type KeyAttribute = { readonly name: string; readonly type: 'S' | 'N' };

export type TableDefinition = {
  /** Construct id in the stack and the suffix of the local table name. */
  readonly id: string;
  /** Environment variable through which a function learns the table's name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly timeToLiveAttribute?: string;
  /** Global secondary indexes (all attributes projected, unless `keysOnly`). */
  readonly globalIndexes?: readonly { readonly name: string; readonly partitionKey: KeyAttribute; readonly sortKey?: KeyAttribute; readonly keysOnly?: boolean }[];
  /** A stream of new and old images (events are published from it). */
  readonly stream?: boolean;
};

/**
 * Merchant rules: one item per scope (`default`, `order#<order_id>`), edited by merchants. Its
 * stream feeds the rules checker (lib/rules-checker.ts), which checks every write and keeps the
 * history.
 */
export const rulesTable = {
  id: 'RulesTable',
  envVar: 'RULES_TABLE',
  partitionKey: { name: 'scope', type: 'S' },
  stream: true,
} as const satisfies TableDefinition;

/**
 * The rules' earlier versions, written by the rules checker from the rules table's stream: one
 * item per replaced version (`version` ≥ 1, the old image and when it was replaced, expiring
 * `expires_at`), and per scope one item at `version` 0 that holds the scope's current version
 * number and never expires (functions/rules/history-store.ts).
 */
export const rulesHistoryTable = {
  id: 'RulesHistoryTable',
  envVar: 'RULES_HISTORY_TABLE',
  partitionKey: { name: 'scope', type: 'S' },
  sortKey: { name: 'version', type: 'N' },
  timeToLiveAttribute: 'expires_at',
} as const satisfies TableDefinition;

/** Cached OSM placements: identity (environment, region, client, placement, locale) × amount. */
export const placementsTable = {
  id: 'PlacementsTable',
  envVar: 'PLACEMENTS_TABLE',
  partitionKey: { name: 'placement_id', type: 'S' },
  sortKey: { name: 'purchase_amount', type: 'N' },
  timeToLiveAttribute: 'expires_at',
} as const satisfies TableDefinition;

/**
 * Orders after the purchase: one item per Klarna `order_id`, created once by a conditional write,
 * each change of status one conditional update. Its stream carries every change to the event
 * publisher. `awaiting` is set only while an order is recorded but not acknowledged, so the index
 * over it holds exactly the orders the sweeper must look at. `expiry_bucket` + `expiry_due` are
 * set when an order is acknowledged with an authorization end, and removed by the expiry sweep
 * once nothing is left to expire (captured, cancelled, released, expired and alarmed): the sweep
 * queries that index for the orders due within its window instead of scanning the table
 * (functions/orders/handlers/expiry-sweep.ts). Keys only: the sweep reads each order it finds
 * anyway, and a copy of every order item would double the writes. Items expire `purge_at` (TTL).
 */
export const ordersTable = {
  id: 'OrdersTable',
  envVar: 'ORDERS_TABLE',
  partitionKey: { name: 'order_id', type: 'S' },
  timeToLiveAttribute: 'purge_at',
  stream: true,
  globalIndexes: [
    { name: 'awaiting-acknowledgement', partitionKey: { name: 'awaiting', type: 'S' }, sortKey: { name: 'recorded_at', type: 'S' } },
    { name: 'authorization-expiry', partitionKey: { name: 'expiry_bucket', type: 'S' }, sortKey: { name: 'expiry_due', type: 'S' }, keysOnly: true },
  ],
} as const satisfies TableDefinition;

/**
 * The money after the purchase (issue 24): per order, the ledger item (state in units, the command
 * lease), one item per booked command, capture and refund (functions/orders/command-ledger-store.ts).
 * Its stream carries each booked command to the command events publisher.
 */
export const orderLedgerTable = {
  id: 'OrderLedgerTable',
  envVar: 'ORDER_LEDGER_TABLE',
  partitionKey: { name: 'order_id', type: 'S' },
  sortKey: { name: 'entry', type: 'S' },
  timeToLiveAttribute: 'purge_at',
  stream: true,
} as const satisfies TableDefinition;

export const tables: readonly TableDefinition[] = [rulesTable, placementsTable, ordersTable, rulesHistoryTable, orderLedgerTable];
