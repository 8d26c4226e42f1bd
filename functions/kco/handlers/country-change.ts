/** Lambda handler for Klarna's `country_change` callback: thin — the wrapper parses and answers, the use case decides. */
import { countryChange } from '../callbacks.js';
import { kcoCallback } from './kco-handler.js';
import { callbackRequestParser } from '../order.js';

export const handler = kcoCallback({ callback: 'country_change', parser: callbackRequestParser, decide: countryChange });
