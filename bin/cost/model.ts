/**
 * What a deployment costs: the fixed monthly cost of an idle deployment and the cost of 1 000
 * checkouts, from a synthesized CloudFormation template (what is deployed: how many secrets,
 * alarms, web ACL rules, how much memory each function has) and a dated price table whose every
 * price names its source (bin/cost/prices.json). Pure: `npm run cost` synthesizes and prints.
 */

export type Price = { usd: number; unit: string; source: string; as_published: string };
export type PriceTable = { date: string; region: string; currency: string; note: string; prices: Record<string, Price> };
type Resource = { Type: string; Properties?: Record<string, unknown> };
export type Template = { Resources: Record<string, Resource> };

/** AWS bills a month as 730 hours. */
const HOURS_PER_MONTH = 730;

/**
 * What one checkout does, from the design and the benchmark (docs/performance.md): the numbers
 * the model cannot read from the template. Each is an assumption; change it here and the docs
 * page follows (`npm run cost -- --write`).
 */
export const usage = {
  /** address_update, country_change, shipping_option_update and validation: Klarna's four callbacks. */
  callbacksPerCheckout: 4,
  /** The push after the purchase (Klarna pushes again only until it is acknowledged). */
  pushesPerCheckout: 1,
  /** Order Recorded and Order Acknowledged, one publisher invocation each. */
  eventsPerCheckout: 2,
  /** Billed duration of a warm invocation: the callbacks' work is under 1 ms, the rest is one DynamoDB round trip. */
  billedMs: { callback: 10, push: 60, publisher: 20, sweeper: 100 },
  /** Share of invocations that start a container, and the init time Lambda bills for it (part 2 of the bench: ~200 ms). */
  coldStartShare: 0.05,
  coldStartBilledMs: 200,
  /** DynamoDB request units per checkout: a rules read per callback (two items, eventually consistent, 1 RRU); the push's GetItem (0.5), rules read (1), order PutItem (~3 KB: 3 WRU), two UpdateItem (3 WRU each); the shop's order-scope PutItem (1 WRU). Lambda's reads of the stream are free. */
  readRequestUnitsPerCheckout: 4 * 1 + 0.5 + 1,
  writeRequestUnitsPerCheckout: 3 + 2 * 3 + 1,
  /** An order item (~3 KB) and the order scope (~1 KB) kept 90 days: three months' checkouts are stored at any time. */
  storedKbPerCheckout: 4,
  monthsKept: 3,
  /** Log bytes per checkout: an access-log line per API request (400 B), per invocation the Lambda START/END/REPORT lines (350 B), each function's own lines (600 B each) and metric lines (500 B each). */
  logBytesPerCheckout: 5 * 400 + 7 * 350 + (4 * 1 + 5 + 2 * 2) * 600 + (4 + 1) * 500,
  /** Idle: the sweeper's one custom metric (OrdersAwaitingAcknowledgement) and ~1.5 KB of log per sweep. */
  idleCustomMetrics: 1,
  logBytesPerSweep: 1500,
  /** A sweep reads the index of orders awaiting acknowledgement once (an empty Query: 0.5 RRU). */
  readRequestUnitsPerSweep: 0.5,
} as const;

export type Line = { item: string; quantity: number; unit: string; priceKey: string; usd: number };

const resources = (template: Template, type: string): [string, Resource][] => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

const price = (prices: PriceTable, key: string): Price => {
  const found = prices.prices[key];
  if (!found) throw new Error(`No price "${key}" in the price table`);
  return found;
};

/** Memory (GB) of the function whose logical id contains `id` (construct ids end up in logical ids). */
const memoryGb = (template: Template, id: string): number => {
  const found = resources(template, 'AWS::Lambda::Function').find(([logicalId]) => logicalId.includes(id));
  if (!found) throw new Error(`No function ${id} in the template`);
  return Number(found[1].Properties?.MemorySize ?? 128) / 1024;
};

