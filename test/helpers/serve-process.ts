import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ROOT } from './server.js';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A free loopback port: listen on 0, read it, close. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  url: string;
  exited: Promise<Exit>;
  /** Everything the server wrote to stdout and stderr so far. */
  output: () => string;
}

/** 200 from /v2/health/ready, asked on a fresh connection so no pooled one outlives the check. */
const ready = (port: number) =>
  new Promise<boolean>((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/v2/health/ready', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });

/**
 * `plinth serve` from the sources as a child process on 127.0.0.1 (`port`, or a free one), its
 * output captured, once it is ready; it throws with that output if the server exits or is not
 * ready within a minute.
 */
export async function startServeProcess(args: string[], env: Record<string, string>, port?: number): Promise<ServeProcess> {
  const at = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args, '--port', String(at), '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  while (!(await ready(at))) {
    if (child.exitCode !== null) throw new Error(`the server exited early (${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server was not ready within 60 s:\n${log}`);
    }
    await delay(100);
  }
  return { child, port: at, url: `http://127.0.0.1:${at}`, exited, output: () => log };
}
