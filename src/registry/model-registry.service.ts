import type { Readable } from 'node:stream';
import { pages } from './pages.js';
import { invalidInput, modelNotFound, PlinthError, printable, versionNotFound } from '../core/errors.js';
import { assertModelName } from '../core/model-name.js';
import { parseModelReference, type ModelReference } from '../core/model-uri.js';
import type {
  AliasRow,
  BlobStorePort,
  JsonValue,
  ModelRow,
  ModelVersionRow,
  Page,
  RegistryRepositories,
  SpaceMemberRow,
  SpaceRole,
  SpaceRow,
  VersionSelector,
} from '../storage/ports.js';
import { DuplicateNameError, InUseError } from '../storage/storage.errors.js';
import { deleteBundle, openBundleFile, readBundleIndex, storeBundle, type BundleFile } from './artifact-bundle.js';
import { noBestVersion, pickBest } from '../core/best-version.js';
import { rankOf, readyVersions } from './computed-aliases.js';
import { fileSha256, localUpload } from './folder-import.js';
import { intakeUpload, resolveLimits, type IntakeLimits, type IntakeRequest } from './model-intake.service.js';
import { assertSpaceName, assertUserAlias, checkDescription, checkTags, DEFAULT_SPACE } from './registry-names.js';
import { fromStorage } from './storage-error.mapper.js';
import { validateVersion, type ModelValidator } from './version-validator.js';

export interface ModelRegistryOptions {
  /** Where uploads are unpacked (each in its own folder, removed when the call ends). */
  tmpRoot: string;
  /** Overrides of the intake's DEFAULT_INTAKE_LIMITS. */
  limits?: Partial<IntakeLimits>;
  /** Told about clean-up that failed after the operation itself succeeded (orphan blobs). */
  log?: { warn(details: object, message: string): void };
}

/** A change to what a model's references resolve to (a version added or removed, an alias moved). */
export interface RegistryChange {
  space: SpaceRow;
  model: Pick<ModelRow, 'id' | 'name'>;
}

/** Told after each change commits (the serving side loads or drops versions); its errors are logged, not thrown. */
export type RegistryChangeListener = (change: RegistryChange) => Promise<void>;

export interface UploadVersionInput {
  /** Space name; `default` when omitted. */
  space?: string;
  /** Model name; the model is created by its first upload. */
  name: string;
  /** The client's file name: .onnx, .zip, .tar.gz / .tgz or .tar picks the format. */
  filename: string;
  stream: IntakeRequest['stream'];
  /** The model's description when this upload creates the model (else model.yaml's). */
  description?: string | null;
  /** The new version's tags. */
  tags?: string[];
  /**
   * Aborted when the caller can no longer be told the outcome (the client went away, or was
   * already answered by a deadline): nothing is committed then, and a commit it races is undone.
   */
  signal?: AbortSignal;
}

export interface RegisteredVersion {
  space: SpaceRow;
  model: ModelRow;
  version: ModelVersionRow;
}

export interface ImportResult extends RegisteredVersion {
  /** false when a version with the same model.onnx digest was already registered. */
  imported: boolean;
}

export interface ResolvedVersion extends RegisteredVersion {
  reference: ModelReference;
}

/** A user alias (stored) or `latest` / `best` (computed on every read). */
export interface AliasView {
  name: string;
  version: number;
  computed: boolean;
  /** For `best`: the metric that ranked the versions. */
  metric?: string;
  updatedAt?: string;
}

export interface ListQuery {
  /** 1..1000, default 100. */
  limit?: number;
  cursor?: string;
}

export interface ModelListFilter extends ListQuery {
  namePrefix?: string;
  tag?: string;
}

export interface ModelUpdate {
  description?: string | null;
  tags?: string[];
}

const DEFAULT_LIMIT = 100;


/** The upload's caller is gone: stop before anything (more) is committed. */
function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PlinthError('MALFORMED_BODY', 'upload abandoned: the client closed the connection (or was answered) before the version was registered');
}

function destroyStream(stream: unknown): void {
  const s = stream as Partial<Readable> | undefined;
  if (s && typeof s.destroy === 'function' && !s.destroyed) s.destroy();
}

const SPACE_ROLES: readonly SpaceRole[] = ['admin', 'editor', 'viewer'];
const MEMBER_NAME_MAX = 200;

/** A member's user name: what the auth domain calls a user (1-200 characters, no control characters). */
function checkMemberName(user: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof user !== 'string' || user.length === 0 || user.length > MEMBER_NAME_MAX || /[\u0000-\u001f\u007f]/.test(user)) {
    throw invalidInput(`user name '${printable(String(user), 40)}' is invalid: use 1-${MEMBER_NAME_MAX} characters without control characters`);
  }
  return user;
}

