import { readdir } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { readResponse, type Reply, type TestServer } from '../helpers/server.js';

export { send, type Reply } from '../helpers/server.js';

/** Helpers for the registry API tests: JSON calls, multipart uploads, raw streaming requests. */



/** POSTs a multipart form: text fields first (in order), then `file` unless `file` is null. */
export async function upload(
  server: TestServer,
  name: string,
  filename: string,
  bytes: Buffer | null,
  options: { fields?: [string, string][]; space?: string; after?: [string, string][]; fileField?: string } = {},
): Promise<Reply> {
  const form = new FormData();
  for (const [k, v] of options.fields ?? []) form.append(k, v);
  if (bytes) form.append(options.fileField ?? 'file', new Blob([bytes]), filename);
  for (const [k, v] of options.after ?? []) form.append(k, v);
  const query = options.space ? `?space=${encodeURIComponent(options.space)}` : '';
  return readResponse(await fetch(`${server.url}/api/v1/models/${encodeURIComponent(name)}/versions${query}`, { method: 'POST', body: form }));
}

export const BOUNDARY = '----plinth-test-boundary-7d1f';

/** The bytes of a multipart form with one file part, split so the file can be streamed. */
export function multipartPieces(filename: string, fields: [string, string][] = []) {
  const head = fields.map(([k, v]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { head: Buffer.from(head), tail: Buffer.from(`\r\n--${BOUNDARY}--\r\n`), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}

export interface RawResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
  /** Body bytes written before the response arrived (or the request was abandoned). */
  written: number;
}

/**
 * A request written piece by piece with node:http, stopping as soon as a response arrives, so
 * a server that answers early (413 before the body) is observed rather than fought with.
 * Write errors after the response (the server closed the connection) are expected and ignored.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers: Record<string, string | number>;
    pieces: Iterable<Buffer>;
    endBody?: boolean;
    pauseMs?: number;
    signal?: AbortSignal;
    /** Fails the call when no response has come by then (a server waiting for a body never sent). */
    timeoutMs?: number;
  },
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      reject(new Error(`no response within ${options.timeoutMs ?? 10_000} ms`));
      req.destroy();
    }, options.timeoutMs ?? 10_000);
    let written = 0;
    // The path exactly as written: new URL() would resolve '..' and '.' segments away.
    const { hostname, port, origin } = new URL(url);
    const req = httpRequest({ hostname, port, path: url.slice(origin.length), method: options.method ?? 'POST', headers: options.headers, signal: options.signal });
    req.on('response', (res) => {
      answered = true;
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, written });
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      if (!answered) reject(err);
    });
    req.flushHeaders();
    (async () => {
      for (const piece of options.pieces) {
        if (answered || req.destroyed) return;
        written += piece.length;
        if (!req.write(piece)) {
          await new Promise<void>((r) => {
            const go = () => {
              req.off('drain', go).off('close', go);
              r();
            };
            req.on('drain', go).on('close', go);
          });
        }
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
      if (options.endBody !== false && !answered && !req.destroyed) req.end();
    })().catch(() => undefined);
  });
}

/** What the server left in its data dir's temp folder (uploads are unpacked there). */
export async function tmpEntries(server: TestServer): Promise<string[]> {
  return readdir(join(server.dir, '.data', 'tmp')).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

/** Blob files (the store's own .tmp excluded), relative to the blob root. */
export async function blobFiles(server: TestServer): Promise<string[]> {
  const root = join(server.dir, '.data', 'blobs');
  const entries = (await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])) as unknown as { name: string; parentPath: string; isFile(): boolean }[];
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1)).filter((p) => !p.startsWith('.tmp')).sort();
}

/** Polls until `check` holds (or fails with its last value after `ms`). */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
