/**
 * `POST /kco/orders/{order_id}/notification?token=…`: Klarna's fraud decision
 * (FRAUD_RISK_ACCEPTED / _REJECTED / _STOPPED). The body is not trusted: the order is re-read.
 */
import { orderHandler } from './order-handler.js';

export const handler = orderHandler('notification');
