import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { modelNotFound, PlinthError, printable, versionNotFound } from '../../core/errors.js';
import type {
  JsonValue,
  ModelListQuery,
  ModelPatch,
  ModelRepository,
  ModelRow,
  ModelVersionListQuery,
  ModelVersionRow,
  ModelVersionStatus,
  NewModel,
  NewModelVersion,
  Page,
} from '../ports.js';
import { DuplicateNameError, InUseError, notFound, RevisionMismatchError } from '../storage.errors.js';
import { fromJson, normalizeTags, nowIso, toJson, toJsonOrNull } from './json-column.js';
import { afterNameCursor, checkLimit, decodeCursor, namePrefixFilter, toPage } from './pagination.js';
import type { Database, ModelsTable, ModelVersionsTable } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

const toModel = (r: Selectable<ModelsTable>): ModelRow => ({
  id: r.id,
  spaceId: r.space_id,
  name: r.name,
  description: r.description,
  tags: fromJson<string[]>(r.tags) ?? [],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  revision: Number(r.revision),
});

const toVersion = (r: Selectable<ModelVersionsTable>): ModelVersionRow => ({
  id: r.id,
  modelId: r.model_id,
  version: Number(r.version),
  sha256: r.sha256,
  // PostgreSQL drivers return bigint columns as strings.
  size: Number(r.size),
  blobKey: r.blob_key,
  signature: fromJson<JsonValue>(r.signature),
  manifest: fromJson<JsonValue>(r.manifest),
  metrics: fromJson<Record<string, number>>(r.metrics) ?? {},
  tags: fromJson<string[]>(r.tags) ?? [],
  status: r.status as ModelVersionStatus,
  createdAt: r.created_at,
});

