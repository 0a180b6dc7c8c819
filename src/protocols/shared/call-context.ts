import type { FastifyReply } from 'fastify';
import type { CallContext } from '../../runtime/model-runtime.js';

/** Makes a request's CallContext: its deadline, and a way to learn that its caller went away. */
export type CallContextOf = (reply: FastifyReply) => CallContext;

/**
 * The deadline counts from when the request arrived (Fastify's reply.elapsedTime), so time spent
 * receiving the body is part of it. Nothing is subscribed until a run has to wait.
 */
export function callContexts(requestTimeoutMs: number): CallContextOf {
  return (reply) => {
    const response = reply.raw;
    return {
      deadline: Date.now() - reply.elapsedTime + requestTimeoutMs,
      onAbandon(listener) {
        if (response.destroyed) {
          listener();
          return () => undefined;
        }
        const closed = () => {
          if (!response.writableFinished) listener();
        };
        response.once('close', closed);
        return () => response.off('close', closed);
      },
    };
  };
}
