import { escapeHtml, hasMessaging, renderPlacementHtml, safeHttpUrl, type OsmContent } from '../../functions/osm/render.js';

const where = { placementKey: 'credit-promotion-badge', locale: 'en-US' };
const IMPRESSION = 'https://osm.klarnaservices.com/v3/impression?x=1&y=2';

const content: OsmContent = {
  nodes: [
    { type: 'TEXT', name: 'TEXT_MAIN', value: 'Make 4 payments of $32.25. No fees.' },
    { type: 'ACTION', name: 'ACTION_LEARN_MORE', label: 'Learn more', url: 'https://www.klarna.com/us/pay-in-4/' },
    { type: 'IMAGE', name: 'KLARNA_BADGE', alt: 'Klarna', url: 'https://x.klarnacdn.net/badge.svg' },
  ],
};

describe('OSM renderPlacementHtml', () => {
  it('renders text, a learn-more link opening safely in a new tab, the badge with alt, then the beacon last', () => {
    const html = renderPlacementHtml(content, IMPRESSION, where);
    expect(html).toBe(
      '<div class="klarna-osm klarna-osm--credit-promotion-badge" lang="en-US">' +
        '<span class="klarna-osm__text">Make 4 payments of $32.25. No fees.</span> ' +
        '<a class="klarna-osm__link" href="https://www.klarna.com/us/pay-in-4/" target="_blank" rel="noopener">Learn more</a> ' +
        '<img class="klarna-osm__badge" src="https://x.klarnacdn.net/badge.svg" alt="Klarna">' +
        '</div>' +
        '<img src="https://osm.klarnaservices.com/v3/impression?x=1&amp;y=2" alt="" width="1" height="1">',
    );
    expect(html.endsWith('<img src="https://osm.klarnaservices.com/v3/impression?x=1&amp;y=2" alt="" width="1" height="1">')).toBe(true);
  });

  it('escapes markup in text, labels and alt so a script in Klarna content stays text', () => {
    const html = renderPlacementHtml(
      {
        nodes: [
          { type: 'TEXT', value: '<script>alert(1)</script> & "quotes" \'single\' `tick`' },
          { type: 'ACTION', label: '<img src=x onerror=alert(1)>', url: 'https://example.com/a' },
          { type: 'IMAGE', alt: '" onload="alert(1)', url: 'https://example.com/i.svg' },
        ],
      },
      IMPRESSION,
      where,
    );
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toMatch(/alt="" onload=/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;single&#39; &#96;tick&#96;');
    expect(html).toContain('>&lt;img src=x onerror=alert(1)&gt;</a>');
    expect(html).toContain('alt="&quot; onload=&quot;alert(1)"');
  });

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    '  javascript:alert(1)',
    '\u0001javascript:alert(1)',
    'data:text/html;base64,PHNjcmlwdD4=',
    'vbscript:msgbox(1)',
    '//evil.example/x',
    '/relative/path',
    'not a url',
  ])('drops a link and an image whose URL is %j', (url) => {
    const html = renderPlacementHtml(
      {
        nodes: [
          { type: 'TEXT', value: 'Pay later.' },
          { type: 'ACTION', label: 'Learn more', url },
          { type: 'IMAGE', alt: 'Klarna', url },
        ],
      },
      IMPRESSION,
      where,
    );
    expect(html).not.toContain('<a ');
    expect(html).not.toContain('klarna-osm__badge');
    expect(html).not.toMatch(/javascript|data:|vbscript|evil/i);
    expect(html).toContain('Pay later.');
  });

  it('escapes quotes inside an otherwise valid URL so it cannot leave the attribute', () => {
    const html = renderPlacementHtml(
      { nodes: [{ type: 'ACTION', label: 'Learn more', url: 'https://example.com/?q="><script>alert(1)</script>' }] },
      null,
      where,
    );
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/href="https:\/\/example\.com\/\?q=%22%3E%3Cscript%3Ealert\(1\)%3C\/script%3E"/);
  });

  it('gives a badge without alt text the alt "Klarna"', () => {
    const html = renderPlacementHtml({ nodes: [{ type: 'IMAGE', url: 'https://x.klarnacdn.net/b.svg', alt: ' ' }] }, null, where);
    expect(html).toContain('<img class="klarna-osm__badge" src="https://x.klarnacdn.net/b.svg" alt="Klarna">');
    const withoutAlt = renderPlacementHtml({ nodes: [{ type: 'IMAGE', url: 'https://x.klarnacdn.net/b.svg' }] }, null, where);
    expect(withoutAlt).toContain('<img class="klarna-osm__badge" src="https://x.klarnacdn.net/b.svg" alt="Klarna">');
  });

  it('drops an empty text and a link without label, leaving no gap where they were', () => {
    const html = renderPlacementHtml(
      {
        nodes: [
          { type: 'TEXT', value: '' },
          { type: 'TEXT', value: 'Pay in 4.' },
          { type: 'ACTION', label: '', url: 'https://www.klarna.com/us/pay-in-4/' },
          { type: 'IMAGE', url: 'javascript:alert(1)' },
          { type: 'TEXT', value: 'No fees.' },
        ],
      },
      null,
      where,
    );
    expect(html).toBe(
      '<div class="klarna-osm klarna-osm--credit-promotion-badge" lang="en-US">' +
        '<span class="klarna-osm__text">Pay in 4.</span> <span class="klarna-osm__text">No fees.</span></div>',
    );
  });

  it('leaves the beacon out when the impression URL is missing or not http(s)', () => {
    expect(renderPlacementHtml(content, null, where)).toMatch(/<\/div>$/);
    expect(renderPlacementHtml(content, 'javascript:alert(1)', where)).toMatch(/<\/div>$/);
  });

  it('escapes the placement key and locale it is given', () => {
    const html = renderPlacementHtml(content, null, { placementKey: 'a"b', locale: '<x>' });
    expect(html.startsWith('<div class="klarna-osm klarna-osm--a&quot;b" lang="&lt;x&gt;">')).toBe(true);
  });
});

