import type { Kysely, Selectable } from 'kysely';
import type { ApiKeyRepository, ApiKeyRow } from '../auth-ports.js';
import { fromJson, toJson } from './json-column.js';
import type { ApiKeysTable, Database } from './schema.js';

const toKey = (r: Selectable<ApiKeysTable>): ApiKeyRow => ({
  id: r.id,
  prefix: r.prefix,
  owner: r.owner,
  spaceId: r.space_id,
  name: r.name,
  secretHash: r.secret_hash,
  scopes: fromJson<string[]>(r.scopes) ?? [],
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export class SqlApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(k: ApiKeyRow): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: k.id,
        prefix: k.prefix,
        owner: k.owner,
        space_id: k.spaceId,
        name: k.name,
        secret_hash: k.secretHash,
        scopes: toJson(k.scopes),
        created_at: k.createdAt,
        last_used_at: k.lastUsedAt,
      })
      .execute();
  }

  async get(id: string): Promise<ApiKeyRow | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toKey(r);
  }

  async getByPrefix(prefix: string): Promise<ApiKeyRow | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst();
    return r && toKey(r);
  }

  async listByOwner(owner: string): Promise<ApiKeyRow[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('owner', '=', owner).orderBy('created_at').orderBy('id').execute();
    return rows.map(toKey);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async touch(id: string, at: string, unlessAfter: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', unlessAfter)]))
      .execute();
  }
}
