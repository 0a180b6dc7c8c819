import type { Readable } from 'node:stream';
import { invalidInput, modelNotFound, PlinthError, printable, versionNotFound } from '../core/errors.js';
import { assertModelName } from '../core/model-name.js';
import { parseModelReference } from '../core/model-uri.js';
import type {
  AliasRow,
  BlobStorePort,
  ModelRow,
  ModelVersionRow,
  Page,
  RegistryRepositories,
  SpaceMemberRow,
  SpaceRole,
  SpaceRow,
  VersionSelector,
} from '../storage/ports.js';
import { InUseError } from '../storage/storage.errors.js';
import { openBundleFile, readBundleIndex, type BundleFile } from './artifact-bundle.js';
import { noBestVersion, pickBest } from '../core/best-version.js';
import { rankOf, readyVersions } from './computed-aliases.js';
import type { IntakeLimits } from './model-intake.service.js';
import { DEFAULT_LIST_LIMIT } from './pages.js';
import { assertUserAlias, checkDescription, checkTags, DEFAULT_SPACE } from './registry-names.js';
import { SpacesService } from './spaces.service.js';
import { fromStorage } from './storage-error.mapper.js';
import type {
  AliasView,
  ImportResult,
  ListQuery,
  ModelListFilter,
  ModelRegistryOptions,
  ModelUpdate,
  RegisteredVersion,
  RegistryChangeListener,
  ResolvedVersion,
  UploadVersionInput,
} from './registry.types.js';
import { VersionUploadsService } from './version-uploads.service.js';
import type { ModelValidator } from './version-validator.js';

function checkVersionNumber(version: number): number {
  if (!Number.isSafeInteger(version) || version < 1) throw invalidInput(`version must be a whole number >= 1, got ${printable(String(version), 20)}`);
  return version;
}

/**
 * The registry's domain service: spaces, models, versions, aliases and their artifacts.
 * Works only through ports (repositories, blob store, a model validator), so it runs the same
 * over SQLite and a folder as over PostgreSQL and S3. Throws PlinthErrors; no HTTP here.
 */
export class ModelRegistryService {
  private readonly spaces: SpacesService;
  private readonly uploads: VersionUploadsService;
  private listener?: RegistryChangeListener;

  constructor(
    private readonly repos: RegistryRepositories,
    private readonly blobs: BlobStorePort,
    validate: ModelValidator,
    private readonly options: ModelRegistryOptions,
  ) {
    this.spaces = new SpacesService(repos.spaces);
    this.uploads = new VersionUploadsService(repos, blobs, validate, options, this.spaces, (space, model) => this.changed(space, model));
  }

  /** Told after a bundle's blobs are deleted (the artifact cache drops its copy). */
  onBundleDropped(listener: (blobKey: string) => Promise<void>): void {
    this.uploads.onBundleDropped(listener);
  }

  /** The blob key of every version in every space: what the artifact cache may keep. */
  liveBlobKeys(): Promise<Set<string>> {
    return this.uploads.liveBlobKeys();
  }

  /** Set once serving is up, so the start-up import does not load each model twice. */
  onChange(listener: RegistryChangeListener): void {
    this.listener = listener;
  }

  private async changed(space: SpaceRow, model: Pick<ModelRow, 'id' | 'name'>): Promise<void> {
    try {
      await this.listener?.({ space, model });
    } catch (err) {
      this.options.log?.warn({ model: model.name, space: space.name, err }, 'serving did not follow a registry change');
    }
  }

  // -- spaces (spaces.service.ts) --------------------------------------------------------------

  /** The `default` space, created if missing (safe when several start-ups race). */
  ensureDefaultSpace(): Promise<SpaceRow> {
    return this.spaces.ensureDefault();
  }

  createSpace(input: { name: string; description?: string | null }): Promise<SpaceRow> {
    return this.spaces.create(input);
  }

  listSpaces(query: ListQuery & { namePrefix?: string; member?: string } = {}): Promise<Page<SpaceRow>> {
    return this.spaces.list(query);
  }

