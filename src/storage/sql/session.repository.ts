import type { Kysely, Selectable } from 'kysely';
import type { SessionRepository, SessionRow } from '../auth-ports.js';
import type { Database, SessionsTable } from './schema.js';

const toSession = (r: Selectable<SessionsTable>): SessionRow => ({
  idHash: r.id_hash,
  user: r.user_name,
  csrfHash: r.csrf_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export class SqlSessionRepository implements SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(s: SessionRow): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({ id_hash: s.idHash, user_name: s.user, csrf_hash: s.csrfHash, created_at: s.createdAt, expires_at: s.expiresAt })
      .execute();
  }

  async get(idHash: string): Promise<SessionRow | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r && toSession(r);
  }

  async delete(idHash: string): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deleteExpired(now: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  }
}
