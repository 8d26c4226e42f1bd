/**
 * DOM helpers that never parse HTML: text goes in as text nodes, attributes through setAttribute.
 * Everything the playground shows (orders, answers, rules, OSM data) is data from elsewhere.
 */
type Child = Node | string | number | null | undefined | false;

export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string | undefined>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'number' ? String(child) : child);
  }
  return element;
};

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from the page`);
  return found as T;
};

/** Calls `run` once the input has been quiet for `ms`. */
export const debounce = <A extends unknown[]>(ms: number, run: (...args: A) => void): ((...args: A) => void) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    clearTimeout(timer);
    timer = setTimeout(() => run(...args), ms);
  };
};

/** `19900` in SEK → `199.00 SEK (19900)`: the amount as a shopper reads it, and as Klarna gets it. */
export const money = (minor: unknown, currency: string): string => {
  if (typeof minor !== 'number' || !Number.isInteger(minor)) return String(minor);
  return `${(minor / 100).toFixed(2)} ${currency} (${minor})`;
};

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON from one of the playground's own endpoints; non-2xx answers with `{error}` throw it. */
export const api = async <T>(path: string, init?: { method: string; body: unknown }): Promise<{ status: number; body: T }> => {
  const response = await fetch(
    path,
    init ? { method: init.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : undefined,
  );
  const body = (await response.json()) as T;
  if (response.status >= 400 && response.status !== 422) {
    const message = isObject(body) && typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return { status: response.status, body };
};
