/**
 * A command's event as the bus entry it is put as: by the command functions for a refusal or a
 * failure, by the ledger's stream publisher for a booking. Its own module so the publisher does
 * not bundle the command functions' dependencies.
 */
import type { CommandEvent } from '../commands/ports.js';
import { EVENT_SOURCE } from '../events.js';

export const commandBusEntries = (event: CommandEvent, busName: string) => [
  { Source: EVENT_SOURCE, DetailType: event.detailType, Detail: JSON.stringify(event.detail), EventBusName: busName, Time: new Date(event.detail.occurred_at) },
];
