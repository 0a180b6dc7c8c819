import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { crossSiteRefused } from './auth-errors.js';

/** `scheme://host[:port]` as URL serialises it (host lowercased, default port dropped); undefined for anything but http(s). */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * The origin the browser addressed: request.protocol and request.host, which read
 * X-Forwarded-Proto / -Host only from a proxy PLINTH_TRUST_PROXY trusts.
 */
const ownOrigin = (request: FastifyRequest) => originOf(`${request.protocol}://${request.host}`);

/**
 * Whether a browser sent this request from another site's page. Sec-Fetch-Site (Fetch Metadata)
 * is set by the browser alone: `same-origin` and `none` (typed in the address bar) pass. Otherwise
 * an Origin listed in `trusted` passes (the browser calls those cross-site); without Fetch
 * Metadata (older browsers) the Origin must be this server's own. A request with neither header
 * does not come from a browser page (curl, scripts) and passes: the attack needs a victim's browser.
 * An opaque or unparsable Origin (`null`: sandboxed frames, cross-site redirects) is cross-site.
 */
export function isCrossSite(request: FastifyRequest, trusted: ReadonlySet<string>): boolean {
  const site = header(request, 'sec-fetch-site');
  if (site === 'same-origin' || site === 'none') return false;
  const sent = header(request, 'origin');
  if (sent === undefined) return site !== undefined;
  const origin = originOf(sent);
  if (origin === undefined) return true;
  if (trusted.has(origin)) return false;
  return site !== undefined || origin !== ownOrigin(request);
}

/**
 * An onRequest hook refusing cross-site requests with 403 FORBIDDEN (login CSRF: another site's
 * form signing the victim in as the attacker; OWASP CSRF Prevention Cheat Sheet). onRequest, so
 * a refused request is not parsed and does not count against the account's rate limit.
 * `trustedOrigins`: PLINTH_CORS_ORIGINS.
 */
export function sameOriginOnly(trustedOrigins: readonly string[]): onRequestAsyncHookHandler {
  const trusted = new Set(trustedOrigins.map(originOf).filter((o): o is string => o !== undefined));
  return async (request) => {
    if (isCrossSite(request, trusted)) throw crossSiteRefused(request.routeOptions.url ?? 'this route');
  };
}