/** Invocations a month of a `rate(N minutes|hours)` schedule. */
const scheduledPerMonth = (expression: string): number => {
  const match = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression);
  if (!match) throw new Error(`Unknown schedule ${expression}`);
  const everyMinutes = Number(match[1]) * (match[2]!.startsWith('hour') ? 60 : 1);
  return (HOURS_PER_MONTH * 60) / everyMinutes;
};

const line = (prices: PriceTable, item: string, quantity: number, priceKey: string): Line => {
  const p = price(prices, priceKey);
  return { item, quantity, unit: p.unit, priceKey, usd: quantity * p.usd };
};

/** Lambda's cost of `invocations` warm invocations of `billedMs` at `gb`, cold starts included. */
const lambdaGbSeconds = (invocations: number, billedMs: number, gb: number): number =>
  invocations * gb * ((billedMs + usage.coldStartShare * usage.coldStartBilledMs) / 1000);

export const fixedMonthly = (template: Template, prices: PriceTable): Line[] => {
  const alarmMetrics = resources(template, 'AWS::CloudWatch::Alarm').reduce((sum, [, alarm]) => {
    const metrics = alarm.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
    return sum + (metrics ? metrics.filter((m) => m.MetricStat !== undefined).length : 1);
  }, 0);
  const webAcls = resources(template, 'AWS::WAFv2::WebACL');
  const wafRules = webAcls.reduce((sum, [, acl]) => sum + ((acl.Properties?.Rules as unknown[] | undefined)?.length ?? 0), 0);
  const schedules = resources(template, 'AWS::Events::Rule').flatMap(([, rule]) => (typeof rule.Properties?.ScheduleExpression === 'string' ? [rule.Properties.ScheduleExpression] : []));
  const sweeps = schedules.reduce((sum, expression) => sum + scheduledPerMonth(expression), 0);
  const lines = [
    line(prices, 'Secrets Manager secrets', resources(template, 'AWS::SecretsManager::Secret').length, 'secrets_manager_secret_month'),
    line(prices, 'WAF web ACLs', webAcls.length, 'waf_web_acl_month'),
    line(prices, 'WAF rules', wafRules, 'waf_rule_month'),
    line(prices, 'CloudWatch alarm metrics', alarmMetrics, 'cloudwatch_alarm_metric_month'),
    line(prices, 'CloudWatch dashboards', resources(template, 'AWS::CloudWatch::Dashboard').length, 'cloudwatch_dashboard_month'),
    line(prices, 'CloudWatch custom metrics while idle', usage.idleCustomMetrics, 'cloudwatch_custom_metric_month'),
    line(prices, 'Scheduled sweeps (Lambda requests)', sweeps, 'lambda_request'),
    line(prices, 'Scheduled sweeps (Lambda GB-seconds)', lambdaGbSeconds(sweeps, usage.billedMs.sweeper, schedules.length > 0 ? memoryGb(template, 'OrderSweeperFunction') : 0), 'lambda_gb_second_arm64'),
    line(prices, 'Scheduled sweeps (DynamoDB read request units)', sweeps * usage.readRequestUnitsPerSweep, 'dynamodb_read_request_unit'),
    line(prices, 'Scheduled sweeps (log GB ingested)', (sweeps * usage.logBytesPerSweep) / 1e9, 'cloudwatch_logs_ingestion_gb'),
  ];
  return lines.filter((l) => l.quantity > 0);
};

