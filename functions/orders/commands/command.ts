/**
 * The shop's commands on an order, as they arrive over HTTP or EventBridge (the same body either
 * way), their reason codes, and what makes two deliveries "the same command": the order id, the
 * shop's `command_id` and a fingerprint of the rest of the body. Pure (zod/mini and a hash).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { ledgerReasons } from '../ledger.js';

export const commandKinds = ['capture', 'refund', 'cancel', 'release', 'extend', 'shipping_info'] as const;
export type CommandKind = (typeof commandKinds)[number];

/** The shop's own id for a command: what makes a retry a retry. URL-safe, no spaces. */
export const COMMAND_ID = /^[A-Za-z0-9._~:-]{1,128}$/;

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const count = z.int().check(z.minimum(1), z.maximum(1_000_000));
const money = z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER));
const commandId = z.string().check(z.regex(COMMAND_ID));

const shippingInfo = z.strictObject({
  shipping_company: z.optional(text(100)),
  shipping_method: z.optional(text(100)),
  tracking_number: z.optional(text(100)),
  tracking_uri: z.optional(text(1024)),
  return_shipping_company: z.optional(text(100)),
  return_tracking_number: z.optional(text(100)),
  return_tracking_uri: z.optional(text(1024)),
});
const lines = z.array(z.strictObject({ reference: text(255), quantity: count })).check(z.minLength(1), z.maxLength(1000));

export const commandSchemas = {
  capture: z.strictObject({
    command_id: commandId,
    lines: z.optional(lines),
    amount: z.optional(money),
    reference: z.optional(text(255)),
    shipping_info: z.optional(z.array(shippingInfo).check(z.maxLength(500))),
  }),
  refund: z.strictObject({ command_id: commandId, lines: z.optional(lines), amount: z.optional(money), reference: z.optional(text(255)) }),
  cancel: z.strictObject({ command_id: commandId }),
  release: z.strictObject({ command_id: commandId }),
  extend: z.strictObject({ command_id: commandId }),
  shipping_info: z.strictObject({ command_id: z.optional(commandId), shipping_info: z.array(shippingInfo).check(z.minLength(1), z.maxLength(500)) }),
} as const;

export type CaptureBody = z.infer<typeof commandSchemas.capture>;
export type RefundBody = z.infer<typeof commandSchemas.refund>;
export type ShippingInfoBody = z.infer<typeof commandSchemas.shipping_info>;
export type ShippingInfo = z.infer<typeof shippingInfo>;

/** A command checked for shape, with where it is going. */
export type Command =
  | { kind: 'capture'; order_id: string; body: CaptureBody }
  | { kind: 'refund'; order_id: string; body: RefundBody }
  | { kind: 'cancel' | 'release' | 'extend'; order_id: string; body: { command_id: string } }
  | { kind: 'shipping_info'; order_id: string; capture_id: string; body: ShippingInfoBody };

export type ParsedCommand = { ok: true; command: Command } | { ok: false; reason: 'invalid_command'; message: string };

/** Check a body for a command kind; the message names the first offending field (no values). */
export const parseCommand = (kind: CommandKind, orderId: string, body: unknown, captureId?: string): ParsedCommand => {
  const parsed = commandSchemas[kind].safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    return { ok: false, reason: 'invalid_command', message: `${where}: ${issue?.message ?? 'invalid'}` };
  }
  if (kind === 'shipping_info') {
    if (captureId === undefined) return { ok: false, reason: 'invalid_command', message: 'capture_id: missing' };
    return { ok: true, command: { kind, order_id: orderId, capture_id: captureId, body: parsed.data as ShippingInfoBody } };
  }
  return { ok: true, command: { kind, order_id: orderId, body: parsed.data } as Command };
};

/** Keys sorted at every level: the same content always hashes the same. */
const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
};

/** What the command asks, apart from its id: a repeat must ask exactly this. */
export const fingerprintOf = (command: Command): string => {
  const { command_id: _id, ...rest } = command.body as { command_id?: string };
  const subject = { kind: command.kind, ...(command.kind === 'shipping_info' ? { capture_id: command.capture_id } : {}), ...rest };
  return createHash('sha256').update(JSON.stringify(canonical(subject)), 'utf8').digest('base64url');
};

/** The shipping-info call has no command id of its own: its content is its identity. */
export const commandIdOf = (command: Command): string =>
  command.body.command_id ?? `shipping-info-${command.kind === 'shipping_info' ? command.capture_id : ''}-${fingerprintOf(command).slice(0, 22)}`;

/**
 * Why a command is refused before Klarna is asked (and the HTTP status): bad input 400, an order
 * we do not know 404, everything the order's state forbids 409, Klarna unreachable 503.
 */
export const commandReasons = {
  invalid_command: 400,
  unknown_order: 404,
  command_id_reused: 409,
  command_in_progress: 409,
  order_busy: 409,
  not_acknowledged: 409,
  fraud_status_not_accepted: 409,
  order_cancelled: 409,
  order_closed: 409,
  authorization_expired: 409,
  authorization_released: 409,
  has_captures: 409,
  no_captures: 409,
  nothing_to_release: 409,
  unknown_capture: 409,
  klarna_refused: 409,
  klarna_unavailable: 503,
  ...ledgerReasons,
} as const;
export type CommandReason = keyof typeof commandReasons;

export { COMMAND_FAILED_METRIC, COMMAND_METRIC, EXPIRED_METRIC, commandDetailTypes } from '../command-names.js';