describe('OSM rendering of http URLs', () => {
  it('renders no link or image whose URL is http, but keeps an http beacon (Klarna hands those out)', () => {
    const html = renderPlacementHtml(
      {
        nodes: [
          { type: 'TEXT', value: 'Pay in 4.' },
          { type: 'ACTION', label: 'Learn more', url: 'http://k.example/' },
          { type: 'IMAGE', alt: 'Klarna', url: 'http://k.example/b.svg' },
        ],
      },
      'http://evt.klarnaservices.com/bb',
      { placementKey: 'credit-promotion-badge', locale: 'en-US' },
    );
    expect(html).toBe(
      '<div class="klarna-osm klarna-osm--credit-promotion-badge" lang="en-US"><span class="klarna-osm__text">Pay in 4.</span></div>' +
        '<img src="http://evt.klarnaservices.com/bb" alt="" width="1" height="1">',
    );
  });
});

describe('OSM safeHttpUrl / escapeHtml / hasMessaging', () => {
  it('keeps absolute http and https URLs only', () => {
    expect(safeHttpUrl('https://a.example/x?y=1')).toBe('https://a.example/x?y=1');
    expect(safeHttpUrl('http://127.0.0.1:9/i')).toBe('http://127.0.0.1:9/i');
    expect(safeHttpUrl('ftp://a.example/')).toBeUndefined();
    expect(safeHttpUrl('')).toBeUndefined();
    expect(safeHttpUrl(null)).toBeUndefined();
    expect(safeHttpUrl(`https://a.example/${'x'.repeat(3000)}`)).toBeUndefined();
    // Up to 2048 characters, as written.
    const longest = `https://a.example/${'x'.repeat(2048 - 'https://a.example/'.length)}`;
    expect(longest).toHaveLength(2048);
    expect(safeHttpUrl(longest)).toBe(longest);
    expect(safeHttpUrl(`${longest}y`)).toBeUndefined();
  });

  it('escapes the five HTML-special characters and the backtick', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\``)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;');
  });

  it('sees messaging only when there is at least one node', () => {
    expect(hasMessaging(null)).toBe(false);
    expect(hasMessaging(undefined)).toBe(false);
    expect(hasMessaging({ nodes: [] })).toBe(false);
    expect(hasMessaging(content)).toBe(true);
  });
});
