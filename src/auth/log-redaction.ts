import type { FastifyRequest } from 'fastify';

/** Query parameters whose values never reach the log (a token sent in a URL is refused, but its URL is still logged). */
const SECRET_PARAM = /token|secret|password|passwd|apikey|api_key|authorization|session|csrf|credential|^code$|^key$/i;
export const REDACTED = '[Redacted]';

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** The URL with the values of secret-sounding query parameters replaced; paths carry no secrets in Plinth. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    return eq >= 0 && SECRET_PARAM.test(decodeName(name)) ? `${name}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q + 1)}${pairs.join('&')}`;
}

const SECRET_FIELDS = ['client_secret', 'password', 'apikey', 'api_key', 'token', 'access_token', 'refresh_token', 'csrf_token', 'secret'];
const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-csrf-token', 'proxy-authorization', 'x-api-key'];

/**
 * pino `redact` paths: secret headers wherever a request, response or headers object is logged,
 * and secret fields at the top level of a log line or one or two levels down (a logged body, a
 * logged object's body). Fastify's own request lines carry no headers or bodies; this holds for
 * anything logged later too.
 */
export const REDACT_PATHS: string[] = [
  ...['req.headers', 'res.headers', 'headers'].flatMap((at) => SECRET_HEADERS.map((h) => `${at}["${h}"]`)),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

/**
 * Fastify's request serializer with the query string's secrets redacted: method, url, host,
 * remote address and port, as the default has them.
 */
export function serializeRequest(request: FastifyRequest) {
  if (!request || typeof request !== 'object') return request;
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : undefined,
    version: request.headers?.['accept-version'] as string | undefined,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  };
}

/** The logger's redaction options, for Fastify's `logger` option. */
export const loggerRedaction = () => ({
  redact: { paths: REDACT_PATHS, censor: REDACTED },
  serializers: { req: serializeRequest },
});
