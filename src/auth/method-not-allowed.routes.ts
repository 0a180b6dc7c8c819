import type { FastifyInstance } from 'fastify';

/** The methods a POST-only endpoint answers 405 to; HEAD comes with GET. OPTIONS stays with CORS preflights. */
const OTHER_METHODS = ['GET', 'PUT', 'DELETE', 'PATCH'];

/** The Allow header of a 405 from a POST-only endpoint (RFC 9110 §15.5.6 requires it). */
export const ALLOW_POST = { allow: 'POST' } as const;

/**
 * Routes the other methods of POST-only endpoints to a refusal (a 405 carrying ALLOW_POST) instead
 * of the 404 of an unknown path. It is thrown in onRequest, before a body is parsed or a
 * credential read, and answered by the scope's error handler, so each endpoint refuses in its own
 * protocol's error shape. Hidden from the OpenAPI document.
 */
export function refuseOtherMethods(scope: FastifyInstance, urls: readonly string[], refusal: (url: string) => Error): void {
  for (const url of urls) {
    const refuse = async (): Promise<never> => {
      throw refusal(url);
    };
    scope.route({ method: OTHER_METHODS, url, schema: { hide: true }, onRequest: refuse, handler: refuse });
  }
}
