/** Reads the committed JSON fixtures test/fixtures/build-text-fixtures.py writes. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const TEXT_FIXTURES = resolve(import.meta.dirname, '../fixtures/text');

export function textFixture<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(TEXT_FIXTURES, name), 'utf8')) as T;
}
