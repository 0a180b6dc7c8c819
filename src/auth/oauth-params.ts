import { OAuthError } from './oauth-error.js';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
export const FORM_REQUIRED = 'the request body must be application/x-www-form-urlencoded';

/** RFC 6749 §3.2 / RFC 7009 §2.1 / RFC 7662 §2.1: requests to the OAuth endpoints are form-encoded. */
export function assertFormEncoded(contentType: string | undefined): void {
  if (!contentType || !FORM.test(contentType)) {
    throw new OAuthError('invalid_request', FORM_REQUIRED);
  }
}

/**
 * The parameters of a form body. Repeats of known parameters are refused by the route schema
 * (RFC 6749 §3.2); a parameter sent without a value counts as omitted (§3.1), so it is left out.
 */
export function oauthParams(body: unknown): Map<string, string> {
  const params = new Map<string, string>();
  if (body && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string' && value !== '') params.set(key, value);
  }
  return params;
}
