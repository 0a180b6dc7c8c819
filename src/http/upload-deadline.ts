import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';

/**
 * The deadline of the upload routes (model versions, data assets), PLINTH_UPLOAD_TIMEOUT_MS:
 * a large archive is received, unpacked, hashed, stored and validated, which may take minutes.
 * It is set on the routes themselves, so it holds however the general request deadline is set:
 *
 * - `handlerTimeout`: Fastify's per-route handler deadline, which replaces a server-wide one
 *   for these routes (a route's own value wins in Fastify's route context);
 * - the request's socket idle timeout (the server-wide `server.timeout`, Fastify's
 *   connectionTimeout) is raised to the upload deadline while the request runs, so a connection
 *   that is silent while the server works is not cut, and put back when the response finishes
 *   unless Node has meanwhile set its own (keep-alive) timeout on the socket.
 *
 * Node's `requestTimeout` (the whole body must arrive within it) is server-wide and cannot be
 * set per route: an upload's body must still arrive within it (docs/operations.md).
 */
export function uploadDeadline(timeoutMs: number, onRequest?: onRequestHookHandler): { handlerTimeout: number; onRequest: onRequestHookHandler[] } {
  const extend = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const socket = request.raw.socket;
    const before = socket.timeout ?? 0;
    socket.setTimeout(timeoutMs);
    reply.raw.once('finish', () => {
      if (socket.timeout === timeoutMs) socket.setTimeout(before);
    });
    done();
  };
  return { handlerTimeout: timeoutMs, onRequest: onRequest ? [extend, onRequest] : [extend] };
}

/** An upload's outcome on its way to the client: see `untold`. */
export interface UploadOutcome {
  /** Aborted once the outcome can no longer reach the client. */
  signal: AbortSignal;
  /** Called just before the route sends its own answer: from then on, nothing aborts. */
  answering(): void;
}

/**
 * Watches whether an upload's outcome can still reach its client: the signal aborts when the
 * response ends before the route answered (the connection closed, or a deadline's 503 was sent
 * instead). The registry then commits nothing, or undoes the commit it raced. (request.signal
 * is no use here: Node closes the request, and so aborts it, as soon as the body has been read.)
 */
export function untold(reply: FastifyReply): UploadOutcome {
  const controller = new AbortController();
  let answered = false;
  const ended = () => {
    if (!answered) controller.abort();
  };
  reply.raw.once('finish', ended).once('close', ended);
  return { signal: controller.signal, answering: () => (answered = true) };
}
