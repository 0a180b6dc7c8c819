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
 * RFC 6749 §2.3.1: client credentials "MUST NOT be included in the request URI"; §3.2 and §4.4.2,
 * RFC 7009 §2.1, RFC 7662 §2.1: the parameters go in the form body. Plinth's endpoint URIs have no
 * query component, so every query parameter is refused, not only credentials: a list of secret
 * names would miss the next one, and an ignored `scope` would silently issue a broader token than
 * asked. Names are echoed (clipped), values never.
 */
export function assertNoQueryParameters(query: unknown): void {
  const names = query && typeof query === 'object' ? Object.keys(query) : [];
  if (names.length === 0) return;
  const listed = names.slice(0, 5).map((name) => name.slice(0, 40)).join(', ');
  throw new OAuthError(
    'invalid_request',
    `parameters in the request URI are refused (${listed}): send every parameter, credentials above all, in the form body; a secret that travelled in a URL may sit in a log, rotate it`,
  );
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
