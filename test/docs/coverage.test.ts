/**
 * Docs cannot drift from the code: every reason code, construct prop, CDK context key and
 * environment variable the code reads must be documented. Each list is read from the code itself
 * (the TypeScript syntax tree, the CDK app as it runs), so whatever is added later is checked too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';
import { allDocs, read, root } from './markdown.js';

jest.setTimeout(120_000);

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.endsWith('.generated.ts') ? [path] : [];
  });

const parse = (file: string): ts.SourceFile => ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);

/** Rows of the Markdown tables of a page: where settings and codes are listed. */
const tableRows = (markdown: string): string => markdown.split('\n').filter((line) => line.startsWith('|')).join('\n');

const listed = (names: Iterable<string>, rows: string): string[] => [...names].filter((name) => !rows.includes(`\`${name}\``)).sort();

// ---- Reason codes -------------------------------------------------------------------------------

const stringLiterals = (node: ts.Node | undefined): string[] => {
  if (!node) return [];
  if (ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isParenthesizedExpression(node)) return stringLiterals(node.expression);
  if (ts.isArrayLiteralExpression(node)) return node.elements.flatMap((element) => (ts.isStringLiteral(element) ? [element.text] : []));
  return [];
};

const unionLiterals = (type: ts.TypeNode | undefined): string[] => {
  if (!type) return [];
  if (ts.isUnionTypeNode(type)) return type.types.flatMap(unionLiterals);
  if (ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal)) return [type.literal.text];
  return [];
};

const isReasonName = (name: string): boolean => /(^|_)reason$/i.test(name) || /reason(code)?s?$/i.test(name);
const codeLike = (value: string): boolean => /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(value);

/**
 * Reason codes as the code spells them: exported lists named like `reasonCodes` or
 * `failClosedReasons`, the keys of objects typed by a reason type (`defaultErrorTexts`), literal
 * types of `reason` fields, and literal values given to a `reason` field (what is logged and
 * counted).
 */
const reasonCodesIn = (files: readonly string[]): Map<string, string> => {
  const found = new Map<string, string>();
  const add = (code: string, where: string): void => {
    if (codeLike(code) && !found.has(code)) found.set(code, where);
  };
  for (const file of files) {
    const source = parse(file);
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) {
        if (/reason/i.test(node.name.text)) for (const code of stringLiterals(node.initializer)) add(code, `${file} (${node.name.text})`);
        // Record<ReasonCode, …>: its keys are codes; Record<…, ReasonCode>: its values are.
        const [keyType, valueType] = node.type && ts.isTypeReferenceNode(node.type) ? (node.type.typeArguments ?? []) : [];
        if (node.initializer && ts.isObjectLiteralExpression(node.initializer)) {
          for (const property of node.initializer.properties) {
            if (!ts.isPropertyAssignment(property) || !ts.isIdentifier(property.name)) continue;
            if (keyType && /Reason/.test(keyType.getText(source))) add(property.name.text, `${file} (${node.name.text})`);
            if (valueType && /Reason/.test(valueType.getText(source)) && ts.isStringLiteral(property.initializer)) add(property.initializer.text, `${file} (${node.name.text})`);
          }
        }
      }
      if (ts.isPropertySignature(node) && node.name && ts.isIdentifier(node.name) && isReasonName(node.name.text)) {
        for (const code of unionLiterals(node.type)) add(code, `${file} (${node.name.text})`);
      }
      if (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) && isReasonName(node.name.text) && ts.isStringLiteral(node.initializer)) {
        add(node.initializer.text, `${file} (${node.name.text}: '${node.initializer.text}')`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
};

describe('reason codes', () => {
  const codes = reasonCodesIn(sourceFiles('functions'));

  it('finds the callbacks’ codes and the other lists', () => {
    expect([...codes.keys()]).toEqual(expect.arrayContaining(['po_box', 'rules_missing', 'tokens_unavailable', 'cart_mismatch']));
  });

  it('lists every code of functions/kco/answer.ts in the reason-code table of docs/rules.md', async () => {
    const { defaultErrorTexts } = await import('../../functions/kco/answer.js');
    expect(listed(Object.keys(defaultErrorTexts), tableRows(read('docs/rules.md')))).toEqual([]);
  });

  it('lists every other reason code the code decides, logs or counts in a table of the docs', () => {
    const rows = tableRows(allDocs());
    const missing = listed(codes.keys(), rows).map((code) => `${code} — ${codes.get(code) ?? ''}`);
    expect(missing).toEqual([]);
  });
});

// ---- Metrics -------------------------------------------------------------------------------------

/** Metric names as the code defines them: values of `metricNames`-like objects and `…_METRIC` constants. */
const metricNamesIn = (files: readonly string[]): Map<string, string> => {
  const found = new Map<string, string>();
  for (const file of files) {
    const source = parse(file);
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        const name = node.name.text;
        let init: ts.Node = node.initializer;
        while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init)) init = init.expression;
        if (/^metricNames?$/i.test(name) && ts.isObjectLiteralExpression(init)) {
          for (const property of init.properties) if (ts.isPropertyAssignment(property) && ts.isStringLiteral(property.initializer)) found.set(property.initializer.text, file);
        }
        if (/_METRIC$/.test(name) && ts.isStringLiteral(init)) found.set(init.text, file);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
};

