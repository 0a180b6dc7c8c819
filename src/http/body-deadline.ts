import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorBody } from './error-handler.js';

declare module 'fastify' {
  interface FastifyReply {
    /** Epoch ms the request began while its body is still being received; 0 once it has arrived. */
    receivingSince: number;
  }
}

/**
 * Cuts a request whose body has not fully arrived PLINTH_REQUEST_TIMEOUT_MS after it started (a
 * client trickling one byte at a time) with 408 and closes the connection. Node's requestTimeout
 * cannot do it: it is server-wide, and the upload routes need a much longer one
 * (PLINTH_UPLOAD_TIMEOUT_MS), so it is set to that. Streamed uploads read their body in the
 * handler, under their own deadline (upload-deadline.ts), so they leave this watch when the
 * handler starts, as every request does once its body is parsed. The hot path pays a Set insert
 * and delete and a number on the reply (a decorated field, so no hidden-class change); a sweep a
 * few times per timeout does the rest. (A WeakMap per request here cost 4 µs and GC a request.)
 */
export function registerBodyDeadline(app: FastifyInstance, timeoutMs: number): void {
  const receiving = new Set<FastifyReply>();
  app.decorateReply('receivingSince', 0);
  const sweep = () => {
    const cutoff = Date.now() - timeoutMs;
    for (const reply of receiving) {
      if (reply.sent || reply.raw.writableEnded) receiving.delete(reply);
      else if (reply.receivingSince <= cutoff) {
        receiving.delete(reply);
        cut(reply, timeoutMs);
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
      reply.receivingSince = Date.now();
      receiving.add(reply);
    }
    done();
  });
  // The body has been parsed (or the handler streams it itself): no longer receiving.
  app.addHook('preValidation', (_request, reply, done) => {
    if (reply.receivingSince !== 0) {
      reply.receivingSince = 0;
      receiving.delete(reply);
    }
    done();
  });
}

/** 408 in the error body, then the connection closes: the rest of the body is never read. */
function cut(reply: FastifyReply, timeoutMs: number): void {
  const response = reply.raw;
  if (!response.headersSent) {
    const body = JSON.stringify({ error: `the request body did not arrive within ${timeoutMs} ms (PLINTH_REQUEST_TIMEOUT_MS)`, code: 'REQUEST_TIMEOUT' } satisfies ErrorBody);
    response.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  }
  reply.request.log.info({ timeoutMs }, 'request body not received in time: connection closed');
  reply.request.raw.socket?.destroySoon();
}
