/**
 * The tests run on the Node the functions run on in Lambda (nodejs24.x): `npm test` puts the
 * `node` devDependency's binary first on PATH, and jest's workers are started with it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import semver from 'semver';

const packageJson = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: { node: string };
  devEngines: {
    runtime: { name: string; version: string; onFail: string };
    packageManager: { name: string; version: string; onFail: string };
  };
};

interface LockedPackage {
  engines?: Record<string, string> | string[];
  optional?: boolean;
}
const lockedPackages = (
  JSON.parse(readFileSync(path.join(process.cwd(), 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockedPackage>;
  }
).packages;

// `npm run mutate`'s tool package: StrykerJS, installed from its own lock on Node 24 only.
const mutationDir = path.join(process.cwd(), 'test', 'mutation');
const mutationPackageJson = JSON.parse(readFileSync(path.join(mutationDir, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
const mutationLockedPackages = (
  JSON.parse(readFileSync(path.join(mutationDir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockedPackage & { version?: string; devDependencies?: Record<string, string> }>;
  }
).packages;
const strykerPackages = ['@stryker-mutator/core', '@stryker-mutator/jest-runner', '@stryker-mutator/typescript-checker'];

describe('toolchain', () => {
  it('runs the tests on Node 24, the version pinned as the node devDependency', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(process.version).toBe(`v${packageJson.devDependencies.node}`);
  });

  it('names Node 24 in engines and .nvmrc', () => {
    expect(packageJson.engines.node).toBe('>=24');
    expect(readFileSync(path.join(process.cwd(), '.nvmrc'), 'utf8').trim()).toBe('24');
  });

  // npm checks every installed package's `engines` against the Node npm itself runs on, not the
  // Node the scripts run on. A fresh machine runs `npm ci` on its own Node (20 here), which
  // installs the Node 24 everything then runs on: the bootstrap Nodes named in devEngines must
  // satisfy every package npm installs, or `npm ci` prints EBADENGINE there.
  describe('npm ci on a bootstrap Node prints no EBADENGINE', () => {
    const bootstrap = packageJson.devEngines;

    it('names the bootstrap Node and npm in devEngines (npm then skips the root engines check)', () => {
      expect(bootstrap.runtime).toMatchObject({ name: 'node', onFail: 'error' });
      expect(bootstrap.packageManager).toMatchObject({ name: 'npm', onFail: 'error' });
      expect(semver.satisfies('20.20.2', bootstrap.runtime.version)).toBe(true);
      expect(semver.satisfies(packageJson.devDependencies.node ?? 'none', bootstrap.runtime.version)).toBe(true);
    });

    it('every package npm installs accepts every bootstrap Node and npm', () => {
      const refusing: string[] = [];
      for (const [where, locked] of Object.entries(lockedPackages)) {
        // The root is checked against devEngines; optional packages npm skips instead of warning.
        if (where === '' || locked.optional === true || locked.engines === undefined) continue;
        // The old array form of engines is ignored by npm.
        if (Array.isArray(locked.engines)) continue;
        const { node, npm } = locked.engines;
        if (node !== undefined && !semver.subset(bootstrap.runtime.version, node)) {
          refusing.push(`${where}: node ${node}`);
        }
        if (npm !== undefined && !semver.subset(bootstrap.packageManager.version, npm)) {
          refusing.push(`${where}: npm ${npm}`);
        }
      }
      expect(refusing).toEqual([]);
    });
  });

  // StrykerJS 10 (and its Babel 8) want Node >= 22.18: more than the bootstrap Nodes, so the root's
  // `npm ci` must not install it. `npm run mutate` installs it from test/mutation/'s own lock, with
  // npm running on the node devDependency's Node (npm scripts put it first on PATH).
  describe('npm run mutate installs StrykerJS as its own tool package', () => {
    it('leaves StrykerJS out of the root lock', () => {
      expect(Object.keys(lockedPackages).filter((where) => where.includes('@stryker-mutator/'))).toEqual([]);
      expect(Object.keys(packageJson.devDependencies).filter((name) => name.startsWith('@stryker-mutator/'))).toEqual([]);
    });

    it('installs the tool package from its lock, then runs its stryker last (so `npm run mutate -- --force` reaches it)', () => {
      expect(packageJson.scripts.mutate).toContain('npm ci --prefix test/mutation');
      expect(packageJson.scripts.mutate).toMatch(/&& test\/mutation\/node_modules\/\.bin\/stryker run$/);
    });

    it('every package in the tool lock accepts the Node it runs on (the node devDependency)', () => {
      const runsOn = packageJson.devDependencies.node ?? 'none';
      const refusing: string[] = [];
      for (const [where, locked] of Object.entries(mutationLockedPackages)) {
        if (where === '' || locked.optional === true || locked.engines === undefined || Array.isArray(locked.engines)) continue;
        const { node, npm } = locked.engines;
        if (node !== undefined && !semver.satisfies(runsOn, node)) refusing.push(`${where}: node ${node}`);
        if (npm !== undefined && !semver.subset(packageJson.devEngines.packageManager.version, npm)) refusing.push(`${where}: npm ${npm}`);
      }
      expect(refusing).toEqual([]);
    });

    it('pins core, jest-runner and typescript-checker to one exact version, in package.json and in the lock', () => {
      const pinned = strykerPackages.map((name) => mutationPackageJson.devDependencies[name]);
      expect(semver.valid(pinned[0])).not.toBeNull();
      expect(new Set(pinned)).toEqual(new Set([pinned[0]]));
      expect(mutationLockedPackages['']?.devDependencies).toEqual(mutationPackageJson.devDependencies);
      // Every @stryker-mutator package installed (api, instrumenter, util with the three): one version.
      const locked = Object.entries(mutationLockedPackages)
        .filter(([where]) => where.includes('node_modules/@stryker-mutator/'))
        .map(([where, entry]) => `${where.slice(where.lastIndexOf('@stryker-mutator/'))}@${entry.version}`);
      expect(locked).toEqual(expect.arrayContaining(strykerPackages.map((name) => `${name}@${pinned[0]}`)));
      expect(locked.filter((entry) => !entry.endsWith(`@${pinned[0]}`))).toEqual([]);
    });

    it("runs against the root's Jest and TypeScript: npm installs no peers there", () => {
      expect(readFileSync(path.join(mutationDir, '.npmrc'), 'utf8')).toMatch(/^legacy-peer-deps=true$/m);
      const copies = Object.keys(mutationLockedPackages).filter((where) => /node_modules\/(typescript|jest|@jest\/[^/]+)$/.test(where));
      expect(copies).toEqual([]);
    });
  });
});
