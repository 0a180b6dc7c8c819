import type { Kysely, Selectable } from 'kysely';
import { versionNotFound } from '../../core/errors.js';
import type { AliasRepository, AliasRow } from '../ports.js';
import { nowIso } from './json-column.js';
import type { AliasesTable, Database } from './schema.js';

const toAlias = (r: Selectable<AliasesTable>): AliasRow => ({ modelId: r.model_id, name: r.name, version: Number(r.version), updatedAt: r.updated_at });

export class SqlAliasRepository implements AliasRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async set(modelId: string, name: string, version: number): Promise<AliasRow> {
    const row = { model_id: modelId, name, version, updated_at: nowIso() };
    // One transaction: the version cannot be deleted between the check and the write
    // (deleteVersion refuses versions an alias points at, inside its own transaction).
    await this.db.transaction().execute(async (tx) => {
      const exists = await tx.selectFrom('model_versions').select('id').where('model_id', '=', modelId).where('version', '=', version).executeTakeFirst();
      if (!exists) throw versionNotFound(modelId, String(version));
      await tx
        .insertInto('aliases')
        .values(row)
        .onConflict((oc) => oc.columns(['model_id', 'name']).doUpdateSet({ version, updated_at: row.updated_at }))
        .execute();
    });
    return toAlias(row);
  }

  async get(modelId: string, name: string): Promise<AliasRow | undefined> {
    const r = await this.db.selectFrom('aliases').selectAll().where('model_id', '=', modelId).where('name', '=', name).executeTakeFirst();
    return r && toAlias(r);
  }

  async list(modelId: string): Promise<AliasRow[]> {
    const rows = await this.db.selectFrom('aliases').selectAll().where('model_id', '=', modelId).orderBy('name').execute();
    return rows.map(toAlias);
  }

  async listForVersion(modelId: string, version: number): Promise<AliasRow[]> {
    const rows = await this.db.selectFrom('aliases').selectAll().where('model_id', '=', modelId).where('version', '=', version).orderBy('name').execute();
    return rows.map(toAlias);
  }

  async delete(modelId: string, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('aliases').where('model_id', '=', modelId).where('name', '=', name).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