  getSpace(name?: string): Promise<SpaceRow> {
    return this.spaces.get(name);
  }

  /** The space's members, ordered by user name. */
  listMembers(spaceName: string): Promise<SpaceMemberRow[]> {
    return this.spaces.listMembers(spaceName);
  }

  /** Adds the user to the space with `role`, or changes their role. */
  setMember(spaceName: string, user: string, role: SpaceRole): Promise<SpaceMemberRow> {
    return this.spaces.setMember(spaceName, user, role);
  }

  /** Removes the user from the space; NOT_FOUND when they are not a member. */
  removeMember(spaceName: string, user: string): Promise<void> {
    return this.spaces.removeMember(spaceName, user);
  }

  // -- uploads (version-uploads.service.ts) ----------------------------------------------------

  /** The limits uploads are held to: DEFAULT_INTAKE_LIMITS with this registry's overrides. */
  get uploadLimits(): IntakeLimits {
    return this.uploads.limits;
  }

  /** Registers an upload as the model's next version (VersionUploadsService.upload lists the steps). */
  uploadVersion(input: UploadVersionInput): Promise<RegisteredVersion> {
    return this.uploads.upload(input);
  }

  /** Imports a model found on local disk, idempotently (VersionUploadsService.importFolder says how). */
  importFolderModel(name: string, path: string, options: { space?: string; manifestFile?: string } = {}): Promise<ImportResult> {
    return this.uploads.importFolder(name, path, options);
  }


  // -- models ----------------------------------------------------------------------------------

  async listModels(spaceName: string, query: ModelListFilter = {}): Promise<Page<ModelRow>> {
    const space = await this.getSpace(spaceName);
    return this.repos.models.list({
      spaceId: space.id,
      limit: query.limit ?? DEFAULT_LIST_LIMIT,
      cursor: query.cursor,
      namePrefix: query.namePrefix,
      tag: query.tag,
    });
  }

  async getModel(spaceName: string, name: string): Promise<ModelRow> {
    return (await this.locateModel(spaceName, name)).model;
  }

  /**
   * Changes description and/or tags. With `expectedRevision` (the If-Match ETag) the update
   * applies only if the model is still at that revision: PRECONDITION_FAILED (412) otherwise.
   */
  async updateModel(spaceName: string, name: string, patch: ModelUpdate, expectedRevision?: number): Promise<ModelRow> {
    const description = checkDescription(patch.description);
    const tags = checkTags(patch.tags);
    if (expectedRevision !== undefined && (!Number.isSafeInteger(expectedRevision) || expectedRevision < 1)) {
      throw invalidInput(`the expected revision (If-Match) must be a whole number >= 1, got ${printable(String(expectedRevision), 20)}`);
    }
    const { model } = await this.locateModel(spaceName, name);
    return fromStorage({ model: name }, () => this.repos.models.update(model.id, { description, tags }, expectedRevision));
  }

