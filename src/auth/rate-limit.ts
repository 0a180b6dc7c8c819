import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onSendHookHandler, preValidationAsyncHookHandler } from 'fastify';
import { PlinthError } from '../core/errors.js';

/** A parsed `<max>/<window>` setting (PLINTH_LOGIN_RATE_LIMIT, PLINTH_TOKEN_FAILURE_RATE_LIMIT, ...). */
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

/** An endpoint's limits: every attempt (per address and per account), and failed attempts per account. */
export interface AttemptLimits {
  attempts?: RateLimit;
  failures?: RateLimit;
}

/** The route hooks that enforce an endpoint's limits; none when it has no limit. */
export interface LimitHooks {
  preValidation?: preValidationAsyncHookHandler;
  onSend?: onSendHookHandler;
}

/** An answer that counts as a failed attempt: a refusal of the caller's request, not a rate limit and not a server fault. */
const failed = (status: number) => status >= 400 && status < 500 && status !== 429;

/**
 * Registers @fastify/rate-limit (global: false, so no route is limited unless it asks) and returns
 * a factory of route hooks, counting in fixed windows:
 *
 * - every attempt, against its remote address (request.ip, which honours X-Forwarded-For only with
 *   PLINTH_TRUST_PROXY; IPv6 grouped by /64) and against the subject it names (a client id, a user
 *   name), when it names one;
 * - failed attempts (a 4xx answer but 429) against the subject, on their own tighter limit: read
 *   before the request runs, incremented in onSend once it has failed. A success leaves that count
 *   alone, so an owner signing in between guesses gives a guesser no fresh allowance; concurrent
 *   guesses that all pass the read are still bounded by the attempt limit, which counts on arrival.
 *
 * Past any limit: 429 RATE_LIMITED with Retry-After, until the window ends.
 *
 * Why createRateLimit() rather than the plugin's route config: a route config takes one
 * keyGenerator, and the plugin applies at most one limit to a request, while each request here
 * needs up to three counters, two keyed on the client id inside the form body. createRateLimit()
 * gives plain counters, called from a preValidation hook (body parsed, not yet validated, so
 * malformed attempts count too). Counters are per process: behind N replicas the effective limit
 * is N times the setting.
 */
export async function registerRateLimits(app: FastifyInstance): Promise<(name: string, limits: AttemptLimits, subject: SubjectKey) => LimitHooks> {
  if (!app.hasDecorator('createRateLimit')) await app.register(fastifyRateLimit, { global: false });
  return (name, { attempts, failures }, subject) => {
    if (!attempts && !failures) return {};
    const counter = (limit: RateLimit | undefined, key: (request: FastifyRequest) => string) =>
      limit && app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs, keyGenerator: key });
    const subjectKey = (request: FastifyRequest) => subject(request)!.slice(0, KEY_MAX);
    const byAddress = counter(attempts, (request) => normalizeIP(request.ip ?? 'unknown', 64));
    const bySubject = counter(attempts, subjectKey);
    const failuresOf = counter(failures, subjectKey);
    const refuse = (what: string, seconds: number) => {
      const retryAfter = Math.max(1, seconds);
      return new PlinthError('RATE_LIMITED', `too many ${what}: retry in ${retryAfter} s`, { 'retry-after': String(retryAfter) });
    };
    /** Requests whose failure is to be counted: they named an account and were let through. */
    const counted = new WeakSet<FastifyRequest>();

    const preValidation: preValidationAsyncHookHandler = async (request) => {
      const address = await byAddress?.(request);
      if (address && !address.isAllowed && address.isExceeded) throw refuse(`${name} from this address or for this account`, address.ttlInSeconds);
      if (subject(request) === undefined) return;
      const named = await bySubject?.(request);
      if (named && !named.isAllowed && named.isExceeded) throw refuse(`${name} from this address or for this account`, named.ttlInSeconds);
      if (!failuresOf) return;
      const past = await failuresOf(request, { increment: false });
      if (!past.isAllowed && past.remaining === 0) throw refuse(`failed ${name} for this account`, past.ttlInSeconds);
      counted.add(request);
    };
    const onSend: onSendHookHandler = (request, reply, payload, done) => {
      if (!counted.has(request) || !failed(reply.statusCode)) return done(null, payload);
      failuresOf!(request).then(() => done(null, payload), done);
    };
    return { preValidation, ...(failuresOf && { onSend }) };
  };
}
