/**
 * The orders panel: the recorded orders, one order's status, may_ship, totals, captures and refunds,
 * buttons for the shop's commands (all or some units), and the events the local bus received.
 * Commands go to the open `/orders/…` routes `npm start` serves; each click is a new command id.
 */
import { api, byId, el, isObject, money } from './dom.js';

type Line = { reference?: string; type?: string; quantity?: number; total_amount: number };
type View = {
  order: { order_id: string; status: string; fraud_status: string; purchase_currency: string; order_lines: Line[] };
  captures: { capture_id: string; captured_amount: number; captured_at: string }[];
  refunds: { refund_id: string; refunded_amount: number; refunded_at: string }[];
  captured_amount: number;
  refunded_amount: number;
  remaining_authorized_amount: number;
  may_ship: boolean;
  expires_at?: string;
};

let current: string | undefined;

const commandId = (): string => `playground-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** JSON from the command routes: their refusals (`{reason, message}`) are answers, not errors. */
const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(path, body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const selectedUnits = (): { reference: string; quantity: number }[] =>
  [...document.querySelectorAll<HTMLInputElement>('#order-command-lines input[data-reference]')]
    .map((input) => ({ reference: input.dataset.reference ?? '', quantity: Number(input.value) }))
    .filter((line) => Number.isInteger(line.quantity) && line.quantity > 0);

const showView = (view: View): void => {
  const currency = view.order.purchase_currency;
  byId('order-detail').hidden = false;
  byId('order-detail-title').textContent = `Order ${view.order.order_id}`;
  byId('order-status').textContent = `${view.order.status}, fraud ${view.order.fraud_status}`;
  byId('order-may-ship').textContent = String(view.may_ship);
  byId('order-captured').textContent = money(view.captured_amount, currency);
  byId('order-refunded').textContent = money(view.refunded_amount, currency);
  byId('order-remaining').textContent = money(view.remaining_authorized_amount, currency);
  byId('order-expires').textContent = view.expires_at ?? '–';
  const body = byId('order-command-lines').querySelector('tbody');
  body?.replaceChildren(
    ...view.order.order_lines.map((line) => {
      const selectable = line.reference !== undefined && line.total_amount >= 0 && !['discount', 'sales_tax', 'store_credit'].includes(line.type ?? '');
      return el(
        'tr',
        {},
        el('td', {}, line.reference ?? ''),
        el('td', {}, line.type ?? ''),
        el('td', {}, line.quantity ?? ''),
        el('td', {}, money(line.total_amount, currency)),
        el('td', {}, selectable ? el('input', { type: 'number', min: '0', value: '0', 'data-reference': line.reference, 'aria-label': `Units of ${line.reference ?? ''}` }) : 'follows the goods'),
      );
    }),
  );
  byId('order-captures').replaceChildren(...view.captures.map((c) => el('li', { 'data-capture-id': c.capture_id }, `${money(c.captured_amount, currency)} · ${c.capture_id} · ${c.captured_at}`)));
  byId('order-refunds').replaceChildren(...view.refunds.map((r) => el('li', {}, `${money(r.refunded_amount, currency)} · ${r.refund_id} · ${r.refunded_at}`)));
};

const showEvents = async (orderId: string): Promise<void> => {
  const { body } = await api<{ detail_type: string; detail: Record<string, unknown> }[]>(`/playground/api/events?order_id=${encodeURIComponent(orderId)}`);
  byId('order-events').replaceChildren(
    ...body.map((event) => el('li', {}, `${event.detail_type}${typeof event.detail.reason === 'string' ? ` (${event.detail.reason})` : ''}`)),
  );
};

export const showOrder = async (orderId: string): Promise<void> => {
  current = orderId;
  const { status, body } = await call('GET', `/orders/${encodeURIComponent(orderId)}`);
  if (status !== 200) {
    byId('command-answer').textContent = `${status} ${String(body.reason ?? '')}`;
    return;
  }
  showView(body as unknown as View);
  await showEvents(orderId);
};

export const loadOrders = async (): Promise<void> => {
  const { body } = await api<Record<string, unknown>[]>('/playground/api/recorded-orders');
  byId('orders-list').querySelector('tbody')?.replaceChildren(
    ...body.map((order) => {
      const id = String(order.order_id);
      const button = el('button', { type: 'button', 'data-order-id': id }, 'Show');
      button.addEventListener('click', () => void showOrder(id));
      return el(
        'tr',
        {},
        el('td', {}, id),
        el('td', {}, String(order.status)),
        el('td', {}, String(order.fraud_status)),
        el('td', {}, money(order.order_amount, String(order.purchase_currency))),
        el('td', {}, button),
      );
    }),
  );
};

const run = async (route: string, body: Record<string, unknown>): Promise<void> => {
  if (current === undefined) return;
  const orderId = current;
  const answer = await call('POST', `/orders/${encodeURIComponent(orderId)}/${route}`, { command_id: commandId(), ...body });
  const text = isObject(answer.body) && typeof answer.body.reason === 'string' ? `${answer.body.reason}: ${String(answer.body.message ?? '')}` : JSON.stringify(answer.body);
  // The answer shows once the order shown is the order after the command.
  await showOrder(orderId);
  byId('command-answer').textContent = `${route} → ${answer.status} ${text}`;
  byId('command-answer').dataset.status = String(answer.status);
  // Bookings' events come from the ledger stream, which the local service polls.
  setTimeout(() => void showEvents(orderId), 600);
  await loadOrders();
};

export const initOrders = async (defaultOrderId: string): Promise<void> => {
  const pushId = byId<HTMLInputElement>('orders-push-id');
  pushId.value = defaultOrderId;
  byId('orders-push').addEventListener('click', () => {
    void api<{ status: number }>('/playground/api/push', { method: 'POST', body: { order_id: pushId.value } }).then(async ({ body }) => {
      byId('command-answer').textContent = `push → ${body.status}`;
      await loadOrders();
      await showOrder(pushId.value);
    });
  });
  byId('orders-refresh').addEventListener('click', () => void loadOrders().then(() => (current ? showOrder(current) : undefined)));
  byId('cmd-capture-all').addEventListener('click', () => void run('captures', {}));
  const withUnits = (route: string): void => {
    const lines = selectedUnits();
    if (lines.length === 0) byId('command-answer').textContent = 'Enter the units of at least one line first.';
    else void run(route, { lines });
  };
  byId('cmd-capture-lines').addEventListener('click', () => withUnits('captures'));
  byId('cmd-refund-all').addEventListener('click', () => void run('refunds', {}));
  byId('cmd-refund-lines').addEventListener('click', () => withUnits('refunds'));
  byId('cmd-cancel').addEventListener('click', () => void run('cancel', {}));
  byId('cmd-release').addEventListener('click', () => void run('release', {}));
  byId('cmd-extend').addEventListener('click', () => void run('extend', {}));
  await loadOrders();
};