/** Models with their versions: one repository because version numbers and the model row move together. */
export class SqlModelRepository implements ModelRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(model: NewModel): Promise<ModelRow> {
    const now = nowIso();
    const tags = normalizeTags(model.tags);
    const row = {
      id: randomUUID(),
      space_id: model.spaceId,
      name: model.name,
      description: model.description ?? null,
      tags: toJson(tags),
      created_at: now,
      updated_at: now,
      revision: 1,
      version_seq: 0,
    };
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('models').values(row).execute();
        await replaceTags(tx, row.id, tags);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateNameError('model', model.name, ' in this space');
      if (isForeignKeyViolation(err)) throw notFound('space', model.spaceId);
      throw err;
    }
    return toModel(row);
  }

  async get(id: string): Promise<ModelRow | undefined> {
    const r = await this.db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toModel(r);
  }

  async getByName(spaceId: string, name: string): Promise<ModelRow | undefined> {
    const r = await this.db.selectFrom('models').selectAll().where('space_id', '=', spaceId).where('name', '=', name).executeTakeFirst();
    return r && toModel(r);
  }

  async list(query: ModelListQuery): Promise<Page<ModelRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('models').selectAll().where('space_id', '=', query.spaceId);
    if (query.namePrefix) q = q.where(namePrefixFilter(query.namePrefix));
    if (query.tag !== undefined) {
      const tag = query.tag;
      q = q.where((eb) =>
        eb.exists(eb.selectFrom('model_tags').select('model_tags.model_id').whereRef('model_tags.model_id', '=', 'models.id').where('model_tags.tag', '=', tag)),
      );
    }
    if (query.cursor) q = q.where(afterNameCursor(query.cursor));
    const rows = await q.orderBy('name').orderBy('id').limit(limit + 1).execute();
    return toPage(rows, limit, toModel, (r) => [r.name, r.id]);
  }

  async update(id: string, patch: ModelPatch, expectedRevision?: number): Promise<ModelRow> {
    return this.db.transaction().execute(async (tx) => {
      const current = await tx.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw modelNotFound(id);
      const revision = Number(current.revision);
      if (expectedRevision !== undefined && expectedRevision !== revision) throw new RevisionMismatchError('model', expectedRevision, revision);
      const tags = patch.tags === undefined ? undefined : normalizeTags(patch.tags);
      const changes = {
        updated_at: nowIso(),
        revision: revision + 1,
        ...(patch.description !== undefined && { description: patch.description }),
        ...(tags !== undefined && { tags: toJson(tags) }),
      };
      // Guarded by the revision read above: under PostgreSQL a concurrent update makes this match no row.
      const result = await tx.updateTable('models').set(changes).where('id', '=', id).where('revision', '=', revision).executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new RevisionMismatchError('model', expectedRevision ?? revision, revision + 1);
      if (tags !== undefined) await replaceTags(tx, id, tags);
      return toModel({ ...current, ...changes });
    });
  }

  async delete(id: string): Promise<boolean> {
    try {
      const result = await this.db.deleteFrom('models').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    } catch (err) {
      if (!isForeignKeyViolation(err)) throw err;
      const users = await this.db.selectFrom('deployments').select('name').where('model_id', '=', id).orderBy('name').limit(5).execute();
      throw new InUseError(`the model is used by deployment(s) ${users.map((u) => `'${printable(u.name)}'`).join(', ')}: delete or move them first`);
    }
  }

  async createVersion(input: NewModelVersion): Promise<ModelVersionRow> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const now = nowIso();
        // Increment first: the write takes SQLite's write lock or PostgreSQL's row lock on the
        // model, so concurrent creators queue here and each reads back its own number. A counter
        // rather than max(version) + 1, so deleting the newest version never frees its number.
        const touched = await tx
          .updateTable('models')
          .set((eb) => ({ version_seq: eb('version_seq', '+', 1), updated_at: now }))
          .where('id', '=', input.modelId)
          .executeTakeFirst();
        if (touched.numUpdatedRows === 0n) throw modelNotFound(input.modelId);
        const { version_seq } = await tx.selectFrom('models').select('version_seq').where('id', '=', input.modelId).executeTakeFirstOrThrow();
        const row = {
          id: randomUUID(),
          model_id: input.modelId,
          version: Number(version_seq),
          sha256: input.sha256,
          size: input.size,
          blob_key: input.blobKey,
          signature: toJsonOrNull(input.signature),
          manifest: toJsonOrNull(input.manifest),
          metrics: toJson(input.metrics ?? {}),
          tags: toJson(normalizeTags(input.tags)),
          status: input.status ?? 'ready',
          created_at: now,
        };
        await tx.insertInto('model_versions').values(row).execute();
        return toVersion(row);
      });
    } catch (err) {
      // The unique (model_id, version) index is the last word should anything bypass the counter.
      if (isUniqueViolation(err)) throw new PlinthError('CONFLICT', 'another upload took this version number: try again');
      throw err;
    }
  }

  async getVersion(modelId: string, version: number): Promise<ModelVersionRow | undefined> {
    const r = await this.db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId).where('version', '=', version).executeTakeFirst();
    return r && toVersion(r);
  }

  async findVersionsBySha256(modelId: string, sha256: string): Promise<ModelVersionRow[]> {
    const rows = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('sha256', '=', sha256)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  async latestVersion(modelId: string, status: ModelVersionStatus = 'ready'): Promise<ModelVersionRow | undefined> {
    const r = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('status', '=', status)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r && toVersion(r);
  }

  async listVersions(query: ModelVersionListQuery): Promise<Page<ModelVersionRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('model_versions').selectAll().where('model_id', '=', query.modelId);
    if (query.status) q = q.where('status', '=', query.status);
    if (query.cursor) {
      const [version] = decodeCursor<[number]>(query.cursor, ['n']);
      q = q.where('version', '>', version);
    }
    const rows = await q.orderBy('version').limit(limit + 1).execute();
    return toPage(rows, limit, toVersion, (r) => [Number(r.version)]);
  }

  async updateVersion(
    modelId: string,
    version: number,
    patch: { status?: ModelVersionStatus; tags?: string[]; metrics?: Record<string, number> },
  ): Promise<ModelVersionRow> {
    const changes = {
      ...(patch.status !== undefined && { status: patch.status }),
      ...(patch.tags !== undefined && { tags: toJson(normalizeTags(patch.tags)) }),
      ...(patch.metrics !== undefined && { metrics: toJson(patch.metrics) }),
    };
    if (Object.keys(changes).length > 0) {
      await this.db.updateTable('model_versions').set(changes).where('model_id', '=', modelId).where('version', '=', version).execute();
    }
    const row = await this.getVersion(modelId, version);
    if (!row) throw versionNotFound(modelId, String(version));
    return row;
  }

  async deleteVersion(modelId: string, version: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const aliases = await tx.selectFrom('aliases').select('name').where('model_id', '=', modelId).where('version', '=', version).orderBy('name').execute();
      if (aliases.length > 0) {
        throw new InUseError(`version ${version} is the target of alias(es) ${aliases.map((a) => `'${printable(a.name)}'`).join(', ')}: move them first`);
      }
      const result = await tx.deleteFrom('model_versions').where('model_id', '=', modelId).where('version', '=', version).executeTakeFirst();
      if (result.numDeletedRows === 0n) return false;
      await tx.updateTable('models').set({ updated_at: nowIso() }).where('id', '=', modelId).execute();
      return true;
    });
  }
}

/** The tag index rows follow the tags column; always called inside the transaction that writes it. */
async function replaceTags(tx: Transaction<Database>, modelId: string, tags: string[]): Promise<void> {
  await tx.deleteFrom('model_tags').where('model_id', '=', modelId).execute();
  if (tags.length > 0) await tx.insertInto('model_tags').values(tags.map((tag) => ({ model_id: modelId, tag }))).execute();
}
