import { invalidInput, printable } from './errors.js';

export const MODEL_NAME_MAX = 200;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A name safe to show and to compare: never used to build a path (see storage/model-folder.source.ts). */
export function isValidModelName(name: string): boolean {
  return name.length <= MODEL_NAME_MAX && NAME.test(name) && !name.includes('..');
}

export function assertModelName(name: string): void {
  if (!isValidModelName(name)) {
    throw invalidInput(
      `model name '${printable(name, 40)}' is invalid: use 1-${MODEL_NAME_MAX} letters, digits, '.', '_' or '-', ` +
        "starting with a letter or digit, without '..'",
    );
  }
}
