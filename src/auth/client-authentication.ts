import { OAuthError } from './oauth-error.js';

export interface ClientCredentials {
  id: string;
  secret: string;
}

/** application/x-www-form-urlencoded decoding ('+' is a space), as RFC 6749 §2.3.1 asks of Basic credentials. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/**
 * The client's credentials from HTTP Basic or from the client_id / client_secret body parameters,
 * or undefined when the request carries neither. Using both is refused (RFC 6749 §2.3: one method
 * per request). Basic carries the form-encoded id and secret, split at the first ':'.
 */
export function readClientCredentials(authorization: string | undefined, params: Map<string, string>): ClientCredentials | undefined {
  const inBody = params.has('client_id') || params.has('client_secret');
  if (authorization !== undefined) {
    if (inBody) throw new OAuthError('invalid_request', 'the client authenticated twice: use HTTP Basic or client_id and client_secret in the body, not both');
    const match = BASIC.exec(authorization);
    if (!match) throw new OAuthError('invalid_client', 'client authentication must use HTTP Basic or client_id and client_secret in the body');
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const id = colon < 0 ? undefined : formDecode(decoded.slice(0, colon));
    const secret = colon < 0 ? undefined : formDecode(decoded.slice(colon + 1));
    if (!id || secret === undefined) throw new OAuthError('invalid_client', 'the HTTP Basic credentials are not a form-encoded client id and secret');
    return { id, secret };
  }
  if (!inBody) return undefined;
  const id = params.get('client_id');
  const secret = params.get('client_secret');
  if (!id || !secret) throw new OAuthError('invalid_client', 'client authentication needs both client_id and client_secret');
  return { id, secret };
}
