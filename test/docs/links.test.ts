/**
 * Every relative link in the README, the root's pages and docs/ leads somewhere: the file (or
 * folder) exists, and an anchor into a Markdown page names one of its headings.
 */
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { anchors, links, markdownFiles, read, root } from './markdown.js';

const external = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

const pages = markdownFiles();

it('finds the pages it checks', () => {
  expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/getting-started.md', 'docs/configuration.md']));
});

describe.each(pages)('%s', (page) => {
  it('has no relative link that leads nowhere', () => {
    const broken: string[] = [];
    for (const { target, line } of links(read(page))) {
      if (external.test(target)) continue;
      const [path = '', anchor] = target.split('#', 2);
      const file = path === '' ? page : normalize(join(dirname(page), decodeURIComponent(path)));
      if (file.startsWith('..')) {
        broken.push(`${page}:${line}: ${target} leaves the repository`);
        continue;
      }
      if (!existsSync(join(root, file))) {
        broken.push(`${page}:${line}: ${target} (no ${file})`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md') && !anchors(read(file)).has(anchor)) {
        broken.push(`${page}:${line}: ${target} (no heading #${anchor} in ${file})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
