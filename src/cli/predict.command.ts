import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

function parseJsonFile(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Sends records from a JSON or CSV file to a running server's records route and prints the answer. */
export async function predict(name: string, options: { data: string; url: string; proba?: boolean }): Promise<void> {
  const text = await readFile(options.data, 'utf8');
  const records = options.data.toLowerCase().endsWith('.csv')
    ? parse(text, { columns: true, bom: true, skip_empty_lines: true, cast: true })
    : parseJsonFile(options.data, text);
  const url = new URL(`/models/${encodeURIComponent(name)}/predict${options.proba ? '?proba=1' : ''}`, options.url);
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) }).catch((err: Error) => {
    // fetch only says "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause.
    const cause = err.cause as { code?: string; message?: string } | undefined;
    throw new Error(`cannot reach the server at ${url.origin}: ${cause?.code ?? cause?.message ?? err.message}`);
  });
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try {
      message = (JSON.parse(body) as { error?: string }).error ?? body;
    } catch {
      // not JSON: print it as it came
    }
    throw new Error(`${response.status}: ${message}`);
  }
  console.log(JSON.stringify(JSON.parse(body), null, 2));
}