describe('metrics', () => {
  const metrics = metricNamesIn(sourceFiles('functions'));

  it('finds the metrics the functions write', () => {
    expect([...metrics.keys()]).toEqual(expect.arrayContaining(['CallbackDecision', 'OrdersAwaitingAcknowledgement']));
  });

  it('lists every metric in the metrics table of docs/operations.md', () => {
    expect(listed(metrics.keys(), tableRows(read('docs/operations.md')))).toEqual([]);
  });
});

// ---- Construct props ----------------------------------------------------------------------------

/** The package's entry when it has one, else the stack's module. */
const constructEntry = (): string => (readdirSync(join(root, 'lib')).includes('index.ts') ? 'lib/index.ts' : 'lib/klarna-stack.ts');

const ours = (declaration: ts.Declaration | undefined): boolean => declaration !== undefined && !declaration.getSourceFile().fileName.includes('node_modules');

/**
 * Every prop of every construct the entry exports (a class whose constructor takes scope, id and
 * props), as dotted paths into nested option objects declared in this repository (`osm.region`).
 * Props inherited from aws-cdk-lib (StackProps) are CDK's to document.
 */
const constructProps = (): string[] => {
  const entry = join(root, constructEntry());
  const program = ts.createProgram([entry], { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.Preserve, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022 });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!);
  const paths = new Set<string>();
  const walk = (type: ts.Type, prefix: string, depth: number): void => {
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (!ours(declaration)) continue;
      const path = `${prefix}${property.getName()}`;
      const propertyType = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(property, declaration!));
      // `osm?: OsmSettings | false`: the options object is the part that has fields.
      const objectParts = (propertyType.isUnion() ? propertyType.types : [propertyType]).filter(
        (part) => (part.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(part) && part.getCallSignatures().length === 0,
      );
      const options = objectParts.length === 1 ? objectParts[0]! : undefined;
      const nested = options !== undefined && checker.getPropertiesOfType(options).some((inner) => ours(inner.valueDeclaration ?? inner.declarations?.[0]));
      // An options object of ours is documented by its fields (`osm.region`), anything else by its name.
      if (depth < 3 && options && nested) {
        // `webAcl?: 'create' | 'none' | { arn }`: the prop's own values need documenting too.
        if (objectParts.length < (propertyType.isUnion() ? propertyType.types.length : 1)) paths.add(path);
        walk(options, `${path}.`, depth + 1);
      } else paths.add(path);
    }
  };
  for (const exported of checker.getExportsOfModule(module!)) {
    // `export type { KlarnaFunction }`: a type the package shows, not a construct a user makes.
    const specifier = exported.declarations?.find(ts.isExportSpecifier);
    if (specifier && (specifier.isTypeOnly || specifier.parent.parent.isTypeOnly)) continue;
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
    const classType = checker.getTypeOfSymbolAtLocation(symbol, symbol.valueDeclaration!);
    for (const signature of classType.getConstructSignatures()) {
      const props = signature.getParameters()[2];
      if (!props || !signature.getParameters()[0]?.getName().startsWith('scope')) continue;
      walk(checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(props, props.valueDeclaration!)), '', 0);
    }
  }
  return [...paths];
};

