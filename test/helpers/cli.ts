import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ROOT } from './server.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `plinth` through tsx, asynchronously: the test servers live in this process, so a
 * synchronous spawn would block them from answering the CLI's requests.
 */
export function plinth(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, PLINTH_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A readable one-line failure: `plinth: ...`, no stack trace, no source locations. */
export function assertReadableFailure(run: Run, ...message: RegExp[]): void {
  assert.notEqual(run.code, 0, `expected a failure, got exit 0:\n${run.stdout}`);
  const text = run.stderr.trim();
  assert.match(text, /^plinth: /, text);
  for (const m of message) assert.match(text, m);
  assert.doesNotMatch(text, /^\s+at /m, `stack trace in:\n${text}`);
  assert.doesNotMatch(text, /\.(ts|js):\d+/, `source location in:\n${text}`);
  assert.doesNotMatch(text, /node_modules|node:internal/, text);
}

