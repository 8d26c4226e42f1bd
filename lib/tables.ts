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
};

/** Merchant rules: one item per scope (`default`, `order#<order_id>`), edited by merchants. */
export const rulesTable = {
  id: 'RulesTable',
  envVar: 'RULES_TABLE',
  partitionKey: { name: 'scope', type: 'S' },
} as const satisfies TableDefinition;

/** Cached OSM placements: identity (environment, region, client, placement, locale) × amount. */
export const placementsTable = {
  id: 'PlacementsTable',
  envVar: 'PLACEMENTS_TABLE',
  partitionKey: { name: 'placement_id', type: 'S' },
  sortKey: { name: 'purchase_amount', type: 'N' },
  timeToLiveAttribute: 'expires_at',
} as const satisfies TableDefinition;

export const tables: readonly TableDefinition[] = [rulesTable, placementsTable];
