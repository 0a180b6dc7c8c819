import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh random secret of `bytes` bytes, base64url (no padding, safe in URLs and headers). */
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/**
 * SHA-256 hex of a machine-generated secret (client secret, API key, session id, CSRF token).
 * A fast hash is enough here, unlike for passwords: the secrets carry 256 random bits, so
 * guessing one from its digest is as hard as guessing it outright, and a slow hash would only make
 * every token request and API-key call cost an argon2 run (a denial-of-service lever).
 */
export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Compares a secret with a stored digest in constant time. */
export function matchesDigest(secret: string, digestHex: string): boolean {
  const a = Buffer.from(sha256Hex(secret), 'hex');
  const b = Buffer.from(digestHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