  /**
   * Deletes the model with its versions and aliases; CONFLICT (409) while a deployment uses it.
   * Its blobs are removed afterwards; a failure there only leaves orphan blobs (logged).
   */
  async deleteModel(spaceName: string, name: string): Promise<void> {
    const { space, model } = await this.locateModel(spaceName, name);
    const keys = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.repos.models.listVersions({ modelId: model.id, limit: 1000, cursor });
      for (const v of page.items) keys.add(v.blobKey);
      cursor = page.nextCursor;
    } while (cursor);
    const deleted = await fromStorage({ model: name }, () => this.repos.models.delete(model.id));
    if (!deleted) throw this.missingModel(spaceName, name);
    await this.changed(space, model);
    for (const key of keys) await this.uploads.dropBundle(key);
  }

  // -- versions --------------------------------------------------------------------------------

  async listVersions(spaceName: string, name: string, query: ListQuery = {}): Promise<Page<ModelVersionRow>> {
    const { model } = await this.locateModel(spaceName, name);
    return this.repos.models.listVersions({ modelId: model.id, limit: query.limit ?? DEFAULT_LIST_LIMIT, cursor: query.cursor });
  }

  async getVersion(spaceName: string, name: string, version: number): Promise<ModelVersionRow> {
    checkVersionNumber(version);
    const { model } = await this.locateModel(spaceName, name);
    const row = await this.repos.models.getVersion(model.id, version);
    if (!row) throw versionNotFound(name, String(version));
    return row;
  }

  /**
   * Deletes one version. CONFLICT (409) while a deployment's primary or canary selects it (by
   * number, or through an alias, `latest` or `best` that points at it now) or a user alias points
   * at it. The number is never reused. Blobs go too unless another version shares the bundle.
   */
  async deleteVersion(spaceName: string, name: string, version: number): Promise<void> {
    checkVersionNumber(version);
    const { space, model } = await this.locateModel(spaceName, name);
    const row = await this.repos.models.getVersion(model.id, version);
    if (!row) throw versionNotFound(name, String(version));
    const users = await this.deploymentsSelecting(model, version);
    if (users.length > 0) {
      throw new InUseError(
        `version ${version} of model '${printable(name)}' is used by deployment(s) ${users.map((u) => `'${printable(u)}'`).join(', ')}: move them to another version first`,
      );
    }
    const deleted = await fromStorage({ model: name, version }, () => this.repos.models.deleteVersion(model.id, version));
    if (!deleted) throw versionNotFound(name, String(version));
    await this.changed(space, model);
    const [remaining] = await this.repos.models.findVersionsBySha256(model.id, row.sha256);
    const shared = remaining?.blobKey === row.blobKey || (remaining !== undefined && (await this.uploads.bundleStillUsed(model.id, row.blobKey)));
    if (!shared) await this.uploads.dropBundle(row.blobKey);
  }

  // -- aliases ---------------------------------------------------------------------------------

  /** Creates the user alias or moves it to `version`. `latest` and `best` are refused (computed). */
  async setAlias(spaceName: string, name: string, alias: string, version: number): Promise<AliasRow> {
    assertUserAlias(alias);
    checkVersionNumber(version);
    const { space, model } = await this.locateModel(spaceName, name);
    const target = await this.repos.models.getVersion(model.id, version);
    if (!target || target.status !== 'ready') throw versionNotFound(name, String(version));
    const row = await fromStorage({ model: name, version }, () => this.repos.aliases.set(model.id, alias, version));
    await this.changed(space, model);
    return row;
  }

  async deleteAlias(spaceName: string, name: string, alias: string): Promise<void> {
    assertUserAlias(alias);
    const { space, model } = await this.locateModel(spaceName, name);
    if (!(await this.repos.aliases.delete(model.id, alias))) throw this.missingAlias(name, alias);
    await this.changed(space, model);
  }

  /** User aliases by name, then `latest` and `best` when the model has them. */
  async listAliases(spaceName: string, name: string): Promise<AliasView[]> {
    const { model } = await this.locateModel(spaceName, name);
    const stored = await this.repos.aliases.list(model.id);
    const views: AliasView[] = stored.map((a) => ({ name: a.name, version: a.version, computed: false, updatedAt: a.updatedAt }));
    const ready = await readyVersions(this.repos.models, model.id);
    const latest = ready[ready.length - 1];
    if (latest) views.push({ name: 'latest', version: latest.version, computed: true });
    const best = pickBest(ready, rankOf);
    if (best) views.push({ name: 'best', version: best.item.version, computed: true, metric: best.metric });
    return views;
  }

  // -- resolution ------------------------------------------------------------------------------

  /**
   * Resolves any reference model-uri.ts parses (`iris`, `iris@production`, `models:/iris/2`,
   * `models:/iris@production`, `models:/iris/latest`, `models:/iris/best`) to a ready version.
   * No version or alias means `latest`. 404 naming the model, version or alias not found;
   * `best` without a primary metric is CONFLICT (409).
   */
  async resolve(spaceName: string, reference: string): Promise<ResolvedVersion> {
    const ref = parseModelReference(reference);
    const { space, model } = await this.locateModel(spaceName, ref.name);
    const version = await this.versionFor(model, ref.version !== undefined ? { version: ref.version } : { alias: ref.alias ?? 'latest' });
    return { space, model, version, reference: ref };
  }

  // -- artifacts -------------------------------------------------------------------------------

  /** The version's files (model.onnx, model.yaml, others) with sizes and digests. */
  async listArtifacts(version: ModelVersionRow): Promise<BundleFile[]> {
    return (await readBundleIndex(this.blobs, version.blobKey)).files;
  }

  /** A stream of one of the version's files, model.onnx by default (what the serving side loads). */
  openArtifact(version: ModelVersionRow, path = 'model.onnx'): Promise<Readable> {
    return openBundleFile(this.blobs, version.blobKey, path, `version ${version.version}`);
  }

  // -- internals -------------------------------------------------------------------------------

  private async locateModel(spaceName: string, name: string): Promise<{ space: SpaceRow; model: ModelRow }> {
    assertModelName(name);
    const space = await this.getSpace(spaceName);
    const model = await this.repos.models.getByName(space.id, name);
    if (!model) throw this.missingModel(space.name, name);
    return { space, model };
  }

  private missingModel(spaceName: string, name: string): PlinthError {
    if (spaceName === DEFAULT_SPACE) return modelNotFound(name);
    return new PlinthError('MODEL_NOT_FOUND', `model '${printable(name)}' does not exist in space '${printable(spaceName)}'`);
  }

  private missingAlias(name: string, alias: string): PlinthError {
    return new PlinthError('VERSION_NOT_FOUND', `model '${printable(name)}' has no alias '${printable(alias)}'`);
  }

  /** The ready version a selector points at now. */
  private async versionFor(model: ModelRow, selector: VersionSelector): Promise<ModelVersionRow> {
    if ('version' in selector) {
      const row = await this.repos.models.getVersion(model.id, selector.version);
      if (!row || row.status !== 'ready') throw versionNotFound(model.name, String(selector.version));
      return row;
    }
    const { alias } = selector;
    if (alias === 'latest') {
      const latest = await this.repos.models.latestVersion(model.id);
      if (!latest) throw new PlinthError('VERSION_NOT_FOUND', `model '${printable(model.name)}' has no ready version`);
      return latest;
    }
    if (alias === 'best') {
      const ready = await readyVersions(this.repos.models, model.id);
      if (ready.length === 0) throw new PlinthError('VERSION_NOT_FOUND', `model '${printable(model.name)}' has no ready version`);
      const best = pickBest(ready, rankOf);
      if (!best) throw noBestVersion(model.name);
      return best.item;
    }
    const row = await this.repos.aliases.get(model.id, alias);
    if (!row) throw this.missingAlias(model.name, alias);
    const target = await this.repos.models.getVersion(model.id, row.version);
    if (!target || target.status !== 'ready') throw versionNotFound(model.name, String(row.version));
    return target;
  }

  /** Names of deployments whose primary or canary selector resolves to this version now. */
  private async deploymentsSelecting(model: ModelRow, version: number): Promise<string[]> {
    const names: string[] = [];
    const resolved = new Map<string, number | undefined>();
    const points = async (selector: VersionSelector): Promise<boolean> => {
      if ('version' in selector) return selector.version === version;
      if (!resolved.has(selector.alias)) {
        const v = await this.versionFor(model, selector).then((r) => r.version, () => undefined);
        resolved.set(selector.alias, v);
      }
      return resolved.get(selector.alias) === version;
    };
    let cursor: string | undefined;
    do {
      const page = await this.repos.deployments.list({ modelId: model.id, limit: 1000, cursor });
      for (const d of page.items) {
        const selectors = [d.target.primary, ...(d.target.canary ? [d.target.canary.selector] : [])];
        for (const s of selectors) {
          if (await points(s)) {
            names.push(d.name);
            break;
          }
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    return names;
  }
}
