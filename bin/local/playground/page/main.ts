/** The playground page: wires the checkout, the rules editor and the OSM preview. */
import { api, byId } from './dom.js';
import { currentOrderId, initCheckout, type ExampleOrder } from './checkout.js';
import { initOsm } from './osm.js';
import { initOrders } from './orders.js';
import { initRules, loadRules } from './rules.js';

const scopeSelect = (): HTMLSelectElement => byId<HTMLSelectElement>('rules-scope');

/** "this order" follows the order id in the callback URL, as the callbacks read `order#<id>`. */
const rulesScope = (): string => (scopeSelect().value === 'default' ? 'default' : `order#${currentOrderId()}`);

const start = async (): Promise<void> => {
  initOsm();
  const { body: orders } = await api<ExampleOrder[]>('/playground/api/orders');
  let rulesReady = false;
  initCheckout(orders, (orderId) => {
    const option = scopeSelect().options[1];
    if (option) option.textContent = `order#${orderId}`;
    if (rulesReady && scopeSelect().value !== 'default') void loadRules();
  });
  await initRules(rulesScope);
  rulesReady = true;
  // The example order the local Order Management stand-in knows (bin/local/start.ts).
  await initOrders(orders.find((order) => order.orderId.startsWith('example-'))?.orderId ?? currentOrderId());
  document.body.dataset.ready = 'true';
};

void start().catch((error: unknown) => {
  byId('rules-status').textContent = `The playground could not start: ${String(error)}`;
});
