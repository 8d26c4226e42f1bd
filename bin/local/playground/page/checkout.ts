/**
 * The shopper's side: an order, the address, billing country and shipping option as Klarna's
 * checkout lets a shopper change them, and what each callback answered. Each change sends the
 * body Klarna would send; a 200 update becomes the order the next callback sees, as in Klarna.
 */
import { api, byId, el, isObject, money } from './dom.js';

export type Order = Record<string, unknown>;
export type ExampleOrder = { key: string; label: string; source: 'klarna' | 'ours'; orderId: string; order: Order };

type Offered = { id: string; name?: string; description?: string; price?: number; tax_amount?: number; preselected?: boolean };
type Decision = { decision?: string; reason?: string; line?: number };
type CallbackAnswer = { callback: string; status: number; location?: string; body: string; decision?: Decision };

const state = { order: {} as Order, orderId: '', offered: [] as Offered[] };

const currency = (): string => (typeof state.order.purchase_currency === 'string' ? state.order.purchase_currency : '');
const address = (key: 'shipping_address' | 'billing_address'): Record<string, unknown> => {
  const value = state.order[key];
  return isObject(value) ? value : {};
};
const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');
const input = (id: string): HTMLInputElement => byId<HTMLInputElement>(id);

const ADDRESS_FIELDS = [
  ['address-street', 'street_address'],
  ['address-postal', 'postal_code'],
  ['address-city', 'city'],
  ['address-region', 'region'],
  ['address-country', 'country'],
] as const;

const renderOrder = (): void => {
  const rows = (Array.isArray(state.order.order_lines) ? state.order.order_lines : []).filter(isObject).map((line) =>
    el(
      'tr',
      {},
      el('td', {}, text(line.type) || 'physical'),
      el('td', {}, text(line.reference)),
      el('td', {}, text(line.name)),
      el('td', { class: 'num' }, text(line.quantity)),
      el('td', { class: 'num' }, text(line.total_amount)),
      el('td', { class: 'num' }, text(line.tax_rate)),
      el('td', { class: 'num' }, text(line.total_tax_amount)),
    ),
  );
  byId('order-lines').querySelector('tbody')?.replaceChildren(...rows);
  byId('order-totals').textContent =
    `order_amount ${money(state.order.order_amount, currency())}, order_tax_amount ${money(state.order.order_tax_amount, currency())}`;
};

const renderOptions = (): void => {
  const selected = isObject(state.order.selected_shipping_option) ? state.order.selected_shipping_option.id : undefined;
  const list = byId('shipping-option-list');
  list.replaceChildren(
    ...state.offered.map((option, i) => {
      const radio = el('input', { type: 'radio', name: 'shipping-option', id: `shipping-option-${i}`, value: option.id });
      radio.checked = option.id === selected;
      radio.addEventListener('change', () => {
        if (radio.checked) void send('shipping_option_update', { ...state.order, selected_shipping_option: option });
      });
      const details = [option.description, money(option.price, currency())].filter(Boolean).join(', ');
      return el('label', { for: radio.id }, radio, el('span', {}, `${option.name ?? option.id} (${option.id}): ${details}`));
    }),
  );
  byId('shipping-options-help').hidden = state.offered.length > 0;
};

const fillForms = (): void => {
  const shipping = Object.keys(address('shipping_address')).length ? address('shipping_address') : address('billing_address');
  for (const [id, field] of ADDRESS_FIELDS) input(id).value = text(shipping[field]);
  input('billing-country').value = text(address('billing_address').country) || text(shipping.country);
};

export const useOrder = (order: Order, orderId: string): void => {
  state.order = structuredClone(order);
  state.orderId = orderId;
  // A full checkout order carries the options Klarna showed; callback bodies do not.
  state.offered = Array.isArray(order.shipping_options) ? order.shipping_options.filter(isObject).filter((o): o is Offered => typeof o.id === 'string') : [];
  input('order-id').value = orderId;
  fillForms();
  renderOrder();
  renderOptions();
};

export const currentOrderId = (): string => input('order-id').value.trim();

const totals = (order: unknown): string =>
  isObject(order) && typeof order.order_amount === 'number'
    ? `${money(order.order_amount, currency())}, tax ${money(order.order_tax_amount, currency())}`
    : 'unchanged';

const parseBody = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

/** The `reason` a deny page gets in its query, when the Location is a URL at all. */
const reasonIn = (location: string | undefined): string | null => {
  try {
    return location ? new URL(location).searchParams.get('reason') : null;
  } catch {
    return null;
  }
};

