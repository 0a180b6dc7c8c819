import type { FastifyReply } from 'fastify';
import type { CallContext } from '../../runtime/model-runtime.js';

/** Makes a request's CallContext: its deadline, and a way to learn that its caller went away. */
export type CallContextOf = (reply: FastifyReply) => CallContext;

/**
 * One small object per request, methods on its prototype (no closures on the hot path). The
 * deadline counts from when the request arrived (Fastify's reply.elapsedTime), so time spent
 * receiving the body is part of it. Nothing is subscribed until a run has to wait.
 */
class ReplyCall implements CallContext {
  readonly deadline: number;

  constructor(
    private readonly reply: FastifyReply,
    timeoutMs: number,
  ) {
    this.deadline = Date.now() - reply.elapsedTime + timeoutMs;
  }

  onAbandon(listener: () => void): () => void {
    const response = this.reply.raw;
    if (response.destroyed) {
      listener();
      return () => undefined;
    }
    const closed = () => {
      if (!response.writableFinished) listener();
    };
    response.once('close', closed);
    return () => response.off('close', closed);
  }
}

export function callContexts(requestTimeoutMs: number): CallContextOf {
  return (reply) => new ReplyCall(reply, requestTimeoutMs);
}
