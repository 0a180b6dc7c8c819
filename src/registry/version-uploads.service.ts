import type { Readable } from 'node:stream';
import { PlinthError } from '../core/errors.js';
import { assertModelName } from '../core/model-name.js';
import type { BlobStorePort, JsonValue, ModelRow, RegistryRepositories, SpaceRow } from '../storage/ports.js';
import { DuplicateNameError } from '../storage/storage.errors.js';
import { deleteBundle, storeBundle } from './artifact-bundle.js';
import { fileSha256, localUpload } from './folder-import.js';
import { intakeUpload, resolveLimits, type IntakeLimits } from './model-intake.service.js';
import type { ImportResult, ModelRegistryOptions, RegisteredVersion, UploadVersionInput } from './registry.types.js';
import { pages } from './pages.js';
import { checkDescription, checkTags } from './registry-names.js';
import type { SpacesService } from './spaces.service.js';
import { fromStorage } from './storage-error.mapper.js';
import { validateVersion, type ModelValidator } from './version-validator.js';

/** The upload's caller is gone: stop before anything (more) is committed. */
function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PlinthError('MALFORMED_BODY', 'upload abandoned: the client closed the connection (or was answered) before the version was registered');
}

function destroyStream(stream: unknown): void {
  const s = stream as Partial<Readable> | undefined;
  if (s && typeof s.destroy === 'function' && !s.destroyed) s.destroy();
}

/**
 * New versions (uploads and folder imports) and the bundles of artifacts they store: the part of
 * the registry ModelRegistryService delegates to. It also drops bundles no version uses any more.
 */
export class VersionUploadsService {
  private bundleDropped?: (blobKey: string) => Promise<void>;

  constructor(
    private readonly repos: RegistryRepositories,
    private readonly blobs: BlobStorePort,
    private readonly validate: ModelValidator,
    private readonly options: ModelRegistryOptions,
    private readonly spaces: SpacesService,
    /** Tells the change listener (never throws). */
    private readonly changed: (space: SpaceRow, model: Pick<ModelRow, 'id' | 'name'>) => Promise<void>,
  ) {}

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

  /** The limits uploads are held to: DEFAULT_INTAKE_LIMITS with this registry's overrides. */
  get limits(): IntakeLimits {
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
  upload(input: UploadVersionInput): Promise<RegisteredVersion> {
    return this.register(input, true);
  }

  /** upload; `notify` false for folder imports, whose caller (the serving scan) picks them up. */
  private async register(input: UploadVersionInput, notify: boolean): Promise<RegisteredVersion> {
    let space: SpaceRow;
    let tags: string[] | undefined;
    let description: string | null | undefined;
    try {
      assertModelName(input.name);
      tags = checkTags(input.tags);
      description = checkDescription(input.description);
      space = await this.spaces.get(input.space);
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
  async importFolder(name: string, path: string, options: { space?: string; manifestFile?: string } = {}): Promise<ImportResult> {
    assertModelName(name);
    const space = await this.spaces.get(options.space);
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

  /** Whether any version of the model still stores its files in this bundle. */
  async bundleStillUsed(modelId: string, blobKey: string): Promise<boolean> {
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
  async dropBundle(key: string): Promise<void> {
    try {
      await deleteBundle(this.blobs, key);
      await this.bundleDropped?.(key);
    } catch (err) {
      this.options.log?.warn({ blobKey: key, err }, 'could not delete the blobs of a deleted model version');
    }
  }

  private async dropUnusedBundle(modelId: string, blobKey: string): Promise<void> {
    if (!(await this.bundleStillUsed(modelId, blobKey))) await this.dropBundle(blobKey);
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
}
