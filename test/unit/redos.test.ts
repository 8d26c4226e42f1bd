/**
 * Every regular expression in functions/ runs in linear time: each literal is found in the
 * source (TypeScript's own parser, so none is missed or invented) and checked by recheck, a
 * maintained ReDoS analyser. A pattern built at run time (`new RegExp(…)`) cannot be checked
 * this way, so there must be none, but for one: the fast path compiles the patterns of the
 * generated schema descriptions, which are checked here as data, and must each be a literal of
 * our own schemas.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from 'recheck';
import ts from 'typescript';
import type { SchemaDescriptor } from '../../functions/kco/fast-parse.js';
import * as generated from '../../functions/kco/schemas.generated.js';
import { normaliseShopperText } from '../../functions/kco/shopper-text.js';
import { isPoBox } from '../../functions/kco/address.js';
import { redact } from '../../functions/shared/log.js';

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );

type Found = { where: string; source: string; flags: string };

const regularExpressions = (): { literals: Found[]; constructed: string[] } => {
  const literals: Found[] = [];
  const constructed: string[] = [];
  for (const file of sourceFiles('functions')) {
    const tree = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      const where = `${file}:${tree.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
      if (ts.isRegularExpressionLiteral(node)) {
        const text = node.getText();
        const end = text.lastIndexOf('/');
        literals.push({ where, source: text.slice(1, end), flags: text.slice(end + 1) });
      } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
        constructed.push(where);
      }
      ts.forEachChild(node, visit);
    };
    visit(tree);
  }
  return { literals, constructed };
};

const found = regularExpressions();

/** The one module allowed to build patterns: from the generated descriptions (below). */
const DESCRIPTION_COMPILER = join('functions', 'kco', 'fast-parse.ts');

/** Every pattern in the generated schema descriptions. */
const describedPatterns = (): Found[] => {
  const patterns: Found[] = [];
  const visit = (where: string, value: unknown): void => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(`${where}[${i}]`, item));
    else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (record.check === 'regex' && typeof record.source === 'string' && typeof record.flags === 'string') patterns.push({ where, source: record.source, flags: record.flags });
      for (const [key, inner] of Object.entries(record)) visit(`${where}.${key}`, inner);
    }
  };
  for (const [name, descriptor] of Object.entries(generated) as [string, SchemaDescriptor | null][]) visit(name, descriptor);
  return patterns;
};

describe('regular expressions in functions/', () => {
  it('are all literals (a pattern built at run time cannot be analysed), but in the fast path', () => {
    expect(found.constructed.filter((where) => !where.startsWith(`${DESCRIPTION_COMPILER}:`))).toEqual([]);
    // The walk found the code's patterns at all: the address, order and logging modules have some.
    expect(found.literals.length).toBeGreaterThan(20);
  });

  it('are each judged safe (linear) by recheck', async () => {
    const verdicts: string[] = [];
    for (const { where, source, flags } of found.literals) {
      const diagnostics = await check(source, flags);
      verdicts.push(`${where} /${source}/${flags}: ${diagnostics.status}${diagnostics.status === 'vulnerable' ? ` (${diagnostics.complexity.type})` : ''}`);
    }
    expect(verdicts.filter((v) => !v.endsWith(': safe'))).toEqual([]);
  }, 120_000);

  it('in the generated schema descriptions are each a literal of our schemas, so judged above', () => {
    const patterns = describedPatterns();
    expect(patterns.length).toBeGreaterThan(3);
    const literals = new Set(found.literals.map(({ source, flags }) => `/${source}/${flags}`));
    expect(patterns.filter(({ source, flags }) => !literals.has(`/${source}/${flags}`)).map(({ where }) => where)).toEqual([]);
  });

  it('flags a pattern of the shape the old PO-box rule had (the analyser is awake)', async () => {
    expect((await check(String.raw`^\s*box\s*\.?\s*#?\s*\d+\s*$`, 'i')).status).toBe('vulnerable');
  }, 30_000);
});

describe('hostile text costs what its length costs', () => {
  // Counted work, not time: normalisation output and word matching are bounded by the field cap.
  it('caps a field before and after normalising it', () => {
    const expanding = '\uFDFA'.repeat(5000); // one character, 18 after NFKC
    expect(normaliseShopperText(expanding).length).toBeLessThanOrEqual(1000);
    expect(normaliseShopperText(' '.repeat(100_000))).toBe('');
  });

  it('answers for fields made of the old pattern’s worst case', () => {
    const spaces = ' '.repeat(1000);
    expect(isPoBox({ street_address: `box${spaces}x`, street_address2: spaces, care_of: `p${' .'.repeat(500)}` })).toBe(false);
    expect(redact('a'.repeat(10_000))).toBe('a'.repeat(10_000));
  });
});
