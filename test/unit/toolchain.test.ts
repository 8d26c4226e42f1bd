/**
 * The tests run on the Node the functions run on in Lambda (nodejs24.x): `npm test` puts the
 * `node` devDependency's binary first on PATH, and jest's workers are started with it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import semver from 'semver';

const packageJson = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
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
});
