/**
 * The playground's picture in the README and getting-started shows every field of the rules
 * schema. `npm run screenshot` takes it, refuses to save one that lacks a field, and records the
 * fields it showed beside it; a field added to the schema fails this test until the picture is
 * taken again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rulesJsonSchema } from '../../functions/kco/rules.js';
import { read, root } from './markdown.js';

const picture = '.github/assets/playground.png';

it('the picture was taken with every field of the rules schema on it', () => {
  const shown = JSON.parse(readFileSync(join(root, picture.replace(/\.png$/, '.fields.json')), 'utf8')) as string[];
  const fields = Object.keys((rulesJsonSchema() as { properties: Record<string, unknown> }).properties).sort();
  expect(shown).toEqual(fields);
});

it('is a PNG tall enough to hold the whole page', () => {
  const png = readFileSync(join(root, picture));
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  expect(png.readUInt32BE(16)).toBe(1440);
  expect(png.readUInt32BE(20)).toBeGreaterThan(1000);
});

it('is the picture the README and getting-started show, and they say how to retake it', () => {
  expect(read('README.md')).toContain(`(${picture})`);
  expect(read('docs/getting-started.md')).toContain(`(../${picture})`);
  expect(read('docs/getting-started.md')).toContain('npm run screenshot');
});