function checkRole(role: unknown): SpaceRole {
  if (!SPACE_ROLES.includes(role as SpaceRole)) {
    throw invalidInput(`role '${printable(String(role), 40)}' is invalid: use one of ${SPACE_ROLES.join(', ')}`);
  }
  return role as SpaceRole;
}

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
  constructor(
    private readonly repos: RegistryRepositories,
    private readonly blobs: BlobStorePort,
    private readonly validate: ModelValidator,
    private readonly options: ModelRegistryOptions,
  ) {}

  private listener?: RegistryChangeListener;
  private bundleDropped?: (blobKey: string) => Promise<void>;

  /** Told after a bundle's blobs are deleted (the artifact cache drops its copy). */
  onBundleDropped(listener: (blobKey: string) => Promise<void>): void {
    this.bundleDropped = listener;
  }

  /** The blob key of every version in every space: what the artifact cache may keep. */
  async liveBlobKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const space of pages((cursor) => this.repos.spaces.list({ limit: 1000, cursor }))) {
      for await (const model of pages((cursor) => this.repos.models.list({ spaceId: space.id, limit: 1000, cursor }))) {
        for await (const v of pages((cursor) => this.repos.models.listVersions({ modelId: model.id, limit: 1000, cursor }))) keys.add(v.blobKey);
      }
    }
    return keys;
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

  // -- spaces ----------------------------------------------------------------------------------

  /** The `default` space, created if missing (safe when several start-ups race). */
  ensureDefaultSpace(): Promise<SpaceRow> {
    return this.repos.spaces.ensure({ name: DEFAULT_SPACE, description: 'The default deployment space' });
  }

  async createSpace(input: { name: string; description?: string | null }): Promise<SpaceRow> {
    assertSpaceName(input.name);
    const description = checkDescription(input.description);
    return fromStorage({ space: input.name }, () => this.repos.spaces.create({ name: input.name, description }));
  }

  listSpaces(query: ListQuery & { namePrefix?: string; member?: string } = {}): Promise<Page<SpaceRow>> {
    return this.repos.spaces.list({ ...query, limit: query.limit ?? DEFAULT_LIMIT });
  }

  async getSpace(name: string = DEFAULT_SPACE): Promise<SpaceRow> {
    assertSpaceName(name);
    const space = await this.repos.spaces.getByName(name);
    if (!space) throw new PlinthError('NOT_FOUND', `space '${printable(name)}' does not exist`);
    return space;
  }

  /** The space's members, ordered by user name. */
  async listMembers(spaceName: string): Promise<SpaceMemberRow[]> {
    const space = await this.getSpace(spaceName);
    return this.repos.spaces.listMembers(space.id);
  }

  /** Adds the user to the space with `role`, or changes their role. */
  async setMember(spaceName: string, user: string, role: SpaceRole): Promise<SpaceMemberRow> {
    checkMemberName(user);
    checkRole(role);
    const space = await this.getSpace(spaceName);
    return fromStorage({ space: spaceName }, () => this.repos.spaces.setMember(space.id, user, role));
  }

  /** Removes the user from the space; NOT_FOUND when they are not a member. */
  async removeMember(spaceName: string, user: string): Promise<void> {
    checkMemberName(user);
    const space = await this.getSpace(spaceName);
    if (!(await this.repos.spaces.removeMember(space.id, user))) {
      throw new PlinthError('NOT_FOUND', `user '${printable(user)}' is not a member of space '${printable(space.name)}'`);
    }
  }

  // -- uploads ---------------------------------------------------------------------------------

  /** The limits uploads are held to: DEFAULT_INTAKE_LIMITS with this registry's overrides. */
  get uploadLimits(): IntakeLimits {
    return resolveLimits(this.options.limits);
  }

  /**
   * Registers an upload as the model's next version. Steps, in order: the intake checks and
   * unpacks it; the runtime loads it once (LOAD_FAILED with ORT's reason otherwise); model.yaml
   * must agree with the graph (LOAD_FAILED); the model row is created if this is its first
   * version; every artifact goes to the blob store; and only then is the version row written.
   * A failure or crash before that last write leaves no version (at worst blobs no row points
   * at: they are content-addressed, so a retry reuses them, and they are never served).
   * The temporary folder is always removed.
   */
  uploadVersion(input: UploadVersionInput): Promise<RegisteredVersion> {
    return this.register(input, true);
  }

  /** uploadVersion; `notify` false for folder imports, whose caller (the serving scan) picks them up. */
  private async register(input: UploadVersionInput, notify: boolean): Promise<RegisteredVersion> {
    let space: SpaceRow;
    let tags: string[] | undefined;
    let description: string | null | undefined;
    try {
      assertModelName(input.name);
      tags = checkTags(input.tags);
      description = checkDescription(input.description);
      space = await this.getSpace(input.space);
    } catch (err) {
      destroyStream(input.stream);
      throw err;
    }
    const intake = await intakeUpload({ filename: input.filename, stream: input.stream, tmpRoot: this.options.tmpRoot, limits: this.options.limits });
    const { signal } = input;
    try {
      const checked = await validateVersion(intake, this.validate);
      checkNotAborted(signal);
      const model = await this.ensureModel(space, input.name, description ?? checked.manifest?.description ?? null);
      const bundle = await storeBundle(this.blobs, model.id, intake.dir, intake.files);
      if (signal?.aborted) {
        await this.dropUnusedBundle(model.id, bundle.key); // the last moment before the commit
        checkNotAborted(signal);
      }
      const version = await fromStorage({ model: input.name }, () =>
        this.repos.models.createVersion({
          modelId: model.id,
          sha256: intake.model.sha256,
          size: intake.model.size,
          blobKey: bundle.key,
          signature: { inputs: checked.signature.inputs, outputs: checked.signature.outputs } as unknown as JsonValue,
          manifest: (checked.manifest ?? null) as JsonValue | null,
          metrics: checked.metrics,
          tags,
        }),
      );
      if (signal?.aborted) {
        // The caller went away while the row was written: it will never hear of this version.
        await this.repos.models.deleteVersion(model.id, version.version);
        await this.dropUnusedBundle(model.id, bundle.key);
        checkNotAborted(signal);
      }
      if (notify) await this.changed(space, model);
      return { space, model: (await this.repos.models.get(model.id)) ?? model, version };
    } finally {
      await intake.cleanup();
    }
  }

  /**
   * Imports a model found on local disk (the `--models` folder at start-up): a version folder
   * holding model.onnx or an XGBoost model.json (and model.yaml, artifacts), or a `<name>.onnx` /
   * `<name>.json` file with an optional sidecar manifest. Idempotent by the SHA-256 of that model
   * file and the manifest it registers with: when the model
   * already has a version with both, that version is returned and nothing is written (the same
   * graph with other metrics in model.yaml is another version). Change listeners are not told:
   * the import runs inside the serving side's scan, which loads what it imported.
   */
  async importFolderModel(name: string, path: string, options: { space?: string; manifestFile?: string } = {}): Promise<ImportResult> {
    assertModelName(name);
    const space = await this.getSpace(options.space);
    const local = await localUpload(path, options.manifestFile, this.options.tmpRoot);
    try {
      const digest = await fileSha256(local.modelFile).catch(() => undefined);
      const existing = await this.repos.models.getByName(space.id, name);
      const same = existing && digest !== undefined ? await this.repos.models.findVersionsBySha256(existing.id, digest) : [];
      const manifest = same.length ? await local.manifest() : undefined;
      const found = same.find((v) => JSON.stringify(v.manifest) === JSON.stringify(manifest ?? null));
      if (existing && found) {
        destroyStream(local.stream);
        return { space, model: existing, version: found, imported: false };
      }
      const registered = await this.register({ space: space.name, name, filename: local.filename, stream: local.stream }, false);
      return { ...registered, imported: true };
    } catch (err) {
      destroyStream(local.stream);
      throw err;
    } finally {
      await local.cleanup();
    }
  }

  // -- models ----------------------------------------------------------------------------------

  async listModels(spaceName: string, query: ModelListFilter = {}): Promise<Page<ModelRow>> {
    const space = await this.getSpace(spaceName);
    return this.repos.models.list({
      spaceId: space.id,
      limit: query.limit ?? DEFAULT_LIMIT,
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
    for (const key of keys) await this.dropBundle(key);
  }

  // -- versions --------------------------------------------------------------------------------

  async listVersions(spaceName: string, name: string, query: ListQuery = {}): Promise<Page<ModelVersionRow>> {
    const { model } = await this.locateModel(spaceName, name);
    return this.repos.models.listVersions({ modelId: model.id, limit: query.limit ?? DEFAULT_LIMIT, cursor: query.cursor });
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
    const shared = remaining?.blobKey === row.blobKey || (remaining !== undefined && (await this.bundleStillUsed(model.id, row.blobKey)));
    if (!shared) await this.dropBundle(row.blobKey);
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

  /** The model row, created by the first upload; concurrent first uploads share one row. */
  private async ensureModel(space: SpaceRow, name: string, description: string | null): Promise<ModelRow> {
    const existing = await this.repos.models.getByName(space.id, name);
    if (existing) return existing;
    try {
      return await this.repos.models.create({ spaceId: space.id, name, description });
    } catch (err) {
      if (err instanceof DuplicateNameError) {
        const raced = await this.repos.models.getByName(space.id, name);
        if (raced) return raced;
      }
      throw err;
    }
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

  private async dropUnusedBundle(modelId: string, blobKey: string): Promise<void> {
    if (!(await this.bundleStillUsed(modelId, blobKey))) await this.dropBundle(blobKey);
  }

  private async bundleStillUsed(modelId: string, blobKey: string): Promise<boolean> {
    let cursor: string | undefined;
    do {
      const page = await this.repos.models.listVersions({ modelId, limit: 1000, cursor });
      if (page.items.some((v) => v.blobKey === blobKey)) return true;
      cursor = page.nextCursor;
    } while (cursor);
    return false;
  }

  /**
   * Best effort: the rows are already gone, so a failure here leaves orphan blobs, never a
   * version without its files. (A byte-identical upload to the same model racing this delete
   * could see its bundle removed under it; the serving side then reports the version unloadable.)
   */
  private async dropBundle(key: string): Promise<void> {
    try {
      await deleteBundle(this.blobs, key);
      await this.bundleDropped?.(key);
    } catch (err) {
      this.options.log?.warn({ blobKey: key, err }, 'could not delete the blobs of a deleted model version');
    }
  }
}
