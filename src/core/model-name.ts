import { invalidInput, printable } from './errors.js';

export const MODEL_NAME_MAX = 200;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The naming rule, as error messages state it; models, spaces and deployments all follow it. */
export const NAME_RULE = `1-${MODEL_NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'`;

/** A name safe to show and to compare: never used to build a path (see storage/model-folder.source.ts). */
export function isValidModelName(name: string): boolean {
  return name.length <= MODEL_NAME_MAX && NAME.test(name) && !name.includes('..');
}

/** Refuses a name that breaks the rule, saying what kind of name it was (`model`, `space`, ...). */
export function assertName(kind: string, name: unknown, field = ''): asserts name is string {
  if (typeof name !== 'string' || !isValidModelName(name)) {
    throw invalidInput(`${field}${kind} name '${printable(String(name), 40)}' is invalid: use ${NAME_RULE}`);
  }
}

export function assertModelName(name: string): void {
  assertName('model', name);
}
