/** What an operator can tune in the security domain; app.ts maps config keys onto these. */
export interface AuthOptions {
  /** `iss` of every access token, checked on verification. */
  issuer: string;
  /** `aud` of every access token, checked on verification. */
  audience: string;
  /** Lifetime of access tokens. Short, because a token cannot be recalled from a cache or log. */
  accessTokenTtlSeconds: number;
  /** Lifetime of a console session (the cookie). */
  sessionTtlSeconds: number;
  /** A signing key older than this is replaced at the next token issue. */
  signingKeyMaxAgeSeconds: number;
  /** The clock; tests move it instead of sleeping. */
  now: () => Date;
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = {
  issuer: 'plinth',
  audience: 'plinth',
  accessTokenTtlSeconds: 15 * 60,
  sessionTtlSeconds: 8 * 60 * 60,
  signingKeyMaxAgeSeconds: 30 * 24 * 60 * 60,
  now: () => new Date(),
};

export const resolveAuthOptions = (options: Partial<AuthOptions> = {}): AuthOptions => ({ ...DEFAULT_AUTH_OPTIONS, ...options });

/** ISO-8601 UTC of the clock's now plus some seconds, as the repositories store times. */
export const isoAfter = (now: Date, seconds: number): string => new Date(now.getTime() + seconds * 1000).toISOString();