describe('construct props', () => {
  const props = constructProps();

  it(`finds the props of the constructs ${constructEntry()} exports`, () => {
    expect(props.length).toBeGreaterThan(5);
  });

  it('lists every prop in docs/configuration.md', () => {
    expect(listed(props, tableRows(read('docs/configuration.md')))).toEqual([]);
  });
});

// ---- CDK context keys ---------------------------------------------------------------------------

describe('context keys', () => {
  /** What bin/app.ts asks the CDK context for, recorded while the app builds its stack. */
  const readKeys = async (): Promise<string[]> => {
    const { Node } = await import('constructs');
    const keys = new Set<string>();
    const original = Node.prototype.tryGetContext;
    const spy = jest.spyOn(Node.prototype, 'tryGetContext').mockImplementation(function (this: InstanceType<typeof Node>, key: string) {
      keys.add(key);
      return original.call(this, key) as unknown;
    });
    const saved = process.env.CDK_CONTEXT_JSON;
    // Build without bundling: only the settings it reads matter here.
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:bundling-stacks': [], region: 'eu-north-1' });
    try {
      await import('../../bin/app.js');
    } finally {
      spy.mockRestore();
      if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
      else process.env.CDK_CONTEXT_JSON = saved;
    }
    // CDK's own keys (feature flags, `aws:cdk:…`) are CDK's to document.
    return [...keys].filter((key) => /^[a-z][A-Za-z0-9]*$/.test(key));
  };

  it('lists every context key bin/app.ts reads in docs/configuration.md', async () => {
    const keys = await readKeys();
    expect(keys).toEqual(expect.arrayContaining(['alarmEmail', 'stackName']));
    expect(listed(keys, tableRows(read('docs/configuration.md')))).toEqual([]);
  });
});

// ---- Environment variables ----------------------------------------------------------------------

/**
 * Not settings: the platform's own variables (Lambda's, the CDK CLI's), a third-party tool's, and plumbing between one of
 * our scripts and the child process it starts (docs/configuration.md names them as such).
 */
const notSettings = (name: string): boolean =>
  name.startsWith('AWS_') ||
  name.startsWith('CDK_') ||
  ['PATH', 'HOME', 'USER', 'INIT_CWD', 'CI', 'DDB_LOCAL_TELEMETRY'].includes(name) ||
  ['BENCH_CONTEXT', 'BENCH_EVENT', 'BENCH_DEBUG', 'PAIRED_BUNDLES', 'SOAK_JSON', 'SOAK_SELF_TEST_LEAK_BYTES'].includes(name);

/** `process.env.X`, `process.env['X']`, `env.X` and calls like `intEnv('X', …)` / `optionalEnv('X')`. */
const environmentVariablesIn = (files: readonly string[]): Map<string, string> => {
  const found = new Map<string, string>();
  const patterns = [
    /\bprocess\.env\.([A-Z][A-Z0-9_]+)/g,
    /\bprocess\.env\[\s*['"]([A-Z][A-Z0-9_]+)['"]\s*\]/g,
    /\benv\.([A-Z][A-Z0-9_]+)/g,
    /\b[a-zA-Z]*(?:Env|env)\(\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
    /\bread\(\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
  ];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) if (!found.has(match[1]!)) found.set(match[1]!, file);
  }
  return found;
};

describe('environment variables', () => {
  const read = environmentVariablesIn([...sourceFiles('functions'), ...sourceFiles('lib'), ...sourceFiles('bin')]);

  it('finds the variables the functions and tools read', () => {
    expect([...read.keys()]).toEqual(expect.arrayContaining(['RULES_TABLE', 'OSM_TIMEOUT_MS', 'PORT', 'LOAD_REQUESTS']));
  });

  it('lists every variable the code reads in docs/configuration.md', () => {
    const rows = tableRows(readFileSync(join(root, 'docs/configuration.md'), 'utf8'));
    const missing = listed([...read.keys()].filter((name) => !notSettings(name)), rows).map((name) => `${name} — ${relative('.', read.get(name) ?? '')}`);
    expect(missing).toEqual([]);
  });
});
