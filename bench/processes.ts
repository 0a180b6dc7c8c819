/**
 * Child servers for the benchmark: each runs in its own process so the load generator's CPU
 * use is not counted inside the server's event loop, and so both servers start the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set<ChildProcess>();

// Last resort: whatever way the bench exits (error, Ctrl-C), no server is left running.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** A loopback port free right now (the OS picks it; the tiny race until the child binds is acceptable here). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** Starts `node ...args` from the repository root; its output goes to ours so start-up errors show. */
export function startNode(args: string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Polls `probe` until it answers true: the server is listening and the model is loaded. */
export async function waitUntil(what: string, child: ChildProcess, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it was ready`);
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000} s`);
}

/** SIGTERM (Plinth drains and exits 0, which also flushes a --cpu-prof), then SIGKILL after 5 s. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }));
}
