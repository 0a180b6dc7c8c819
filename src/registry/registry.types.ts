import type { ModelReference } from '../core/model-uri.js';
import type { ModelRow, ModelVersionRow, SpaceRow } from '../storage/ports.js';
import type { IntakeLimits, IntakeRequest } from './model-intake.service.js';

/* The types of ModelRegistryService's API, shared with the parts it delegates to. */

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
