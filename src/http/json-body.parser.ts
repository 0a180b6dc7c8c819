import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { PlinthError } from '../core/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes after the JSON header of an Open Inference binary-extension request. */
    binaryTail: Buffer | null;
  }
}

export const BINARY_HEADER = 'inference-header-content-length';

/**
 * Linear scan for nesting depth before parsing: JSON.parse and the validators after it would
 * otherwise walk a hostile, deeply nested body. Hand-written because secure-json-parse has
 * no depth limit; it costs one pass over the bytes.
 */
export function jsonDepthExceeds(body: Buffer, max: number): boolean {
  // Nesting deeper than max needs more than max opening brackets: most bodies hold a few, counted
  // by native indexOf, so the byte loop below runs only for bodies that could be too deep.
  if (!openingBracketsExceed(body, max)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function openingBracketsExceed(body: Buffer, max: number): boolean {
  let count = 0;
  for (const bracket of [0x5b, 0x7b]) {
    for (let i = body.indexOf(bracket); i !== -1; i = body.indexOf(bracket, i + 1)) {
      if (++count > max) return true;
    }
  }
  return false;
}

function parseJson(text: Buffer, maxDepth: number): unknown {
  if (text.length === 0) throw new PlinthError('MALFORMED_BODY', 'the request body is empty; expected a JSON document');
  // JSON is UTF-8 (RFC 8259 §8.1); decoding invalid bytes would silently turn them into U+FFFD.
  if (!isUtf8(text)) throw new PlinthError('MALFORMED_BODY', 'the request body is not valid UTF-8; JSON must be sent as UTF-8');
  if (jsonDepthExceeds(text, maxDepth)) {
    throw new PlinthError('MALFORMED_BODY', `the JSON body is nested deeper than ${maxDepth} levels`);
  }
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
function parseBody(request: FastifyRequest, body: Buffer, maxDepth: number): unknown {
  const header = request.headers[BINARY_HEADER];
  if (header === undefined) return parseJson(body, maxDepth);
  const length = Number(header);
  if (!Number.isInteger(length) || length < 0 || length > body.length) {
    throw new PlinthError('MALFORMED_BODY', `Inference-Header-Content-Length must be an integer between 0 and the body size (${body.length}), got '${String(header).slice(0, 20)}'`);
  }
  request.binaryTail = body.subarray(length);
  return parseJson(body.subarray(0, length), maxDepth);
}

export function registerBodyParsers(app: FastifyInstance, maxDepth: number): void {
  app.decorateRequest('binaryTail', null);
  // Fastify's default text/plain parser would hand a string to routes that expect JSON; drop it so text/plain is a 415.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, (request, body, done) => {
    try {
      if (request.headers[BINARY_HEADER] === undefined && /octet-stream/.test(request.headers['content-type'] ?? '')) {
        throw new PlinthError('MALFORMED_BODY', 'an application/octet-stream body needs the Inference-Header-Content-Length header (Open Inference binary extension)');
      }
      done(null, parseBody(request, body as Buffer, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
