import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildApp, type Plinth } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const EXAMPLES = join(ROOT, 'examples/models');
export const FIXTURES = join(ROOT, 'test/fixtures/models');
/** The shared fixtures beside the project (../shared/fixtures), as CI has them. */
export const SHARED = resolve(ROOT, '../shared/fixtures');

export interface TestServer extends Plinth {
  url: string;
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts the real server on a loopback port over a fresh copy of a model repository.
 * `files` maps repository paths (e.g. 'iris/1/model.onnx') to source files to copy in.
 */
export async function startServer(files: Record<string, string>, overrides: Partial<Config> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-test-'));
  for (const [target, source] of Object.entries(files)) await cp(source, join(dir, target), { recursive: true });
  // Authentication is off unless a test turns it on: test/auth/ covers it with the policy enforced.
  const config = loadConfig({ modelsDir: dir, dataDir: join(dir, '.data'), host: '127.0.0.1', port: 0, logLevel: 'silent', auth: 'off', ...overrides }, {});
  const plinth = await buildApp(config);
  const address = await plinth.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    ...plinth,
    url: address,
    dir,
    async close() {
      await plinth.app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The example models, as `npm start` serves them. */
export const exampleModels = (...names: string[]) => Object.fromEntries(names.map((n) => [n, join(EXAMPLES, n)]));

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Status, headers, text and (when the body is JSON) the parsed body of a response. */
export async function readResponse(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return readResponse(await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  }));
}

/** Any method; a body is sent as JSON. Redirects are returned, not followed (the login and docs tests look at them). */
export async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return readResponse(await fetch(url, {
    method,
    redirect: 'manual',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
}

export async function get(url: string) {
  return readResponse(await fetch(url));
}
