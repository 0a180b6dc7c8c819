import { invalidInput, printable } from '../core/errors.js';
import { assertName } from '../core/model-name.js';
import { assertAliasName } from '../core/model-uri.js';

/** The space every server has; start-up creates it, and calls that name no space use it. */
export const DEFAULT_SPACE = 'default';

/** Aliases the registry computes; users cannot set, move or delete them. */
export const RESERVED_ALIASES = ['latest', 'best'] as const;
export type ReservedAlias = (typeof RESERVED_ALIASES)[number];
export const isReservedAlias = (alias: string): alias is ReservedAlias => (RESERVED_ALIASES as readonly string[]).includes(alias);

export const TAG_MAX = 100;
export const TAGS_MAX = 50;
export const DESCRIPTION_MAX = 10_000;

/** Space names follow the model-name rules (they appear in URLs the same way). */
export function assertSpaceName(name: string): void {
  assertName('space', name);
}

/** A user alias: valid, and not one of the computed ones. */
export function assertUserAlias(alias: string): void {
  assertAliasName(alias);
  if (isReservedAlias(alias)) {
    throw invalidInput(`alias '${alias}' is reserved: 'latest' (the highest version) and 'best' (the best primary metric) are computed, choose another name`);
  }
}

export function checkTags(tags: unknown, what = 'tags'): string[] | undefined {
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags)) throw invalidInput(`${what} must be a list of strings`);
  if (tags.length > TAGS_MAX) throw invalidInput(`${what} has ${tags.length} entries; at most ${TAGS_MAX} are allowed`);
  for (const tag of tags) {
    // eslint-disable-next-line no-control-regex
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > TAG_MAX || /[\u0000-\u001f\u007f]/.test(tag)) {
      throw invalidInput(`tag '${printable(String(tag), 40)}' is invalid: use 1-${TAG_MAX} characters without control characters`);
    }
  }
  return tags as string[];
}

export function checkDescription(description: unknown): string | null | undefined {
  if (description === undefined || description === null) return description;
  if (typeof description !== 'string') throw invalidInput('description must be a string or null');
  if (description.length > DESCRIPTION_MAX) throw invalidInput(`description is longer than ${DESCRIPTION_MAX} characters`);
  return description;
}