export const perThousandCheckouts = (template: Template, prices: PriceTable): Line[] => {
  const n = 1000;
  const requests = n * (usage.callbacksPerCheckout + usage.pushesPerCheckout);
  const callbackGb = memoryGb(template, 'AddressUpdateFunction');
  const lambdaGbS =
    lambdaGbSeconds(n * usage.callbacksPerCheckout, usage.billedMs.callback, callbackGb) +
    lambdaGbSeconds(n * usage.pushesPerCheckout, usage.billedMs.push, memoryGb(template, 'OrderPushFunction')) +
    lambdaGbSeconds(n * usage.eventsPerCheckout, usage.billedMs.publisher, memoryGb(template, 'OrderEventsPublisherFunction'));
  const invocations = n * (usage.callbacksPerCheckout + usage.pushesPerCheckout + usage.eventsPerCheckout);
  const storedGb = (n * usage.storedKbPerCheckout * usage.monthsKept) / 1e6;
  return [
    line(prices, 'API Gateway requests', requests, 'api_gateway_rest_request'),
    line(prices, 'WAF requests', requests, 'waf_request'),
    line(prices, 'Lambda requests', invocations, 'lambda_request'),
    line(prices, 'Lambda GB-seconds', lambdaGbS, 'lambda_gb_second_arm64'),
    line(prices, 'DynamoDB read request units', n * usage.readRequestUnitsPerCheckout, 'dynamodb_read_request_unit'),
    line(prices, 'DynamoDB write request units', n * usage.writeRequestUnitsPerCheckout, 'dynamodb_write_request_unit'),
    line(prices, 'DynamoDB storage of the orders kept (GB-month)', storedGb, 'dynamodb_storage_gb_month'),
    line(prices, 'DynamoDB point-in-time recovery of them (GB-month)', storedGb, 'dynamodb_pitr_gb_month'),
    line(prices, 'EventBridge events', n * usage.eventsPerCheckout, 'eventbridge_custom_event'),
    line(prices, 'CloudWatch Logs ingested (GB)', (n * usage.logBytesPerCheckout) / 1e9, 'cloudwatch_logs_ingestion_gb'),
  ];
};

const total = (lines: readonly Line[]): number => lines.reduce((sum, l) => sum + l.usd, 0);

const quantity = (value: number): string => (Number.isInteger(value) ? value.toLocaleString('en-US') : value < 1 ? value.toPrecision(3) : value.toLocaleString('en-US', { maximumFractionDigits: 1 }));
const usd = (value: number): string => `$${value >= 0.1 ? value.toFixed(2) : value.toFixed(4)}`;

const table = (lines: readonly Line[], prices: PriceTable): string[] => [
  '| item | quantity | unit | price (source) | cost |',
  '|---|---|---|---|---|',
  ...lines.map((l) => `| ${l.item} | ${quantity(l.quantity)} | ${l.unit} | [${price(prices, l.priceKey).as_published}](${price(prices, l.priceKey).source}) | ${usd(l.usd)} |`),
  `| **total** | | | | **${usd(total(lines))}** |`,
];

/** The figures as the docs page shows them (between its cost markers). */
export const renderCost = (template: Template, prices: PriceTable): string => {
  const fixed = fixedMonthly(template, prices);
  const checkouts = perThousandCheckouts(template, prices);
  return [
    `Prices: ${prices.region} list prices in ${prices.currency} as of **${prices.date}**, free tier left out ([bin/cost/prices.json](../bin/cost/prices.json)). ${prices.note}`,
    '',
    `**Fixed monthly cost of an idle deployment: ${usd(total(fixed))}.** **Each 1 000 checkouts: ${usd(total(checkouts))}.**`,
    '',
    '### Fixed monthly cost of an idle deployment',
    '',
    ...table(fixed, prices),
    '',
    '### Cost per 1 000 checkouts',
    '',
    `A checkout: ${usage.callbacksPerCheckout} callbacks, ${usage.pushesPerCheckout} push, ${usage.eventsPerCheckout} events (the assumptions are \`usage\` in [bin/cost/model.ts](../bin/cost/model.ts)).`,
    '',
    ...table(checkouts, prices),
  ].join('\n');
};

export const COST_BEGIN = '<!-- npm run cost: begin -->';
export const COST_END = '<!-- npm run cost: end -->';

/** The docs page with its generated section replaced. */
export const withCostSection = (page: string, section: string): string => {
  const begin = page.indexOf(COST_BEGIN);
  const end = page.indexOf(COST_END);
  if (begin < 0 || end < begin) throw new Error('docs/cost.md has no cost markers');
  return `${page.slice(0, begin + COST_BEGIN.length)}\n${section}\n${page.slice(end)}`;
};

/** The section as it stands in the page. */
export const costSection = (page: string): string => {
  const begin = page.indexOf(COST_BEGIN);
  const end = page.indexOf(COST_END);
  return begin < 0 || end < begin ? '' : page.slice(begin + COST_BEGIN.length, end).trim();
};
