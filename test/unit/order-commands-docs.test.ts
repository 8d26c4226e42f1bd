/**
 * The commands' documentation stays true: every reason code, event, setting and alarm the code
 * has is in docs/orders-and-events.md / docs/operations.md, and every event has its schema.
 */
import { readFileSync, existsSync } from 'node:fs';
import { commandDetailTypes, commandReasons } from '../../functions/orders/commands/command.js';
import { commandEventTypes } from '../../functions/orders/commands/ports.js';

const page = readFileSync('docs/orders-and-events.md', 'utf8');
const operations = readFileSync('docs/operations.md', 'utf8');
const kebab = (title: string): string => title.toLowerCase().replace(/ /g, '-');
const schemaOf = (title: string): { title: string; properties: Record<string, { enum?: string[] }> } =>
  JSON.parse(readFileSync(`docs/events/${kebab(title)}.schema.json`, 'utf8')) as never;

describe('order commands documentation', () => {
  it.each(Object.entries(commandReasons))('documents reason %s with its status %i', (reason, status) => {
    expect(page).toContain(`| \`${reason}\` | ${status} |`);
  });

  it('lists exactly the reason codes in the Command Refused schema', () => {
    expect(schemaOf('Command Refused').properties.reason?.enum?.sort()).toEqual(Object.keys(commandReasons).sort());
  });

  it.each([...Object.values(commandEventTypes), ...Object.keys(commandDetailTypes)])('has a schema titled "%s" and names it in the page', (detailType) => {
    expect(existsSync(`docs/events/${kebab(detailType)}.schema.json`)).toBe(true);
    expect(schemaOf(detailType).title).toBe(detailType);
    expect(page).toContain(`\`${detailType}\``);
  });

  it.each(['ORDER_LEDGER_TABLE', 'ORDERS_EXPIRY_WARNING_DAYS', 'ORDERS_AUTO_EXTEND', 'ORDERS_API_URL', 'grantCommands', 'expiryWarningDays', 'autoExtend'])('documents %s', (name) => {
    expect(page).toContain(name);
  });

  it.each(['OrderCommandFailedAlarm', 'FailedCommandsQueueAlarm', 'CommandEventsFailedAlarm', 'AuthorizationExpiredWithBalanceAlarm', 'OrderCommandsFailed', 'AuthorizationsExpiredWithBalance'])('has a runbook for %s', (name) => {
    expect(operations).toContain(name);
  });
});
