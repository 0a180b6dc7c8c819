import { createRequire } from 'node:module';

// package.json is one level above src/ (run by tsx) and two above dist/src/ (compiled).
const require = createRequire(import.meta.url);
function readVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'plinth' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

export const PLINTH_VERSION = readVersion();
