import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResponse, send, SHARED, type Reply } from '../helpers/server.js';

export type { Reply } from '../helpers/server.js';

/** Helpers for the batch tests: JSON calls, asset uploads, waiting for jobs, the breast-cancer data. */


/** A JSON call (the batch tests' name for send); `headers` carry a credential on auth-on servers. */
export const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => send(method, url, body, headers);

export async function uploadAsset(base: string, filename: string, bytes: Buffer | string, query = '', headers: Record<string, string> = {}): Promise<Reply> {
  const form = new FormData();
  form.append('file', new Blob([typeof bytes === 'string' ? Buffer.from(bytes) : bytes]), filename);
  return readResponse(await fetch(`${base}/api/v1/assets${query}`, { method: 'POST', body: form, headers }));
}

export async function waitForJob(base: string, id: string, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call('GET', `${base}/api/v1/jobs/${id}`, undefined, headers);
    assert.equal(r.status, 200, r.text);
    if (['completed', 'failed', 'canceled'].includes(r.json.status)) return r.json;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${r.json.status} after ${timeoutMs} ms: ${r.text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function createBatchDeployment(base: string, name: string, model: string): Promise<any> {
  const r = await call('POST', `${base}/api/v1/deployments`, { name, kind: 'batch', target: { model } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'ready', r.text);
  return r.json;
}

/** breast_cancer.csv: its header (30 feature names) and data lines. */
export function breastCancer(): { header: string; lines: string[]; features: string[] } {
  const text = readFileSync(join(SHARED, 'breast_cancer.csv'), 'utf8').trim().split(/\r?\n/);
  return { header: text[0]!, lines: text.slice(1), features: text[0]!.split(',') };
}

/** Minimal RFC 4180 CSV reader for checking outputs (quoted cells, "" escapes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else if (c !== '\r') cell += c;
  }
  if (cell !== '' || row.length) row.push(cell), rows.push(row);
  return rows;
}

/** Online predictions for records through the Watson ML route: [label, [p...]] per row. */
export async function onlinePredictions(base: string, deployment: string, fields: string[], values: number[][]): Promise<[string, number[]][]> {
  const r = await call('POST', `${base}/ml/v4/deployments/${deployment}/predictions`, { input_data: [{ fields, values }] });
  assert.equal(r.status, 200, r.text);
  return r.json.predictions[0].values;
}
