/**
 * The tests run on the Node the functions run on in Lambda (nodejs24.x): `npm test` puts the
 * `node` devDependency's binary first on PATH, and jest's workers are started with it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const packageJson = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  engines: { node: string };
};

describe('toolchain', () => {
  it('runs the tests on Node 24, the version pinned as the node devDependency', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(process.version).toBe(`v${packageJson.devDependencies.node}`);
  });

  it('names Node 24 in engines and .nvmrc', () => {
    expect(packageJson.engines.node).toBe('>=24');
    expect(readFileSync(path.join(process.cwd(), '.nvmrc'), 'utf8').trim()).toBe('24');
  });
});
