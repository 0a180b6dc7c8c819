import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './error-handler.js';

interface Receiving {
  request: FastifyRequest;
  reply: FastifyReply;
  /** Epoch ms by which the body must have arrived. */
  deadline: number;
}

/**
 * Cuts a request whose body has not fully arrived PLINTH_REQUEST_TIMEOUT_MS after it started (a
 * client trickling one byte at a time) with 408 and closes the connection. Node's requestTimeout
 * cannot do it: it is server-wide, and the upload routes need a much longer one
 * (PLINTH_UPLOAD_TIMEOUT_MS), so it is set to that. Streamed uploads read their body in the
 * handler, under their own deadline (upload-deadline.ts), so they leave this watch when the
 * handler starts, as every request does once its body is parsed. A sweep a few times per timeout
 * costs each request with a body a Set insert and delete, not a timer.
 */
export function registerBodyDeadline(app: FastifyInstance, timeoutMs: number): void {
  const receiving = new Set<Receiving>();
  const entries = new WeakMap<FastifyRequest, Receiving>();
  const sweep = () => {
    const now = Date.now();
    for (const entry of receiving) {
      if (entry.reply.sent || entry.reply.raw.writableEnded) receiving.delete(entry);
      else if (now >= entry.deadline) {
        receiving.delete(entry);
        cut(entry, timeoutMs);
      }
    }
  };
  const timer = setInterval(sweep, Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4))));
  timer.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    const { headers } = request;
    if ((headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined) {
      const entry = { request, reply, deadline: Date.now() - reply.elapsedTime + timeoutMs };
      receiving.add(entry);
      entries.set(request, entry);
    }
    done();
  });
  // The body has been parsed (or the handler streams it itself): no longer receiving.
  app.addHook('preValidation', (request, _reply, done) => {
    const entry = entries.get(request);
    if (entry) receiving.delete(entry);
    done();
  });
}

/** 408 in the error body, then the connection closes: the rest of the body is never read. */
function cut({ request, reply }: Receiving, timeoutMs: number): void {
  const response = reply.raw;
  if (!response.headersSent) {
    const body = JSON.stringify({ error: `the request body did not arrive within ${timeoutMs} ms (PLINTH_REQUEST_TIMEOUT_MS)`, code: 'REQUEST_TIMEOUT' } satisfies ErrorBody);
    response.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  }
  request.log.info({ timeoutMs }, 'request body not received in time: connection closed');
  request.raw.socket?.destroySoon();
}
