import type { Kysely, Selectable } from 'kysely';
import type { UserRepository, UserRow } from '../auth-ports.js';
import type { Database, UsersTable } from './schema.js';

const toUser = (r: Selectable<UsersTable>): UserRow => ({ name: r.name, passwordHash: r.password_hash, isAdmin: Number(r.is_admin) === 1, createdAt: r.created_at });

export class SqlUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async createIfAbsent(user: UserRow): Promise<boolean> {
    // ON CONFLICT DO NOTHING: two replicas creating the first admin at once end with one row.
    const result = await this.db
      .insertInto('users')
      .values({ name: user.name, password_hash: user.passwordHash, is_admin: user.isAdmin ? 1 : 0, created_at: user.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async get(name: string): Promise<UserRow | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toUser(r);
  }
}
