import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKeyRepository, SigningKeyRow } from '../storage/auth-ports.js';
import { isoAfter } from './auth-options.js';

/** ECDSA P-256: the JWS algorithm every JWT library verifies, with small keys and signatures. */
export const SIGNING_ALG = 'ES256';

/** A public key as /.well-known/jwks.json lists it. */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid: string;
  alg: string;
  use: 'sig';
}

/**
 * Extra time a retired key stays published beyond the token lifetime: covers a token signed by a
 * replica that read the key just before another retired it, and clock skew between replicas.
 */
const RETIRED_KEY_GRACE_SECONDS = 60;

export interface SigningKeyOptions {
  /** Longest access-token lifetime: a retired key stays published this long. */
  tokenTtlSeconds: number;
  /** A key older than this is replaced at the next signature. */
  maxAgeSeconds: number;
}

/**
 * Token signing keys, kept in the database so every replica signs and verifies with the same set.
 * A rotation adds a key and retires the previous one, which stays in the JWKS and keeps verifying
 * until the last token it signed has expired; then it is deleted.
 */
export class SigningKeyService {
  /** Imported keys by kid. A kid never changes its key, so entries never go stale. */
  private readonly imported = new Map<string, CryptoKey>();
  /** One rotation at a time in this process: a burst of first requests creates one key, not many. */
  private rotating: Promise<SigningKeyRow> | undefined;

  constructor(private readonly keys: SigningKeyRepository, private readonly options: SigningKeyOptions, private readonly now: () => Date) {}

  /**
   * The key to sign with now. Read from the database every time (token issue is not a hot path),
   * so a replica never keeps signing with a key another replica has retired.
   */
  async current(): Promise<{ kid: string; key: CryptoKey }> {
    let row = await this.keys.current();
    const maxAgeMs = this.options.maxAgeSeconds * 1000;
    if (!row || Date.parse(row.createdAt) + maxAgeMs <= this.now().getTime()) {
      this.rotating ??= this.rotate().finally(() => (this.rotating = undefined));
      row = await this.rotating;
    }
    return { kid: row.kid, key: await this.importOnce(`private:${row.kid}`, row.privateJwk) };
  }

  /** Makes a new key the signing one; the previous keys retire (still verifying) and expired ones go. */
  async rotate(): Promise<SigningKeyRow> {
    const now = this.now();
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const row: SigningKeyRow = {
      kid: await calculateJwkThumbprint(publicJwk),
      alg: SIGNING_ALG,
      privateJwk: JSON.stringify(await exportJWK(privateKey)),
      publicJwk: JSON.stringify(publicJwk),
      createdAt: now.toISOString(),
      retiredAt: null,
      expiresAt: null,
    };
    await this.keys.create(row);
    await this.keys.retireCreatedBefore(row.createdAt, row.createdAt, isoAfter(now, this.options.tokenTtlSeconds + RETIRED_KEY_GRACE_SECONDS));
    await this.keys.deleteExpired(row.createdAt);
    return row;
  }

  /** The public key of that kid while tokens it signed may be alive; undefined otherwise. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    const cached = this.imported.get(`public:${kid}`);
    if (cached) return cached;
    const row = await this.keys.get(kid);
    if (!row || (row.expiresAt !== null && row.expiresAt <= this.now().toISOString())) return undefined;
    return this.importOnce(`public:${kid}`, row.publicJwk);
  }

  /**
   * The JSON Web Key Set: every key whose tokens may still be alive, newest first. Never empty:
   * the signing key is made here if no token has been issued yet, so a verifier's first fetch
   * already holds the key the first token will carry.
   */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    await this.current();
    const rows = await this.keys.listLive(this.now().toISOString());
    return {
      keys: rows.map((r) => {
        const jwk = JSON.parse(r.publicJwk) as JWK;
        return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y!, kid: r.kid, alg: r.alg, use: 'sig' };
      }),
    };
  }

  private async importOnce(cacheKey: string, jwkText: string): Promise<CryptoKey> {
    let key = this.imported.get(cacheKey);
    if (!key) {
      key = (await importJWK(JSON.parse(jwkText) as JWK, SIGNING_ALG)) as CryptoKey;
      this.imported.set(cacheKey, key);
    }
    return key;
  }
}
