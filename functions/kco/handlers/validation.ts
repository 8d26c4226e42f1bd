/** Lambda handler for Klarna's `validation` callback: thin — the wrapper parses and answers, the use case decides. */
import { validation } from '../callbacks.js';
import { kcoCallback } from './kco-handler.js';
import { validationOrderParser } from '../order.js';

export const handler = kcoCallback({ callback: 'validation', parser: validationOrderParser, decide: validation });
