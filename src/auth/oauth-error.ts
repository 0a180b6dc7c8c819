/** The error codes of RFC 6749 §5.2 that the token, revocation and introspection endpoints use. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

/** A refusal the status of its error code does not cover: a method the endpoint does not take. */
export interface OAuthErrorStatus {
  status: 405;
  headers: Readonly<Record<string, string>>;
}

/**
 * An OAuth endpoint's refusal. Answered with the RFC body `{error, error_description}` rather than
 * Plinth's error shape, because OAuth client libraries parse exactly that.
 */
export class OAuthError extends Error {
  constructor(readonly error: OAuthErrorCode, readonly description: string, private readonly override?: OAuthErrorStatus) {
    super(description);
    this.name = 'OAuthError';
  }

  /** invalid_client is 401 (the client failed to authenticate); everything else is 400, unless overridden. */
  get status(): 400 | 401 | 405 {
    return this.override?.status ?? (this.error === 'invalid_client' ? 401 : 400);
  }

  /** Headers the answer needs besides the OAuth ones (Allow on a 405). */
  get headers(): Readonly<Record<string, string>> | undefined {
    return this.override?.headers;
  }
}
