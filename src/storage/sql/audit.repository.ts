import { sql, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { AuditEventRow, AuditQuery, AuditRepository } from '../auth-ports.js';
import type { Page } from '../ports.js';
import { fromJson } from './json-column.js';
import { checkLimit, decodeCursor, toPage } from './pagination.js';
import type { AuditEventsTable, Database } from './schema.js';

const toEvent = (r: Selectable<AuditEventsTable>): AuditEventRow => ({
  id: r.id,
  at: r.at,
  action: r.action,
  actor: r.actor,
  target: r.target,
  outcome: r.outcome === 'failure' ? 'failure' : 'success',
  remoteAddress: r.remote_address,
  details: fromJson<Record<string, unknown>>(r.details),
});

export class SqlAuditRepository implements AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async append(e: AuditEventRow): Promise<void> {
    await this.db
      .insertInto('audit_events')
      .values({
        id: e.id,
        at: e.at,
        action: e.action,
        actor: e.actor,
        target: e.target,
        outcome: e.outcome,
        remote_address: e.remoteAddress,
        details: e.details === null ? null : JSON.stringify(e.details),
      })
      .execute();
  }

  async list(q: AuditQuery): Promise<Page<AuditEventRow>> {
    const limit = checkLimit(q.limit);
    let query = this.db.selectFrom('audit_events').selectAll();
    if (q.action !== undefined) query = query.where('action', '=', q.action);
    if (q.actor !== undefined) query = query.where('actor', '=', q.actor);
    if (q.since !== undefined) query = query.where('at', '>=', q.since);
    if (q.cursor !== undefined) {
      const [at, id] = decodeCursor<[string, string]>(q.cursor, ['s', 's']);
      query = query.where(sql<SqlBool>`(at < ${at} or (at = ${at} and id < ${id}))`);
    }
    const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
    return toPage(rows, limit, toEvent, (r) => [r.at, r.id]);
  }
}
