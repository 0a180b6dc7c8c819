import { invalidInput, printable } from '../../core/errors.js';

export const BLOB_KEY_MAX = 1024;
const KEY = /^[A-Za-z0-9._/-]+$/;

/**
 * Blob keys become file paths (and S3 object keys), so only a narrow alphabet is allowed:
 * no '..' anywhere, no leading or trailing '/', no empty segment ('a//b'), no segment starting
 * with '.' (that also keeps keys away from the store's own '.tmp' folder), no NUL or other
 * control characters (they are outside the alphabet).
 */
export function isValidBlobKey(key: string): boolean {
  if (key.length === 0 || key.length > BLOB_KEY_MAX || !KEY.test(key) || key.includes('..')) return false;
  return key.split('/').every((segment) => segment.length > 0 && !segment.startsWith('.'));
}

export function assertBlobKey(key: string): void {
  if (!isValidBlobKey(key)) {
    throw invalidInput(
      `blob key '${printable(key, 60)}' is invalid: use 1-${BLOB_KEY_MAX} of letters, digits, '.', '_', '-' and '/' ` +
        "as a relative path, without '..', empty segments or segments starting with '.'",
    );
  }
}
