/** Lambda handler for Klarna's `shipping_option_update` callback: thin — the wrapper parses and answers, the use case decides. */
import { shippingOptionUpdate } from '../callbacks.js';
import { kcoCallback } from './kco-handler.js';
import { callbackRequestParser } from '../order.js';

export const handler = kcoCallback({ callback: 'shipping_option_update', parser: callbackRequestParser, decide: shippingOptionUpdate });
