import fastifyCors from '@fastify/cors';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

export interface HardeningOptions {
  /** PLINTH_CORS_ORIGINS: comma-separated exact origins; empty = no CORS headers at all. */
  corsOrigins: string;
  /** PLINTH_HSTS. */
  hsts: 'auto' | 'on' | 'off';
}

/**
 * The API answers JSON, files and text, never a page: its CSP allows nothing, so a response that
 * a browser was tricked into rendering runs no script and loads nothing, and no site may frame it.
 */
const API_CSP = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Swagger UI (/api/docs) loads its scripts, styles and the OpenAPI document from this server and
 * sets some inline styles; nothing from elsewhere, no inline script, no eval. No
 * `upgrade-insecure-requests`: on a plain-HTTP deployment it would send the page's own assets to an
 * https:// URL that does not answer.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/** One year; no includeSubDomains or preload, which would bind the operator's other hosts. */
export const HSTS_VALUE = 'max-age=31536000';

const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const CORS_REQUEST_HEADERS = ['authorization', 'content-type', 'if-match', 'x-request-id', 'inference-header-content-length'];
const CORS_EXPOSED_HEADERS = ['x-request-id', 'etag', 'location', 'retry-after', 'www-authenticate', 'content-disposition', 'x-content-sha256', 'inference-header-content-length'];

export const parseCorsOrigins = (setting: string): string[] => setting.split(',').map((o) => o.trim()).filter(Boolean);

const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
  referrerPolicy: { policy: 'no-referrer' },
  // The CSP's frame-ancestors 'none', for browsers that only read X-Frame-Options.
  xFrameOptions: { action: 'deny' },
  // Set per request below: helmet's would go out on plain-HTTP answers too.
  strictTransportSecurity: false,
};

/**
 * The headers helmet sets, computed once. helmet is Express-style middleware that only calls
 * setHeader / removeHeader on the response; run against a recorder it yields its header set.
 * (@fastify/helmet would rebuild the middleware on every request, in an async hook: measured at
 * roughly a quarter fewer requests per second on a small route, for the same headers.)
 */
export function securityHeaders(options: Readonly<HelmetOptions> = HELMET_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  } as unknown as ServerResponse;
  helmet(options)({} as never, recorder, () => undefined);
  return headers;
}

/**
 * Security headers on every response (helmet's: CSP, X-Content-Type-Options: nosniff,
 * Referrer-Policy: no-referrer, X-Frame-Options: DENY, Cross-Origin-*-Policy, ...), HSTS by the
 * PLINTH_HSTS rule, and CORS only for the configured origins. One synchronous onRequest hook, so
 * errors, 404s and the docs get them too and the hot path pays no promise.
 */
export async function registerHardening(app: FastifyInstance, options: HardeningOptions): Promise<void> {
  const headers = securityHeaders();
  const hstsOn = options.hsts === 'on';
  const hstsAuto = options.hsts === 'auto';
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers);
    if (request.url.startsWith('/api/docs')) reply.header('content-security-policy', DOCS_CSP);
    // request.protocol is 'https' on a TLS socket, or from X-Forwarded-Proto of a trusted proxy only.
    if (hstsOn || (hstsAuto && request.protocol === 'https')) reply.header('strict-transport-security', HSTS_VALUE);
    done();
  });

  const origins = parseCorsOrigins(options.corsOrigins);
  if (origins.length > 0) {
    await app.register(fastifyCors, {
      // Exact matches only: an origin not listed gets no Access-Control-Allow-Origin, so the browser refuses.
      origin: origins,
      methods: CORS_METHODS,
      allowedHeaders: CORS_REQUEST_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      // Cross-origin callers send bearer tokens; the console's cookie stays same-site (SameSite=Strict).
      credentials: false,
      maxAge: 600,
    });
  }
}

/**
 * Fastify's trustProxy from PLINTH_TRUST_PROXY: off when empty (or `false`); `true` trusts every
 * peer (only when nothing but the proxy can reach the server); otherwise comma-separated proxy
 * addresses, CIDRs or proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). Hop counts are
 * refused: Fastify cannot check the peer with one and ignores the headers.
 */
export function trustProxyOption(setting: string): boolean | string {
  const value = setting.trim();
  if (value === '' || value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') return true;
  if (/^[0-9]+$/.test(value)) {
    throw new Error(`invalid configuration trustProxy (PLINTH_TRUST_PROXY): a hop count is not supported, name the proxy addresses or CIDRs (or true), got ${JSON.stringify(setting)}`);
  }
  return value;
}
