import type { Kysely, Selectable } from 'kysely';
import type { OAuthClientRepository, OAuthClientRow } from '../auth-ports.js';
import { fromJson, toJson } from './json-column.js';
import type { Database, OAuthClientsTable } from './schema.js';

const toClient = (r: Selectable<OAuthClientsTable>): OAuthClientRow => ({
  id: r.id,
  owner: r.owner,
  name: r.name,
  secretHash: r.secret_hash,
  scopes: fromJson<string[]>(r.scopes) ?? [],
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  secretRotatedAt: r.secret_rotated_at,
});

export class SqlOAuthClientRepository implements OAuthClientRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(c: OAuthClientRow): Promise<void> {
    await this.db
      .insertInto('oauth_clients')
      .values({
        id: c.id,
        owner: c.owner,
        name: c.name,
        secret_hash: c.secretHash,
        scopes: toJson(c.scopes),
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        secret_rotated_at: c.secretRotatedAt,
      })
      .execute();
  }

  async get(id: string): Promise<OAuthClientRow | undefined> {
    const r = await this.db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toClient(r);
  }

  async listByOwner(owner: string): Promise<OAuthClientRow[]> {
    const rows = await this.db.selectFrom('oauth_clients').selectAll().where('owner', '=', owner).orderBy('created_at').orderBy('id').execute();
    return rows.map(toClient);
  }

  async setSecretHash(id: string, secretHash: string, rotatedAt: string): Promise<boolean> {
    const result = await this.db.updateTable('oauth_clients').set({ secret_hash: secretHash, secret_rotated_at: rotatedAt }).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('oauth_clients').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
