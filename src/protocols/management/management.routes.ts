import type { FastifyInstance } from 'fastify';
import type { ModelRegistryService } from '../../registry/model-registry.service.js';
import { registerModelRoutes } from './models.routes.js';
import { registerSpaceRoutes } from './spaces.routes.js';

/** What the registry's management API needs: the registry service (its upload limit included). */
export interface ManagementDeps {
  registry: ModelRegistryService;
  /** PLINTH_UPLOAD_TIMEOUT_MS: the upload route's own deadline. */
  uploadTimeoutMs: number;
}

/**
 * The registry's management REST API under /api/v1: spaces and members, models, versions
 * (multipart upload, artifact download), aliases and reference resolution. Deployments have
 * their own routes (deployments.routes.ts) with the same conventions: camelCase JSON, `limit` /
 * `cursor` pages, ETag / If-Match on updates, one error body.
 */
export function registerManagementRoutes(app: FastifyInstance, { registry, uploadTimeoutMs }: ManagementDeps): void {
  registerSpaceRoutes(app, registry);
  registerModelRoutes(app, registry, uploadTimeoutMs);
}
