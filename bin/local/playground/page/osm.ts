/**
 * On-site messaging preview through the local OSM route, as a shop's product page would call it.
 * Klarna's rendered HTML goes into a sandboxed iframe (no script, no same origin; the page's
 * Content-Security-Policy keeps it to loopback), the data into a text node.
 */
import { byId, debounce } from './dom.js';

let asked = 0;

const show = (status: string, cache: string, html: string, data: string): void => {
  byId('osm-status').textContent = status;
  byId('osm-cache').textContent = cache;
  byId<HTMLIFrameElement>('osm-preview').srcdoc = html;
  byId('osm-data').textContent = data;
};

const preview = async (): Promise<void> => {
  const mine = (asked += 1);
  const value = (id: string): string => byId<HTMLInputElement>(id).value.trim();
  const query = new URLSearchParams({ locale: value('osm-locale') });
  if (value('osm-amount') !== '') query.set('purchase_amount', value('osm-amount'));
  // Past the browser's own HTTP cache (Klarna's max-age applies to it too): x-cache is the server's.
  const response = await fetch(`/osm/placements/${encodeURIComponent(value('osm-placement'))}?${query.toString()}`, { cache: 'no-store' });
  const text = await response.text();
  if (mine !== asked) return; // the amount changed again while this was on its way
  const cache = response.headers.get('x-cache') ?? '(none)';
  if (response.status === 204) return show('204: Klarna has no messaging for this amount', cache, '', '');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = text;
  }
  const html = typeof data === 'object' && data !== null && 'html' in data && typeof data.html === 'string' ? data.html : '';
  show(String(response.status), cache, html, typeof data === 'string' ? data : JSON.stringify(data, null, 2));
};

export const initOsm = (): void => {
  const run = (): void => void preview().catch((error: unknown) => show(`Failed: ${String(error)}`, '', '', ''));
  const later = debounce(300, run);
  for (const id of ['osm-placement', 'osm-locale', 'osm-amount']) byId(id).addEventListener('input', later);
  run();
};
