/**
 * Reading our Markdown the way the docs tests need it: the files, their fenced code blocks, their
 * links and their headings' anchors (GitHub's way of making them).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const root = resolve(__dirname, '../..');

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });

/** README, the root's other pages and every page under docs/, as paths relative to the root. */
export const markdownFiles = (): string[] => [
  ...readdirSync(root).filter((name) => name.endsWith('.md')),
  ...walk(join(root, 'docs'))
    .filter((path) => path.endsWith('.md'))
    .map((path) => relative(root, path)),
];

export const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** Every page under docs/ and the README, joined: "is it documented anywhere". */
export const allDocs = (): string => markdownFiles().map(read).join('\n');

export type CodeBlock = { lang: string; code: string; line: number };

export const codeBlocks = (markdown: string): CodeBlock[] => {
  const blocks: CodeBlock[] = [];
  let current: { lang: string; lines: string[]; line: number; fence: string } | undefined;
  markdown.split('\n').forEach((text, index) => {
    const fence = /^(\s*)(`{3,})(.*)$/.exec(text);
    if (current) {
      if (fence && fence[2]!.length >= current.fence.length && fence[3]!.trim() === '') {
        blocks.push({ lang: current.lang, code: current.lines.join('\n'), line: current.line });
        current = undefined;
      } else current.lines.push(text);
    } else if (fence) {
      current = { lang: fence[3]!.trim(), lines: [], line: index + 1, fence: fence[2]! };
    }
  });
  return blocks;
};

/** The prose: fenced blocks and inline code spans removed (links in code are not links). */
export const prose = (markdown: string, { keepInlineCode = false } = {}): string => {
  const out: string[] = [];
  let fence: string | undefined;
  for (const text of markdown.split('\n')) {
    const match = /^\s*(`{3,})/.exec(text);
    if (match) {
      if (fence === undefined) fence = match[1];
      else if (match[1]!.length >= fence.length) fence = undefined;
      out.push('');
      continue;
    }
    out.push(fence !== undefined ? '' : keepInlineCode ? text : text.replace(/(`+)[^`]*?\1/g, ''));
  }
  return out.join('\n');
};

export type Link = { target: string; line: number };

export const links = (markdown: string): Link[] => {
  const found: Link[] = [];
  prose(markdown)
    .split('\n')
    .forEach((text, index) => {
      for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ target: match[1]!, line: index + 1 });
    });
  return found;
};

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export const anchors = (markdown: string): Set<string> => {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const text of prose(markdown, { keepInlineCode: true }).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const base = heading[1]!
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
};
