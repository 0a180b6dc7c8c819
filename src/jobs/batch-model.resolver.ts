import type { Manifest } from '../core/manifest.js';
import { describeModel, type ModelSchema, type Signature } from '../core/model-schema.js';
import { formatModelUri } from '../core/model-uri.js';
import type { ArtifactCache } from '../registry/artifact-cache.js';
import type { DeploymentService } from '../registry/deployment.service.js';
import type { ModelRegistryService } from '../registry/model-registry.service.js';
import type { ResolvedVersion } from '../registry/registry.types.js';
import type { DeploymentRow } from '../storage/ports.js';

/** The model version a job scores with. */
export interface BatchModel {
  /** Pins the version for the job's later attempts: `{space, uri}` as JSON. */
  pin: string;
  /** e.g. `models:/breast-cancer/3`. */
  uri: string;
  manifest: Manifest;
  schema: ModelSchema;
  resolved: ResolvedVersion;
}

/**
 * Resolves a deployment's target to a version the way online deployments do (the primary; a
 * batch job never splits), or a pinned version again, and finds its local model.onnx.
 */
export class BatchModelResolver {
  constructor(
    private readonly deployments: DeploymentService,
    private readonly registry: ModelRegistryService,
    private readonly cache: ArtifactCache,
  ) {}

  /** What the deployment's target selects now. */
  async current(deployment: DeploymentRow): Promise<BatchModel> {
    const view = await this.deployments.view(deployment);
    return this.describe(view.space, await this.registry.resolve(view.space, view.target.model));
  }

  /** The version a job pinned. */
  async pinned(pin: string): Promise<BatchModel> {
    const { space, uri } = JSON.parse(pin) as { space: string; uri: string };
    return this.describe(space, await this.registry.resolve(space, uri));
  }

  modelFile(model: BatchModel): Promise<string> {
    return this.cache.modelFile(model.resolved.version);
  }

  private describe(space: string, resolved: ResolvedVersion): BatchModel {
    const uri = formatModelUri({ name: resolved.model.name, version: resolved.version.version });
    const manifest = (resolved.version.manifest ?? {}) as Manifest;
    // The stored signature is the one validated at upload; class labels of the graph come later, in the worker.
    const schema = describeModel((resolved.version.signature ?? { inputs: [], outputs: [] }) as unknown as Signature, undefined, manifest);
    return { pin: JSON.stringify({ space, uri }), uri, manifest, schema, resolved };
  }
}
