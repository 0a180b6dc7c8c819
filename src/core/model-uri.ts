import { invalidInput, printable } from './errors.js';
import { isValidModelName, MODEL_NAME_MAX, NAME_RULE } from './model-name.js';

/**
 * Model references, wherever a model is named: `name`, `name@alias`, and MLflow-style URIs
 * `models:/name/3`, `models:/name@production`, `models:/name/latest`.
 * A reference names a version number, or an alias, or neither (the caller's default: latest).
 * `latest` and `best` parse as aliases; the registry computes them.
 */
export interface ModelReference {
  name: string;
  version?: number;
  alias?: string;
}

const ALIAS = /^[a-z][a-z0-9_-]{0,62}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;
const URI_SCHEME = 'models:/';
/** Longest reference worth reading: scheme + name + '@' + alias. */
const REFERENCE_MAX = URI_SCHEME.length + MODEL_NAME_MAX + 1 + 63;

const EXPECTED = "expected 'name', 'name@alias', 'models:/name/<version>', 'models:/name@<alias>' or 'models:/name/latest'";

export const isValidAliasName = (alias: string): boolean => ALIAS.test(alias);

export function assertAliasName(alias: string): void {
  if (!isValidAliasName(alias)) {
    throw invalidInput(
      `alias '${printable(alias, 70)}' is invalid: use 1-63 lower-case letters, digits, '_' or '-', starting with a letter`,
    );
  }
}

function refuse(reference: string, why: string): never {
  throw invalidInput(`model reference '${printable(reference, 80)}' is invalid: ${why}; ${EXPECTED}`);
}

function checkName(reference: string, name: string): string {
  if (name === '') refuse(reference, 'it names no model');
  if (!isValidModelName(name)) {
    refuse(reference, `the model name must be ${NAME_RULE}`);
  }
  return name;
}

function checkAlias(reference: string, alias: string): string {
  if (!isValidAliasName(alias)) refuse(reference, `alias '${printable(alias, 70)}' must be 1-63 lower-case letters, digits, '_' or '-', starting with a letter`);
  return alias;
}

/** `name` or `name@alias` (the part after `models:/` too, when it has no '/'). */
function parseNamed(reference: string, text: string): ModelReference {
  const at = text.indexOf('@');
  if (at < 0) return { name: checkName(reference, text) };
  if (text.indexOf('@', at + 1) >= 0) refuse(reference, "it has more than one '@'");
  return { name: checkName(reference, text.slice(0, at)), alias: checkAlias(reference, text.slice(at + 1)) };
}

/** Parses a model reference; throws INVALID_INPUT naming what was expected. */
export function parseModelReference(reference: string): ModelReference {
  if (typeof reference !== 'string' || reference.length === 0) refuse(String(reference ?? ''), 'it is empty');
  if (reference.length > REFERENCE_MAX) refuse(reference, `it is longer than ${REFERENCE_MAX} characters`);
  if (!reference.startsWith('models:')) {
    if (reference.includes('/')) refuse(reference, "a plain reference has no '/' (use models:/name/<version> for a version)");
    return parseNamed(reference, reference);
  }
  if (!reference.startsWith(URI_SCHEME) || reference.startsWith(`${URI_SCHEME}/`)) refuse(reference, "a URI starts with 'models:/' followed by the model name");
  const path = reference.slice(URI_SCHEME.length);
  const slash = path.indexOf('/');
  if (slash < 0) return parseNamed(reference, path);
  const head = path.slice(0, slash);
  if (head.includes('@')) refuse(reference, "use either '@alias' or '/version', not both");
  const name = checkName(reference, head);
  const selector = path.slice(slash + 1);
  if (selector === '') refuse(reference, "nothing follows the '/' after the model name");
  if (selector.includes('/')) refuse(reference, "it has more than one '/' after the model name");
  if (/^[0-9]+$/.test(selector)) {
    if (!VERSION.test(selector)) refuse(reference, `version '${printable(selector, 20)}' must be a whole number from 1 to 999999999 without leading zeros`);
    return { name, version: Number(selector) };
  }
  return { name, alias: checkAlias(reference, selector) };
}

/** The canonical URI for a reference: models:/name/3, models:/name@alias, or models:/name. */
export function formatModelUri(reference: ModelReference): string {
  if (reference.version !== undefined) return `${URI_SCHEME}${reference.name}/${reference.version}`;
  if (reference.alias !== undefined) return `${URI_SCHEME}${reference.name}@${reference.alias}`;
  return `${URI_SCHEME}${reference.name}`;
}
