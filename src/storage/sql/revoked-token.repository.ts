import type { Kysely } from 'kysely';
import type { RevokedTokenRepository } from '../auth-ports.js';
import type { Database } from './schema.js';

export class SqlRevokedTokenRepository implements RevokedTokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(jti: string, expiresAt: string, revokedAt: string): Promise<void> {
    await this.db
      .insertInto('revoked_tokens')
      .values({ jti, expires_at: expiresAt, revoked_at: revokedAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }

  async isRevoked(jti: string): Promise<boolean> {
    const r = await this.db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
    return r !== undefined;
  }

  async deleteExpired(now: string): Promise<void> {
    await this.db.deleteFrom('revoked_tokens').where('expires_at', '<', now).execute();
  }
}
