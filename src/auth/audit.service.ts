import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { invalidInput, printable } from '../core/errors.js';
import type { AuditEventRow, AuditOutcome, AuditQuery, AuditRepository } from '../storage/auth-ports.js';
import type { Page } from '../storage/ports.js';

/** What a call site records; the service adds the id and the time. */
export interface AuditRecord {
  action: string;
  actor?: string | null;
  target?: string | null;
  outcome?: AuditOutcome;
  remoteAddress?: string | null;
  /** Names, scopes, spaces: never a secret (keys that sound like one are dropped anyway). */
  details?: Record<string, unknown>;
}

/** Keys whose values are never written, whoever passes them. */
const SECRET_KEY = /secret|password|passwd|token|apikey|api_key|authorization|cookie|csrf|credential|private/i;
/** Values that look like a Plinth API key or a JWT are never written either. */
const SECRET_VALUE = /^(plk_|eyJ[A-Za-z0-9_-]{8,}\.)/;
const MAX_DEPTH = 3;
const MAX_ITEMS = 50;

/** A JSON-safe, bounded copy without secret-sounding keys or secret-looking values. */
function scrub(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? '[redacted]' : printable(value, 200);
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((v) => scrub(v, depth + 1) ?? null);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>).slice(0, MAX_ITEMS)) {
      if (SECRET_KEY.test(key) || v === undefined) continue;
      const clean = scrub(v, depth + 1);
      if (clean !== undefined) out[key] = clean;
    }
    return out;
  }
  return undefined;
}

const clip = (value: string | null | undefined, max: number) => (value === undefined || value === null ? null : printable(value, max));

/**
 * The audit log: sign-ins, token issues, credential changes and registry changes, newest first
 * at GET /api/v1/audit. Call sites record after the fact; a failed write is logged and does not
 * fail the request (the action has already happened).
 */
export class AuditService {
  constructor(private readonly events: AuditRepository, private readonly now: () => Date) {}

  async record(entry: AuditRecord): Promise<void> {
    const details = entry.details === undefined ? null : (scrub(entry.details) as Record<string, unknown>);
    await this.events.append({
      id: `aud_${randomUUID()}`,
      at: this.now().toISOString(),
      action: printable(entry.action, 60),
      actor: clip(entry.actor, 190),
      target: clip(entry.target, 390),
      outcome: entry.outcome ?? 'success',
      remoteAddress: clip(entry.remoteAddress, 60),
      details: details && Object.keys(details).length > 0 ? details : null,
    });
  }

  /** `since` must be an ISO-8601 date-time; it is compared as UTC text, like every stored time. */
  list(query: AuditQuery): Promise<Page<AuditEventRow>> {
    let since = query.since;
    if (since !== undefined) {
      const at = Date.parse(since);
      if (Number.isNaN(at)) throw invalidInput(`since '${printable(since, 40)}' must be an ISO-8601 date-time such as 2025-01-31T00:00:00Z`);
      since = new Date(at).toISOString();
    }
    return this.events.list({ ...query, since });
  }
}

/**
 * Records an event for a request: the caller's address (request.ip, so X-Forwarded-For counts only
 * with PLINTH_TRUST_PROXY) is added, and a failed write goes to the log instead of the caller.
 */
export async function auditRequest(audit: AuditService, request: FastifyRequest, entry: AuditRecord): Promise<void> {
  try {
    await audit.record({ remoteAddress: request.ip, ...entry });
  } catch (err) {
    request.log.error({ err, action: entry.action }, 'audit event not recorded');
  }
}
