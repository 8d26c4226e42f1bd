/**
 * Klarna's OSM content (the documented node types only) and its rendering as HTML. Pure: no I/O,
 * no AWS. Every text and attribute is escaped and only https URLs reach `href` / `src`, so
 * content from Klarna (or from a poisoned cache) cannot inject markup or script into the shop.
 */

/** The node types Klarna documents; `name` tells the role (TEXT_MAIN, ACTION_LEARN_MORE, KLARNA_BADGE). */
export type OsmTextNode = { type: 'TEXT'; name?: string | undefined; value: string };
export type OsmActionNode = { type: 'ACTION'; name?: string | undefined; label: string; url: string };
export type OsmImageNode = { type: 'IMAGE'; name?: string | undefined; alt?: string | undefined; url: string };
export type OsmNode = OsmTextNode | OsmActionNode | OsmImageNode;
export type OsmContent = { nodes: OsmNode[] };

/** Alt text when Klarna's badge comes without one: an image that says nothing is worse. */
const DEFAULT_BADGE_ALT = 'Klarna';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escape for text content and for quoted attribute values alike. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);

const parsedUrl = (value: string | null | undefined): URL | undefined => {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
};

/**
 * The URL as the browser would read it, if it is absolute http(s); undefined for anything else
 * (`javascript:`, `data:`, relative, malformed). The parser also drops the leading whitespace and
 * control characters browsers ignore, so a disguised scheme cannot slip through.
 */
export const safeHttpUrl = (value: string | null | undefined): string | undefined => {
  const url = parsedUrl(value);
  return url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:') ? url.href : undefined;
};

/** As safeHttpUrl, https only: what content links and images must be (the beacon may be http). */
export const safeHttpsUrl = (value: string | null | undefined): string | undefined => {
  const url = parsedUrl(value);
  return url?.protocol === 'https:' ? url.href : undefined;
};

/** True when there is something to show: Klarna answered with at least one node. */
export const hasMessaging = (content: OsmContent | null | undefined): content is OsmContent =>
  content !== null && content !== undefined && content.nodes.length > 0;

const renderNode = (node: OsmNode): string | undefined => {
  switch (node.type) {
    case 'TEXT':
      return node.value.length > 0 ? `<span class="klarna-osm__text">${escapeHtml(node.value)}</span>` : undefined;
    case 'ACTION': {
      const href = safeHttpsUrl(node.url);
      if (href === undefined || node.label.length === 0) return undefined;
      return `<a class="klarna-osm__link" href="${escapeHtml(href)}" target="_blank" rel="noopener">${escapeHtml(node.label)}</a>`;
    }
    case 'IMAGE': {
      const src = safeHttpsUrl(node.url);
      if (src === undefined) return undefined;
      const alt = node.alt !== undefined && node.alt.trim().length > 0 ? node.alt : DEFAULT_BADGE_ALT;
      return `<img class="klarna-osm__badge" src="${escapeHtml(src)}" alt="${escapeHtml(alt)}">`;
    }
  }
};

/**
 * The placement as HTML: the nodes in Klarna's order inside one container, then the invisible
 * impression beacon, last, so the impression is registered only when the browser shows the ad.
 * A beacon URL that is not http(s) is left out (the ad still shows; no impression is faked).
 */
export const renderPlacementHtml = (
  content: OsmContent,
  impressionUrl: string | null | undefined,
  { placementKey, locale }: { placementKey: string; locale: string },
): string => {
  const parts = content.nodes.map(renderNode).filter((part): part is string => part !== undefined);
  // `lang` lets screen readers pronounce the message in the placement's language.
  const container = `<div class="klarna-osm klarna-osm--${escapeHtml(placementKey)}" lang="${escapeHtml(locale)}">${parts.join(' ')}</div>`;
  const beacon = safeHttpUrl(impressionUrl);
  return beacon === undefined ? container : `${container}<img src="${escapeHtml(beacon)}" alt="" width="1" height="1">`;
};
