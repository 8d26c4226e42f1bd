/** Lambda handler for Klarna's `address_update` callback: thin — the wrapper parses and answers, the use case decides. */
import { addressUpdate } from '../callbacks.js';
import { kcoCallback } from './kco-handler.js';
import { callbackRequestParser } from '../order.js';

export const handler = kcoCallback({ callback: 'address_update', parser: callbackRequestParser, decide: addressUpdate });
