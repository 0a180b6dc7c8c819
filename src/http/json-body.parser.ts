import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { PlinthError } from '../core/errors.js';
import { serverRowLimit, tooManyRows } from '../core/row-limit.js';
import { scanJson, type JsonScanLimits } from './json-scan.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes after the JSON header of an Open Inference binary-extension request. */
    binaryTail: Buffer | null;
  }
}

export const BINARY_HEADER = 'inference-header-content-length';

function parseJson(text: Buffer, limits: JsonScanLimits): unknown {
  if (text.length === 0) throw new PlinthError('MALFORMED_BODY', 'the request body is empty; expected a JSON document');
  // JSON is UTF-8 (RFC 8259 §8.1); decoding invalid bytes would silently turn them into U+FFFD.
  if (!isUtf8(text)) throw new PlinthError('MALFORMED_BODY', 'the request body is not valid UTF-8; JSON must be sent as UTF-8');
  const problem = scanJson(text, limits);
  if (problem?.kind === 'depth') throw new PlinthError('MALFORMED_BODY', `the JSON body is nested deeper than ${limits.maxDepth} levels`);
  if (problem?.kind === 'rows') throw tooManyRows(`more than ${limits.maxRows}`, serverRowLimit(limits.maxRows));
  try {
    // Refuses __proto__ and constructor.prototype keys outright instead of stripping them.
    return secureJson.parse(text.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const message = (err as Error).message;
    const reason = /prototype/i.test(message) ? 'it contains a forbidden __proto__ or constructor.prototype key' : message;
    throw new PlinthError('MALFORMED_BODY', `the request body is not valid JSON: ${reason}`);
  }
}

/** Splits an Open Inference binary request into its JSON header and its binary tail. */
function parseBody(request: FastifyRequest, body: Buffer, limits: JsonScanLimits): unknown {
  const header = request.headers[BINARY_HEADER];
  if (header === undefined) return parseJson(body, limits);
  const length = Number(header);
  if (!Number.isInteger(length) || length < 0 || length > body.length) {
    throw new PlinthError('MALFORMED_BODY', `Inference-Header-Content-Length must be an integer between 0 and the body size (${body.length}), got '${String(header).slice(0, 20)}'`);
  }
  request.binaryTail = body.subarray(length);
  return parseJson(body.subarray(0, length), limits);
}

/** JSON bodies (and binary-extension headers), refused before parsing when deeper than maxDepth or holding an array of more than maxRows rows. */
export function registerBodyParsers(app: FastifyInstance, limits: JsonScanLimits): void {
  app.decorateRequest('binaryTail', null);
  // Fastify's default text/plain parser would hand a string to routes that expect JSON; drop it so text/plain is a 415.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, (request, body, done) => {
    try {
      if (request.headers[BINARY_HEADER] === undefined && /octet-stream/.test(request.headers['content-type'] ?? '')) {
        throw new PlinthError('MALFORMED_BODY', 'an application/octet-stream body needs the Inference-Header-Content-Length header (Open Inference binary extension)');
      }
      done(null, parseBody(request, body as Buffer, limits));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
