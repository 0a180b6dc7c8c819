import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlinthError, printable } from '../core/errors.js';
import { NOT_READY_RETRY_AFTER_S } from './readiness.js';

export interface ErrorBody {
  error: string;
  code: string;
}

/** Fastify's own client errors, mapped to catalogue codes; everything else is INTERNAL. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * The one place errors become responses: `{"error": message, "code": CODE}` (the Open Inference
 * Protocol's error shape plus a stable code). Internals stay in the log, never in the body.
 */
export function registerErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof PlinthError) {
      if (err.status >= 500) request.log.warn({ code: err.code }, err.message);
      if (err.headers) reply.headers(err.headers);
      // Every 503 says when to come back (still loading, draining, shed): clients and proxies back off instead of hammering.
      if (err.status === 503 && !err.headers?.['retry-after']) reply.header('retry-after', String(NOT_READY_RETRY_AFTER_S));
      return reply.status(err.status).send({ error: err.message, code: err.code } satisfies ErrorBody);
    }
    if (err.validation) {
      return reply.status(400).send({ error: err.message, code: 'INVALID_INPUT' } satisfies ErrorBody);
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped === 'PAYLOAD_TOO_LARGE') {
      return reply.status(413).send({ error: `the request body is larger than the limit of ${bodyLimit} bytes`, code: mapped });
    }
    if (mapped === 'UNSUPPORTED_MEDIA_TYPE') {
      const type = printable(String(request.headers['content-type'] ?? 'none'), 60);
      return reply.status(415).send({
        error: `content-type '${type}' is not supported: send application/json, text/csv (MLflow scoring) or application/octet-stream with Inference-Header-Content-Length (binary tensors)`,
        code: mapped,
      } satisfies ErrorBody);
    }
    if (mapped) {
      return reply.status(err.statusCode ?? 400).send({ error: err.message, code: mapped } satisfies ErrorBody);
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: err.message, code: 'INVALID_INPUT' } satisfies ErrorBody);
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: `internal error; the server log has the details (request id ${request.id})`, code: 'INTERNAL' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; see /api/docs`, code: 'NOT_FOUND' });
  });
}

/** Longest path parameter the router passes on; longer model names are refused by assertModelName, not the router. */
export const ROUTER_MAX_PARAM_LENGTH = 1024;

/**
 * Errors Fastify's router raises before any route or error handler runs (bad percent-encoding,
 * an over-long path parameter), in the same error body. Pass as Fastify's `frameworkErrors` option.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.status(414).send({ error: `a path segment is longer than ${ROUTER_MAX_PARAM_LENGTH} characters`, code: 'INVALID_INPUT' } satisfies ErrorBody);
    return;
  }
  const error = err.code === 'FST_ERR_BAD_URL' ? 'the URL path is not valid percent-encoded UTF-8' : 'the request could not be routed';
  reply.status(400).send({ error, code: 'INVALID_INPUT' } satisfies ErrorBody);
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (a body or headers not received
 * within the request timeout, malformed HTTP), answered in the same error body rather than
 * Fastify's default shape, then the connection closes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, body]: [string, ErrorBody] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['408 Request Timeout', { error: 'the request did not arrive within the request timeout (PLINTH_REQUEST_TIMEOUT_MS)', code: 'REQUEST_TIMEOUT' }]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', { error: 'the request headers are too large', code: 'INVALID_INPUT' }]
        : ['400 Bad Request', { error: 'the request is not valid HTTP/1.1', code: 'INVALID_INPUT' }];
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

/** Validation messages that name the field and, for enums, the allowed values. */
export function formatSchemaErrors(
  errors: { instancePath: string; message?: string; params: Record<string, unknown> }[],
  dataVar: string,
): Error {
  const e = errors[0]!;
  // A union of literals (TypeBox's enums) fails one `const` per branch: list the allowed values instead.
  const allowed = errors.filter((x) => x.instancePath === e.instancePath && 'allowedValue' in x.params).map((x) => String(x.params.allowedValue));
  if (allowed.length > 1) return new Error(`${dataVar}${e.instancePath} must be one of: ${allowed.join(', ')}`);
  let message = `${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}`;
  if (Array.isArray(e.params.allowedValues)) message += `: ${e.params.allowedValues.join(', ')}`;
  if (typeof e.params.additionalProperty === 'string') message += ` ('${e.params.additionalProperty.slice(0, 60)}')`;
  return new Error(message);
}
