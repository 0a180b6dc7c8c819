import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { callApi, jsonBody } from './api-client.js';

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
  const result = await callApi(url, jsonBody('POST', records));
  console.log(JSON.stringify(result, null, 2));
}
