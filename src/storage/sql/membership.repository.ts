import type { Kysely } from 'kysely';
import type { SpaceMembershipLookup } from '../auth-ports.js';
import type { SpaceRole } from '../ports.js';
import type { Database } from './schema.js';

/** Reads space_members (migration 0001) for the auth domain; membership is managed by the registry. */
export class SqlSpaceMembershipLookup implements SpaceMembershipLookup {
  constructor(private readonly db: Kysely<Database>) {}

  async rolesOf(user: string): Promise<Record<string, SpaceRole>> {
    const rows = await this.db.selectFrom('space_members').select(['space_id', 'role']).where('user_name', '=', user).execute();
    return Object.fromEntries(rows.map((r) => [r.space_id, r.role as SpaceRole]));
  }

  async spaceIdByName(name: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('spaces').select('id').where('name', '=', name).executeTakeFirst();
    return r?.id;
  }
}
