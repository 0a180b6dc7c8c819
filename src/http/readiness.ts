import type { FastifyReply } from 'fastify';

/** Seconds a not-ready answer asks a client to wait before it asks again. */
export const NOT_READY_RETRY_AFTER_S = 1;

/** 200, or 503 with Retry-After (RFC 9110 §10.2.3): every 503 Plinth sends says when to come back. */
export function readinessStatus(reply: FastifyReply, ready: boolean): FastifyReply {
  if (ready) return reply.status(200);
  return reply.status(503).header('retry-after', String(NOT_READY_RETRY_AFTER_S));
}
