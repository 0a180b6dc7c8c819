import { invalidInput, printable } from '../../core/errors.js';

/** A resource's ETag: its revision number, quoted (a strong validator). */
export const etagOf = (revision: number): string => `"${revision}"`;

/**
 * The revision an If-Match header names, or undefined without one. Only one strong ETag as
 * etagOf writes it is accepted: `*`, lists and weak tags cannot guard an update here.
 */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(', ') : header.trim();
  const match = /^"([1-9][0-9]{0,15})"$/.exec(value);
  if (!match) throw invalidInput(`If-Match must be one ETag as this API returns it, e.g. "3"; got '${printable(value, 40)}'`);
  return Number(match[1]);
}
