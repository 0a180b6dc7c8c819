import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { PlinthError } from '../core/errors.js';

/** A parsed `<max>/<window>` setting (PLINTH_LOGIN_RATE_LIMIT, PLINTH_TOKEN_RATE_LIMIT). */
export interface RateLimit {
  max: number;
  windowMs: number;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `10/60s` -> {max: 10, windowMs: 60000}; `off` -> undefined. The config schema has checked the shape. */
export function parseRateLimit(setting: string): RateLimit | undefined {
  if (setting === 'off') return undefined;
  const match = /^([1-9][0-9]*)\/([1-9][0-9]*)(ms|s|m|h)$/.exec(setting);
  if (!match) throw new Error(`rate limit '${setting}' must be 'off' or <max>/<window> such as 10/60s`);
  return { max: Number(match[1]), windowMs: Number(match[2]) * UNIT_MS[match[3] as keyof typeof UNIT_MS] };
}

/** What a request names besides its address (a client id, a user name), or undefined when it names nothing. */
export type SubjectKey = (request: FastifyRequest) => string | undefined;

/** Longest subject key kept (a client id or user name is clipped: the key only has to tell callers apart). */
const KEY_MAX = 200;

/**
 * Registers @fastify/rate-limit (global: false, so no route is limited unless it asks) and returns
 * a factory of preValidation hooks. Each hook counts the request twice, in fixed windows: against
 * its remote address (request.ip, which honours X-Forwarded-For only with PLINTH_TRUST_PROXY; IPv6
 * grouped by /64) and against the subject it names (a client id, a user name), when it names one.
 * Past either limit: 429 RATE_LIMITED with Retry-After, until the window ends.
 *
 * Why createRateLimit() rather than the plugin's route config: a route config takes one
 * keyGenerator, and the plugin applies at most one limit to a request, while each request here
 * needs two counters, one keyed on the client id inside the form body. createRateLimit() gives
 * plain counters, called from a preValidation hook (body parsed, not yet validated, so malformed
 * attempts count too). Counters are per process: behind N replicas the
 * effective limit is N times the setting.
 */
export async function registerRateLimits(app: FastifyInstance): Promise<(name: string, limit: RateLimit | undefined, subject: SubjectKey) => preValidationAsyncHookHandler | undefined> {
  if (!app.hasDecorator('createRateLimit')) await app.register(fastifyRateLimit, { global: false });
  return (name, limit, subject) => {
    if (!limit) return undefined;
    const options = { max: limit.max, timeWindow: limit.windowMs };
    const byAddress = app.createRateLimit({ ...options, keyGenerator: (request) => normalizeIP(request.ip ?? 'unknown', 64) });
    const bySubject = app.createRateLimit({ ...options, keyGenerator: (request) => subject(request)!.slice(0, KEY_MAX) });
    const refuse = (seconds: number) => {
      const retryAfter = Math.max(1, seconds);
      return new PlinthError('RATE_LIMITED', `too many ${name} from this address or for this account: retry in ${retryAfter} s`, {
        'retry-after': String(retryAfter),
      });
    };
    return async (request) => {
      const address = await byAddress(request);
      if (!address.isAllowed && address.isExceeded) throw refuse(address.ttlInSeconds);
      if (subject(request) === undefined) return;
      const named = await bySubject(request);
      if (!named.isAllowed && named.isExceeded) throw refuse(named.ttlInSeconds);
    };
  };
}
