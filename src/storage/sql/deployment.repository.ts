import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { modelNotFound } from '../../core/errors.js';
import type {
  DeploymentAuthMode,
  DeploymentKind,
  DeploymentListQuery,
  DeploymentPatch,
  DeploymentRepository,
  DeploymentRow,
  DeploymentRuntime,
  DeploymentStatus,
  DeploymentTarget,
  NewDeployment,
  Page,
} from '../ports.js';
import { DuplicateNameError, notFound, RevisionMismatchError } from '../storage.errors.js';
import { fromJson, nowIso, toJson } from './json-column.js';
import { afterNameCursor, checkLimit, namePrefixFilter, toPage } from './pagination.js';
import type { Database, DeploymentsTable } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

const toDeployment = (r: Selectable<DeploymentsTable>): DeploymentRow => ({
  id: r.id,
  spaceId: r.space_id,
  name: r.name,
  description: r.description,
  kind: r.kind as DeploymentKind,
  modelId: r.model_id,
  target: fromJson<DeploymentTarget>(r.target)!,
  authMode: r.auth_mode as DeploymentAuthMode,
  runtime: fromJson<DeploymentRuntime>(r.runtime) ?? {},
  status: r.status as DeploymentStatus,
  reason: r.reason,
  revision: Number(r.revision),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqlDeploymentRepository implements DeploymentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(deployment: NewDeployment): Promise<DeploymentRow> {
    const now = nowIso();
    const row = {
      id: randomUUID(),
      space_id: deployment.spaceId,
      name: deployment.name,
      description: deployment.description ?? null,
      kind: deployment.kind ?? 'online',
      model_id: deployment.target.modelId,
      target: toJson(deployment.target),
      auth_mode: deployment.authMode ?? 'public',
      runtime: toJson(deployment.runtime ?? {}),
      status: 'initializing',
      reason: null,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.insertInto('deployments').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateNameError('deployment', deployment.name, ' in this space');
      if (isForeignKeyViolation(err)) throw await this.missingReference(deployment.spaceId, deployment.target.modelId);
      throw err;
    }
    return toDeployment(row);
  }

  async get(id: string): Promise<DeploymentRow | undefined> {
    const r = await this.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDeployment(r);
  }

  async getByName(spaceId: string, name: string): Promise<DeploymentRow | undefined> {
    const r = await this.db.selectFrom('deployments').selectAll().where('space_id', '=', spaceId).where('name', '=', name).executeTakeFirst();
    return r && toDeployment(r);
  }

  async list(query: DeploymentListQuery): Promise<Page<DeploymentRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('deployments').selectAll();
    if (query.spaceId !== undefined) q = q.where('space_id', '=', query.spaceId);
    if (query.modelId !== undefined) q = q.where('model_id', '=', query.modelId);
    if (query.status !== undefined) q = q.where('status', '=', query.status);
    if (query.namePrefix) q = q.where(namePrefixFilter(query.namePrefix));
    if (query.cursor) q = q.where(afterNameCursor(query.cursor));
    const rows = await q.orderBy('name').orderBy('id').limit(limit + 1).execute();
    return toPage(rows, limit, toDeployment, (r) => [r.name, r.id]);
  }

  async update(id: string, patch: DeploymentPatch, expectedRevision?: number): Promise<DeploymentRow> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const current = await tx.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
        if (!current) throw notFound('deployment', id);
        const revision = Number(current.revision);
        if (expectedRevision !== undefined && expectedRevision !== revision) throw new RevisionMismatchError('deployment', expectedRevision, revision);
        const changes = {
          updated_at: nowIso(),
          revision: revision + 1,
          ...(patch.description !== undefined && { description: patch.description }),
          ...(patch.target !== undefined && { target: toJson(patch.target), model_id: patch.target.modelId }),
          ...(patch.authMode !== undefined && { auth_mode: patch.authMode }),
          ...(patch.runtime !== undefined && { runtime: toJson(patch.runtime) }),
        };
        const result = await tx.updateTable('deployments').set(changes).where('id', '=', id).where('revision', '=', revision).executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw new RevisionMismatchError('deployment', expectedRevision ?? revision, revision + 1);
        return toDeployment({ ...current, ...changes });
      });
    } catch (err) {
      if (isForeignKeyViolation(err) && patch.target) throw modelNotFound(patch.target.modelId);
      throw err;
    }
  }

  async setStatus(id: string, status: DeploymentStatus, reason: string | null = null): Promise<DeploymentRow> {
    // Not a revision change: the status flips on its own (loading finished), and an If-Match
    // taken just before that must still apply.
    await this.db
      .updateTable('deployments')
      .set({ status, reason: status === 'failed' ? reason : null, updated_at: nowIso() })
      .where('id', '=', id)
      .execute();
    const row = await this.get(id);
    if (!row) throw notFound('deployment', id);
    return row;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('deployments').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  private async missingReference(spaceId: string, modelId: string) {
    const space = await this.db.selectFrom('spaces').select('id').where('id', '=', spaceId).executeTakeFirst();
    return space ? modelNotFound(modelId) : notFound('space', spaceId);
  }
}
