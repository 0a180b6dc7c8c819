import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { NewSpace, Page, SpaceListQuery, SpaceMemberRow, SpaceRepository, SpaceRole, SpaceRow } from '../ports.js';
import { DuplicateNameError, InUseError, notFound } from '../storage.errors.js';
import { nowIso } from './json-column.js';
import { afterNameCursor, checkLimit, namePrefixFilter, toPage } from './pagination.js';
import type { Database, SpaceMembersTable, SpacesTable } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

const toSpace = (r: Selectable<SpacesTable>): SpaceRow => ({ id: r.id, name: r.name, description: r.description, createdAt: r.created_at });
const toMember = (r: Selectable<SpaceMembersTable>): SpaceMemberRow => ({ spaceId: r.space_id, user: r.user_name, role: r.role as SpaceRole });

export class SqlSpaceRepository implements SpaceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(space: NewSpace): Promise<SpaceRow> {
    const row = { id: randomUUID(), name: space.name, description: space.description ?? null, created_at: nowIso() };
    try {
      await this.db.insertInto('spaces').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateNameError('space', space.name);
      throw err;
    }
    return toSpace(row);
  }

  async ensure(space: NewSpace): Promise<SpaceRow> {
    const row = { id: randomUUID(), name: space.name, description: space.description ?? null, created_at: nowIso() };
    // ON CONFLICT DO NOTHING: two processes starting at once both end up with the same row.
    await this.db.insertInto('spaces').values(row).onConflict((oc) => oc.column('name').doNothing()).execute();
    const found = await this.getByName(space.name);
    if (!found) throw notFound('space', space.name);
    return found;
  }

  async get(id: string): Promise<SpaceRow | undefined> {
    const r = await this.db.selectFrom('spaces').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toSpace(r);
  }

  async getByName(name: string): Promise<SpaceRow | undefined> {
    const r = await this.db.selectFrom('spaces').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toSpace(r);
  }

  async list(query: SpaceListQuery): Promise<Page<SpaceRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('spaces').selectAll();
    if (query.namePrefix) q = q.where(namePrefixFilter(query.namePrefix));
    if (query.member !== undefined) {
      const member = query.member;
      q = q.where((eb) =>
        eb.exists(eb.selectFrom('space_members').select('space_id').whereRef('space_members.space_id', '=', 'spaces.id').where('user_name', '=', member)),
      );
    }
    if (query.cursor) q = q.where(afterNameCursor(query.cursor));
    const rows = await q.orderBy('name').orderBy('id').limit(limit + 1).execute();
    return toPage(rows, limit, toSpace, (r) => [r.name, r.id]);
  }

  async update(id: string, patch: { description?: string | null }): Promise<SpaceRow> {
    if (patch.description !== undefined) {
      await this.db.updateTable('spaces').set({ description: patch.description }).where('id', '=', id).execute();
    }
    const space = await this.get(id);
    if (!space) throw notFound('space', id);
    return space;
  }

  async delete(id: string): Promise<boolean> {
    try {
      const result = await this.db.deleteFrom('spaces').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new InUseError('the space still holds models or deployments: delete them first');
      throw err;
    }
  }

  async setMember(spaceId: string, user: string, role: SpaceRole): Promise<SpaceMemberRow> {
    const row = { space_id: spaceId, user_name: user, role };
    try {
      await this.db
        .insertInto('space_members')
        .values(row)
        .onConflict((oc) => oc.columns(['space_id', 'user_name']).doUpdateSet({ role }))
        .execute();
    } catch (err) {
      if (isForeignKeyViolation(err)) throw notFound('space', spaceId);
      throw err;
    }
    return toMember(row);
  }

  async getMember(spaceId: string, user: string): Promise<SpaceMemberRow | undefined> {
    const r = await this.db.selectFrom('space_members').selectAll().where('space_id', '=', spaceId).where('user_name', '=', user).executeTakeFirst();
    return r && toMember(r);
  }

  async listMembers(spaceId: string): Promise<SpaceMemberRow[]> {
    const rows = await this.db.selectFrom('space_members').selectAll().where('space_id', '=', spaceId).orderBy('user_name').execute();
    return rows.map(toMember);
  }

  async removeMember(spaceId: string, user: string): Promise<boolean> {
    const result = await this.db.deleteFrom('space_members').where('space_id', '=', spaceId).where('user_name', '=', user).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
