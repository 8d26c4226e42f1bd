/** `POST /kco/orders/{order_id}/push?token=…`: Klarna's push after the purchase. */
import { orderHandler } from './order-handler.js';

export const handler = orderHandler('push');
