import { PlinthError } from '../core/errors.js';
import type { Decision } from './authorization.policy.js';
import type { Scope } from './scopes.js';

/**
 * Errors of protected routes, with the RFC 6750 challenge each one needs. Descriptions in the
 * challenge are fixed strings: nothing a caller sent is echoed into a header.
 */
const REALM = 'Bearer realm="plinth"';

/** No credentials (or a scheme Plinth does not take): the challenge carries no error code (RFC 6750 §3.1). */
export const missingCredentials = (why = 'authentication required') =>
  new PlinthError('UNAUTHENTICATED', `${why}: send Authorization: Bearer <access token or API key>`, { 'www-authenticate': REALM });

/** The refusal of a request that brought no credential at all (its challenge has no error code). */
export const isMissingCredentials = (err: unknown): boolean =>
  err instanceof PlinthError && err.code === 'UNAUTHENTICATED' && err.headers?.['www-authenticate'] === REALM;

export const invalidToken = () =>
  new PlinthError('UNAUTHENTICATED', 'the access token or API key is not valid: it is unknown, expired or revoked', {
    'www-authenticate': `${REALM}, error="invalid_token", error_description="the token is unknown, expired or revoked"`,
  });

export const bearerInvalidRequest = (message: string) =>
  new PlinthError('INVALID_INPUT', message, { 'www-authenticate': `${REALM}, error="invalid_request"` });

export const insufficientScope = (scope: Scope) =>
  new PlinthError('INSUFFICIENT_SCOPE', `this needs the '${scope}' scope, which the credential does not carry (or the space role does not allow)`, {
    'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"`,
  });

export const csrfRefused = () =>
  new PlinthError('FORBIDDEN', 'a browser session must send its CSRF token in the X-CSRF-Token header for this request');

/** Throws what a refusing decision means; `notFound` is the caller's own "does not exist" error. */
export function assertAllowed(decision: Decision, notFound: () => PlinthError): void {
  if (decision.allow) return;
  throw decision.status === 404 ? notFound() : insufficientScope(decision.scope);
}

/** A session route called from another site's page (login CSRF); see same-origin.hook.ts. */
export const crossSiteRefused = (path: string) =>
  new PlinthError('FORBIDDEN', `${path} refuses cross-site browser requests: call it from this server's own origin or an origin listed in PLINTH_CORS_ORIGINS`);
