/**
 * Every regular expression in functions/ runs in linear time: each literal is found in the
 * source (TypeScript's own parser, so none is missed or invented) and checked by recheck, a
 * maintained ReDoS analyser. A pattern built at run time (`new RegExp(…)`) cannot be checked
 * this way, so there must be none.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from 'recheck';
import ts from 'typescript';
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

describe('regular expressions in functions/', () => {
  it('are all literals (a pattern built at run time cannot be analysed)', () => {
    expect(found.constructed).toEqual([]);
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
