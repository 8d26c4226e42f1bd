/**
 * `deny_redirect_url` goes into the Location header of a validation denial: it is parsed with
 * URL and must come back from the parser unchanged (https, ASCII host, no user info, nothing the
 * parser would rewrite). Everything else is refused, naming the field.
 */
import { parseRulesDocument } from '../../functions/kco/rules.js';
import { denyPurchase } from '../../functions/kco/answer.js';

const CANONICAL =
  'an https URL as the URL parser writes it: ASCII host (an IDN as punycode), a path (at least "/"), no user info, no backslash or raw non-ASCII character';
const NO_QUERY = 'an https URL without query or fragment';

const issuesOf = (url: string) => {
  const parsed = parseRulesDocument('default', { deny_redirect_url: url });
  return parsed.ok ? [] : parsed.issues.map(({ path, message }) => ({ path, message }));
};

it.each([
  'https://shop.example/denied',
  'https://shop.example/',
  'https://shop.example:8443/checkout/denied',
  'https://xn--shp-tna.example/denied',
  'https://shop.example/%C3%A4rger',
  'https://127.0.0.1/denied',
])('accepts %s, which the parser gives back unchanged', (url) => {
  expect(issuesOf(url)).toEqual([]);
  const location = denyPurchase('po_box', 'o-1', { deny_redirect_url: url }).headers.location;
  expect(location).toBe(`${url}?reason=po_box&order_id=o-1`);
  expect(new URL(String(location)).href).toBe(location);
});

it.each([
  ['a backslash the parser turns into a path', 'https://shop.example\\@evil.example/denied'],
  ['user info', 'https://user:pass@shop.example/denied'],
  ['user info that points elsewhere', 'https://shop.example@evil.example/denied'],
  ['a raw non-ASCII host (an IDN not as punycode)', 'https://shöp.example/denied'],
  ['a raw non-ASCII path', 'https://shop.example/ärger'],
  ['an upper-case host', 'https://Shop.example/denied'],
  ['the default port written out', 'https://shop.example:443/denied'],
  ['dot segments', 'https://shop.example/a/../denied'],
  ['encoded dot segments', 'https://shop.example/%2e%2e/denied'],
  ['no path', 'https://shop.example'],
  ['an empty host', 'https:///denied'],
  ['a tab the parser drops', 'https://shop.example/de\tnied'],
])('refuses %s, naming the field', (_name, url) => {
  expect(issuesOf(url)).toEqual([{ path: 'deny_redirect_url', message: expect.stringMatching(/^an https URL/) as unknown as string }]);
});

it('names the parser rule for what the parser would rewrite, the query rule (alone) for a query or http', () => {
  expect(issuesOf('https://shop.example\\denied')).toEqual([{ path: 'deny_redirect_url', message: CANONICAL }]);
  expect(issuesOf('https://shop.example/denied?x=1')).toEqual([{ path: 'deny_redirect_url', message: NO_QUERY }]);
  expect(issuesOf('http://shop.example/denied')).toEqual([{ path: 'deny_redirect_url', message: NO_QUERY }]);
});