const renderAnswer = (answer: CallbackAnswer, sent: Order): HTMLElement => {
  const body = parseBody(answer.body);
  const error = isObject(body) ? body : {};
  const locationReason = reasonIn(answer.location);
  const reason = answer.decision?.reason ?? locationReason ?? (answer.status === 200 ? '—' : 'not logged (set LOG_LEVEL=INFO)');
  const facts: [string, string, string][] = [
    ['status', 'Status', String(answer.status)],
    ['decision', 'Decision', answer.decision?.decision ?? '—'],
    ['reason', 'Reason code', answer.decision?.line === undefined ? reason : `${reason} (line ${answer.decision.line})`],
  ];
  if (typeof error.error_type === 'string') facts.push(['error-type', 'error_type', error.error_type]);
  if (typeof error.error_text === 'string') facts.push(['error-text', 'Shopper reads', error.error_text]);
  if (answer.location) facts.push(['location', 'Location', answer.location]);
  facts.push(['before', 'Totals before', totals(sent)]);
  facts.push(['after', 'Totals after', answer.status === 200 && answer.callback !== 'validation' ? totals(body) : 'unchanged']);
  return el(
    'li',
    { class: `result status-${String(answer.status).charAt(0)}`, 'data-callback': answer.callback },
    el('h4', {}, `${answer.callback} → ${answer.status}`),
    el('dl', { class: 'facts' }, ...facts.flatMap(([key, label, value]) => [el('dt', {}, label), el('dd', { 'data-field': key }, value)])),
    el(
      'details',
      {},
      el('summary', {}, 'Response body'),
      el('pre', { 'data-field': 'body' }, body === undefined ? answer.body || '(empty)' : JSON.stringify(body, null, 2)),
    ),
  );
};

/** Klarna's 200 answer is the order from now on; the option it marks preselected is the shopper's. */
const applyUpdate = (sent: Order, body: unknown): void => {
  if (!isObject(body)) return;
  const offered = Array.isArray(body.shipping_options) ? body.shipping_options.filter(isObject) : [];
  state.offered = offered.filter((o): o is Offered => typeof o.id === 'string');
  const { shipping_options: _ignored, ...rest } = body;
  const chosen = state.offered.find((o) => o.preselected);
  state.order = { ...sent, ...rest };
  if (chosen) state.order.selected_shipping_option = chosen;
  else delete state.order.selected_shipping_option;
  renderOrder();
  renderOptions();
};

const send = async (callback: string, body: Order): Promise<void> => {
  const results = byId('results');
  try {
    const { body: answer } = await api<CallbackAnswer>(`/playground/api/callbacks/${callback}`, {
      method: 'POST',
      body: { order_id: currentOrderId(), order: body },
    });
    results.prepend(renderAnswer(answer, body));
    if (answer.status === 200 && callback !== 'validation') applyUpdate(body, parseBody(answer.body));
    else renderOptions(); // a refused option change leaves the shopper's previous choice
  } catch (error) {
    results.prepend(el('li', { class: 'result status-5' }, el('h4', {}, `${callback}: not sent`), el('p', { class: 'error' }, String(error))));
  }
};

const formAddress = (): Record<string, unknown> => {
  const next: Record<string, unknown> = { ...address('shipping_address') };
  for (const [id, field] of ADDRESS_FIELDS) {
    const value = input(id).value.trim();
    if (value) next[field] = field === 'country' ? value.toUpperCase() : value;
    else delete next[field];
  }
  return next;
};

export const initCheckout = (orders: readonly ExampleOrder[], onOrderId: (orderId: string) => void): void => {
  const pick = byId<HTMLSelectElement>('order-pick');
  const groups = (['ours', 'klarna'] as const).map((source) =>
    el(
      'optgroup',
      { label: source === 'ours' ? 'Ours (fit the example rules)' : "Klarna's examples (callback reference)" },
      ...orders.filter((o) => o.source === source).map((o) => el('option', { value: o.key }, o.label)),
    ),
  );
  pick.replaceChildren(...groups);
  const choose = (): void => {
    const chosen = orders.find((o) => o.key === pick.value);
    if (!chosen) return;
    useOrder(chosen.order, chosen.orderId);
    onOrderId(chosen.orderId);
  };
  pick.addEventListener('change', choose);
  input('order-id').addEventListener('change', () => {
    state.orderId = currentOrderId();
    onOrderId(state.orderId);
  });

  byId('order-paste-use').addEventListener('click', () => {
    const problem = byId('order-paste-error');
    const pasted = parseBody(byId<HTMLTextAreaElement>('order-paste').value);
    if (!isObject(pasted)) {
      problem.textContent = 'Not a JSON object: paste the body Klarna sends (order_amount, order_lines, …).';
      return;
    }
    problem.textContent = '';
    useOrder(pasted, currentOrderId() || 'pasted-order');
    onOrderId(currentOrderId());
  });

  byId('address-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void send('address_update', { ...state.order, shipping_address: formAddress() });
  });
  byId('country-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const country = input('billing-country').value.trim().toUpperCase();
    void send('country_change', { ...state.order, billing_address: { ...address('billing_address'), country } });
  });
  byId('validate').addEventListener('click', () => {
    const country = text(address('billing_address').country) || text(address('shipping_address').country);
    void send('validation', { ...state.order, order_id: currentOrderId(), ...(country ? { purchase_country: country } : {}) });
  });

  choose();
};
