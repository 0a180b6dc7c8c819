import type { Readable } from 'node:stream';

/**
 * Ports: every side effect the services need, as interfaces. Concrete adapters live beside
 * this file and are chosen in one place, src/app.ts.
 */

export interface ModelSourceEntry {
  name: string;
  /** Version identifiers, as strings of digits. */
  versions: string[];
}

export interface ModelSourceScan {
  models: ModelSourceEntry[];
  /** Entries the source ignored, with the reason (logged at start-up). */
  skipped: { entry: string; reason: string }[];
  /** Versions of listed models the source could not take; the listed versions keep serving. */
  refused?: { name: string; version: string; reason: string }[];
}

/** Where served model files come from: a folder, or the registry's blob store. */
export interface ModelSourcePort {
  /** A human-readable location for logs and /service-info. */
  readonly location: string;
  /**
   * Lists the models. `sync: false` skips pulling from upstream first (the registry source's
   * `--models` folder import), for rescans that follow a registry change.
   */
  scan(options?: { sync?: boolean }): Promise<ModelSourceScan>;
  /**
   * A local path to the model.onnx of a version found by the last scan, with any external data
   * files beside it (ONNX Runtime resolves them relative to it); throws if the version is gone.
   */
  modelFile(name: string, version: string): Promise<string>;
  /** The version's model.yaml text, or undefined when it has none. */
  readManifest(name: string, version: string): Promise<string | undefined>;
  /** SHA-256 of the version's model file, when the source records it (the registry does). */
  modelDigest?(name: string, version: string): Promise<string | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Blob store: model artifacts (the registry's bytes), a local folder by default, S3 later.
// ---------------------------------------------------------------------------------------------

export interface BlobInfo {
  /** Bytes written. */
  size: number;
  /** Lower-case hex SHA-256 of the bytes, computed while they were written. */
  sha256: string;
}

/**
 * Keys are relative paths made of [A-Za-z0-9._/-] with no '..', no leading '/', no empty or
 * dot-led segments and no NUL (storage/blob/blob-key.ts); an invalid key is refused with
 * INVALID_INPUT before anything is touched. Keys are chosen by services, never taken verbatim
 * from a request.
 */
export interface BlobStorePort {
  /** A human-readable location for logs. */
  readonly location: string;
  /**
   * Stores the bytes under the key, replacing any blob already there. The blob becomes visible
   * only once every byte is written and flushed: a failed or interrupted put leaves no blob
   * and no temporary file behind (the previous blob under the key, if any, is untouched).
   */
  put(key: string, body: AsyncIterable<Uint8Array>): Promise<BlobInfo>;
  /** The blob's bytes as a stream; throws PlinthError NOT_FOUND when there is no such blob. */
  get(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  /** Removes the blob; true if one was there. Deleting a missing key is not an error. */
  delete(key: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Registry repositories: spaces, models and versions, aliases, deployments.
// Ids are opaque strings, timestamps ISO-8601 UTC strings (they sort as text).
// Failures callers can act on are PlinthErrors (storage/storage.errors.ts): a duplicate name is
// DuplicateNameError (CONFLICT), a stale revision RevisionMismatchError (CONFLICT), removing
// something still referenced InUseError (CONFLICT), an unknown id NOT_FOUND / MODEL_NOT_FOUND.
// ---------------------------------------------------------------------------------------------

/** Keyset pagination: `limit` 1..1000; `cursor` is the opaque `nextCursor` of the previous page. */
export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Present when more items may follow; pass it back as `cursor` to get them. */
  nextCursor?: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type SpaceRole = 'admin' | 'editor' | 'viewer';

export interface SpaceRow {
  id: string;
  /** Unique across the server. */
  name: string;
  description: string | null;
  createdAt: string;
}

export interface SpaceMemberRow {
  spaceId: string;
  user: string;
  role: SpaceRole;
}

export interface NewSpace {
  name: string;
  description?: string | null;
}

export interface SpaceListQuery extends PageRequest {
  namePrefix?: string;
  /** Only spaces this user is a member of. */
  member?: string;
}

export interface SpaceRepository {
  /** Throws DuplicateNameError when the name is taken. */
  create(space: NewSpace): Promise<SpaceRow>;
  /** The space of that name, created first if missing; safe when several callers race. */
  ensure(space: NewSpace): Promise<SpaceRow>;
  get(id: string): Promise<SpaceRow | undefined>;
  getByName(name: string): Promise<SpaceRow | undefined>;
  /** Ordered by (name, id). */
  list(query: SpaceListQuery): Promise<Page<SpaceRow>>;
  update(id: string, patch: { description?: string | null }): Promise<SpaceRow>;
  /** Refused with InUseError while the space holds models or deployments. */
  delete(id: string): Promise<boolean>;
  /** Adds the member or changes their role. */
  setMember(spaceId: string, user: string, role: SpaceRole): Promise<SpaceMemberRow>;
  getMember(spaceId: string, user: string): Promise<SpaceMemberRow | undefined>;
  /** Ordered by user. */
  listMembers(spaceId: string): Promise<SpaceMemberRow[]>;
  removeMember(spaceId: string, user: string): Promise<boolean>;
}

export interface ModelRow {
  id: string;
  spaceId: string;
  /** Unique within its space. */
  name: string;
  description: string | null;
  tags: string[];
  createdAt: string;
  /** Also moves when a version is added or removed. */
  updatedAt: string;
  /** Starts at 1 and grows by one on every update of name, description or tags: the ETag. */
  revision: number;
}

export interface NewModel {
  spaceId: string;
  name: string;
  description?: string | null;
  tags?: string[];
}

export interface ModelPatch {
  description?: string | null;
  tags?: string[];
}

export interface ModelListQuery extends PageRequest {
  spaceId: string;
  /** Case-sensitive prefix of the name. */
  namePrefix?: string;
  /** Only models carrying this tag. */
  tag?: string;
}

/** `pending` while an upload is being registered; `ready` once accepted; `failed` kept with why. */
export type ModelVersionStatus = 'pending' | 'ready' | 'failed';

export interface ModelVersionRow {
  id: string;
  modelId: string;
  /** 1, 2, 3, ... per model, assigned by the repository. */
  version: number;
  sha256: string;
  size: number;
  blobKey: string;
  /** Inputs and outputs as derived when the version was validated. */
  signature: JsonValue | null;
  /** The parsed model.yaml, if any. */
  manifest: JsonValue | null;
  metrics: Record<string, number>;
  tags: string[];
  status: ModelVersionStatus;
  createdAt: string;
}

export interface NewModelVersion {
  modelId: string;
  sha256: string;
  size: number;
  blobKey: string;
  signature?: JsonValue | null;
  manifest?: JsonValue | null;
  metrics?: Record<string, number>;
  tags?: string[];
  /** Default `ready`. */
  status?: ModelVersionStatus;
}

export interface ModelVersionListQuery extends PageRequest {
  modelId: string;
  status?: ModelVersionStatus;
}

export interface ModelRepository {
  /** Throws DuplicateNameError when the space already has a model of that name. */
  create(model: NewModel): Promise<ModelRow>;
  get(id: string): Promise<ModelRow | undefined>;
  getByName(spaceId: string, name: string): Promise<ModelRow | undefined>;
  /** Ordered by (name, id). */
  list(query: ModelListQuery): Promise<Page<ModelRow>>;
  /**
   * Applies the patch and bumps the revision. With `expectedRevision` (If-Match), throws
   * RevisionMismatchError unless the stored revision is that one.
   */
  update(id: string, patch: ModelPatch, expectedRevision?: number): Promise<ModelRow>;
  /** Removes the model with its versions and aliases; InUseError while a deployment uses it. */
  delete(id: string): Promise<boolean>;

  /**
   * Adds the next version: 1, 2, 3, ... per model, never reusing a number, even one whose
   * version was deleted. Concurrent callers always get distinct numbers. Throws MODEL_NOT_FOUND
   * when the model is gone.
   */
  createVersion(version: NewModelVersion): Promise<ModelVersionRow>;
  getVersion(modelId: string, version: number): Promise<ModelVersionRow | undefined>;
  /** The versions whose model.onnx has this digest, newest first (idempotent imports). */
  findVersionsBySha256(modelId: string, sha256: string): Promise<ModelVersionRow[]>;
  /** The highest-numbered version in that status (default `ready`). */
  latestVersion(modelId: string, status?: ModelVersionStatus): Promise<ModelVersionRow | undefined>;
  /** Ordered by version number, ascending. */
  listVersions(query: ModelVersionListQuery): Promise<Page<ModelVersionRow>>;
  updateVersion(
    modelId: string,
    version: number,
    patch: { status?: ModelVersionStatus; tags?: string[]; metrics?: Record<string, number> },
  ): Promise<ModelVersionRow>;
  /** InUseError while an alias points at it (deployments are the service's check). */
  deleteVersion(modelId: string, version: number): Promise<boolean>;
}

/** A user alias (`production`, `staging`); `latest` and `best` are computed, not stored. */
export interface AliasRow {
  modelId: string;
  name: string;
  version: number;
  updatedAt: string;
}

export interface AliasRepository {
  /** Creates or moves the alias; VERSION_NOT_FOUND when the model has no such version. */
  set(modelId: string, name: string, version: number): Promise<AliasRow>;
  get(modelId: string, name: string): Promise<AliasRow | undefined>;
  /** Ordered by name. */
  list(modelId: string): Promise<AliasRow[]>;
  listForVersion(modelId: string, version: number): Promise<AliasRow[]>;
  delete(modelId: string, name: string): Promise<boolean>;
}

/** A version by number or through an alias (resolved when the deployment loads). */
export type VersionSelector = { version: number } | { alias: string };

export interface DeploymentTarget {
  modelId: string;
  primary: VersionSelector;
  /** A second version of the same model taking `percent` (1..99) of the requests. */
  canary?: { selector: VersionSelector; percent: number };
}

export interface DeploymentRuntime {
  intraOpThreads?: number;
  maxBatchSize?: number;
  /** Where it runs: `auto`, `inline` (the main thread) or `threads` (an instance group). */
  execution?: 'auto' | 'inline' | 'threads';
  /** Sessions of the instance group, each in its own thread. */
  instances?: number;
  maxQueueSize?: number;
  queueTimeoutMs?: number;
}

export type DeploymentKind = 'online' | 'batch';
export type DeploymentAuthMode = 'public' | 'token';
export type DeploymentStatus = 'initializing' | 'ready' | 'failed';

export interface DeploymentRow {
  id: string;
  spaceId: string;
  /** Unique within its space. */
  name: string;
  description: string | null;
  kind: DeploymentKind;
  /** Copied from target.modelId: lets the database refuse deleting a model in use. */
  modelId: string;
  target: DeploymentTarget;
  authMode: DeploymentAuthMode;
  runtime: DeploymentRuntime;
  status: DeploymentStatus;
  /** Why the status is `failed`; null otherwise. */
  reason: string | null;
  /** The ETag: bumped by update(), not by status changes. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewDeployment {
  spaceId: string;
  name: string;
  description?: string | null;
  kind?: DeploymentKind;
  target: DeploymentTarget;
  authMode?: DeploymentAuthMode;
  runtime?: DeploymentRuntime;
}

export interface DeploymentPatch {
  description?: string | null;
  target?: DeploymentTarget;
  authMode?: DeploymentAuthMode;
  runtime?: DeploymentRuntime;
}

export interface DeploymentListQuery extends PageRequest {
  /** All spaces when omitted (start-up restores every deployment). */
  spaceId?: string;
  namePrefix?: string;
  modelId?: string;
  status?: DeploymentStatus;
}

export interface DeploymentRepository {
  /** Status starts `initializing`. Throws DuplicateNameError when the name is taken in the space. */
  create(deployment: NewDeployment): Promise<DeploymentRow>;
  get(id: string): Promise<DeploymentRow | undefined>;
  getByName(spaceId: string, name: string): Promise<DeploymentRow | undefined>;
  /** Ordered by (name, id). */
  list(query: DeploymentListQuery): Promise<Page<DeploymentRow>>;
  update(id: string, patch: DeploymentPatch, expectedRevision?: number): Promise<DeploymentRow>;
  setStatus(id: string, status: DeploymentStatus, reason?: string | null): Promise<DeploymentRow>;
  delete(id: string): Promise<boolean>;
}

/** The registry's repositories together, as app.ts hands them to the services. */
export interface RegistryRepositories {
  spaces: SpaceRepository;
  models: ModelRepository;
  aliases: AliasRepository;
  deployments: DeploymentRepository;
}
