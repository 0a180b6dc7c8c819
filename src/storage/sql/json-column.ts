import type { JsonValue } from '../ports.js';

/** JSON columns are TEXT (see schema.ts); these are the only places they are read or written. */
export const toJson = (value: unknown): string => JSON.stringify(value);

export const toJsonOrNull = (value: JsonValue | null | undefined): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** Tags are kept sorted and without duplicates, so equal sets compare and store equally. */
export function normalizeTags(tags: readonly string[] | undefined): string[] {
  return [...new Set(tags ?? [])].sort();
}

export const nowIso = (): string => new Date().toISOString();

/**
 * The SET clause of a partial update: each defined patch field under its column name (booleans
 * as SQLite's 0/1), plus updated_at.
 */
export function patchColumns<P extends object>(patch: P, columns: Record<keyof P, string>): Record<string, unknown> {
  const set: Record<string, unknown> = { updated_at: nowIso() };
  for (const [key, value] of Object.entries(patch) as [keyof P, unknown][]) {
    if (value !== undefined) set[columns[key]] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return set;
}
