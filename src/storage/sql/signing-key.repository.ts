import type { Kysely, Selectable } from 'kysely';
import type { SigningKeyRepository, SigningKeyRow } from '../auth-ports.js';
import type { Database, SigningKeysTable } from './schema.js';

const toKey = (r: Selectable<SigningKeysTable>): SigningKeyRow => ({
  kid: r.kid,
  alg: r.alg,
  privateJwk: r.private_jwk,
  publicJwk: r.public_jwk,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
  expiresAt: r.expires_at,
});

export class SqlSigningKeyRepository implements SigningKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(k: SigningKeyRow): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({
        kid: k.kid,
        alg: k.alg,
        private_jwk: k.privateJwk,
        public_jwk: k.publicJwk,
        created_at: k.createdAt,
        retired_at: k.retiredAt,
        expires_at: k.expiresAt,
      })
      .execute();
  }

  async get(kid: string): Promise<SigningKeyRow | undefined> {
    const r = await this.db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst();
    return r && toKey(r);
  }

  async current(): Promise<SigningKeyRow | undefined> {
    const r = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .executeTakeFirst();
    return r && toKey(r);
  }

  async listLive(now: string): Promise<SigningKeyRow[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('expires_at', '>', now)]))
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .execute();
    return rows.map(toKey);
  }

  async retireCreatedBefore(createdAt: string, retiredAt: string, expiresAt: string): Promise<void> {
    await this.db
      .updateTable('signing_keys')
      .set({ retired_at: retiredAt, expires_at: expiresAt })
      .where('retired_at', 'is', null)
      .where('created_at', '<', createdAt)
      .execute();
  }

  async deleteExpired(now: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('retired_at', 'is not', null).where('expires_at', '<=', now).execute();
  }
}
