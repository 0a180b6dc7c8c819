import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config/config.js';
import { registerCsvParser } from './http/csv-body.parser.js';
import { serverRowLimit } from './core/row-limit.js';
import { clientErrorHandler, formatSchemaErrors, frameworkErrors, registerErrorHandler, ROUTER_MAX_PARAM_LENGTH } from './http/error-handler.js';
import { registerBodyParsers } from './http/json-body.parser.js';
import { lazyRequestLogger } from './http/lazy-request-logger.js';
import { registerBodyDeadline } from './http/body-deadline.js';
import { Lifecycle } from './http/lifecycle.js';
import { registerOpenApi } from './http/openapi.plugin.js';
import { InferenceService } from './inference/inference.service.js';
import { registerMlflowRoutes } from './protocols/mlflow/mlflow.routes.js';
import { registerInvocationRoutes } from './protocols/mlflow/invocation.routes.js';
import { registerV2Routes } from './protocols/open-inference/v2.routes.js';
import { registerRecordsRoutes } from './protocols/records/records.routes.js';
import { ErrorSchema } from './protocols/shared/common.schema.js';
import type { ProtocolDeps } from './protocols/shared/protocol-deps.js';
import { callContexts } from './protocols/shared/call-context.js';
import { registerWmlRoutes } from './protocols/wml/wml.routes.js';
import { registerPegaRoutes } from './protocols/pega/pega.routes.js';
import { registerDeploymentRoutes } from './protocols/management/deployments.routes.js';
import { registerJobRoutes } from './protocols/jobs/jobs.routes.js';
import { createJobServices, jobSettings } from './jobs/job-services.js';
import type { JobService } from './jobs/job.service.js';
import { createSqlJobRepositories } from './storage/sql/sql-job-repositories.js';
import { registerManagementRoutes } from './protocols/management/management.routes.js';
import { ModelManager } from './runtime/model-manager.js';
import { loadOnnxModel, type AutoVerdict } from './runtime/onnx/onnx-session.loader.js';
import { OrtThread } from './runtime/onnx/ort-thread.js';
import { ParkedSessions } from './runtime/onnx/parked-sessions.js';
import { resolveExecution, type ExecutionSettings } from './runtime/execution-settings.js';
import { ArtifactCache } from './registry/artifact-cache.js';
import { CanaryRouter } from './registry/canary-router.js';
import { DeploymentPool } from './registry/deployment-pool.js';
import { DeploymentService } from './registry/deployment.service.js';
import { ModelRegistryService } from './registry/model-registry.service.js';
import { DEFAULT_SPACE } from './registry/registry-names.js';
import { RegistryModelSource } from './registry/registry-model.source.js';
import { importModelFolder } from './registry/startup-import.js';
import type { ModelValidator } from './registry/version-validator.js';
import { SessionBudget } from './runtime/session-budget.js';
import { AccessControl } from './auth/access-control.js';
import { createAuthServices, type AuthServices } from './auth/auth-services.js';
import { registerAuthRoutes } from './auth/auth.routes.js';
import { registerAuditTrail } from './auth/audit.hook.js';
import { registerAuditRoutes } from './auth/audit.routes.js';
import { parseCorsOrigins, registerHardening, trustProxyOption } from './auth/http-hardening.js';
import { loggerRedaction } from './auth/log-redaction.js';
import { parseRateLimit } from './auth/rate-limit.js';
import { buildRoutePolicy, registerRoutePolicy } from './auth/route-policy.js';
import { PlinthError, printable } from './core/errors.js';
import { createSqlAuthRepositories } from './storage/sql/sql-auth-repositories.js';
import type { Database } from './storage/sql/schema.js';
import type { Kysely } from 'kysely';
import { openModelVersion, type RuntimeLoader } from './runtime/version-loader.js';
import { LocalFolderBlobStore } from './storage/blob/local-folder.blob-store.js';
import { ModelFolderSource } from './storage/model-folder.source.js';
import { openDatabase } from './storage/sql/database.js';
import { createSqlRepositories } from './storage/sql/sql-repositories.js';
import { PLINTH_VERSION } from './version.js';

export interface Plinth {
  app: FastifyInstance;
  inference: InferenceService;
  lifecycle: Lifecycle;
  registry: ModelRegistryService;
  deployments: DeploymentService;
  budget: SessionBudget;
  auth: AuthServices;
  /** Set on the first start when no PLINTH_ADMIN_PASSWORD was given: shown once, never stored. */
  generatedAdminPassword?: string;
}

interface Secured {
  registry: ModelRegistryService;
  deployments: DeploymentService;
  jobs: JobService;
  pool: DeploymentPool;
  inference: InferenceService;
}

/**
 * The security domain over the same database, its routes, and (auth on) the route policy's
 * hooks, which must be in place before any other route is added.
 */
async function wireSecurity(app: FastifyInstance, config: Config, db: Kysely<Database>, s: Secured) {
  const auth = createAuthServices(createSqlAuthRepositories(db), {
    issuer: config.authIssuer,
    audience: config.authAudience,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    sessionTtlSeconds: config.sessionTtlSeconds,
    signingKeyMaxAgeSeconds: config.signingKeyMaxAgeSeconds,
  });
  // Security headers and CORS first, so they are on every answer, errors and 404s included.
  await registerHardening(app, { corsOrigins: config.corsOrigins, hsts: config.hsts });
  const admin = await auth.users.ensureAdmin(config.adminPassword || undefined);
  // The administrator administers the default space, so the keys they create for it work there.
  if (admin.created) await s.registry.setMember(DEFAULT_SPACE, 'admin', 'admin');
  await registerAuthRoutes(app, auth, {
    rateLimits: {
      login: { attempts: parseRateLimit(config.loginRateLimit), failures: parseRateLimit(config.loginFailureRateLimit) },
      token: { attempts: parseRateLimit(config.tokenRateLimit), failures: parseRateLimit(config.tokenFailureRateLimit) },
    },
    trustedOrigins: parseCorsOrigins(config.corsOrigins),
  });
  registerAuditTrail(app, auth.audit);
  if (config.auth === 'off') {
    app.log.warn('PLINTH_AUTH=off: every route is open to anyone who can reach the server');
    return { auth, generatedAdminPassword: admin.generatedPassword };
  }
  const publicModels = new Set(config.publicModels.split(',').map((n) => n.trim()).filter(Boolean));
  const defaultSpace = await s.registry.getSpace(DEFAULT_SPACE);
  const access = new AccessControl(auth, {
    deployment: (nameOrId) => s.pool.accessOf(nameOrId),
    defaultSpaceId: defaultSpace.id,
    isModel: (name) => s.inference.serves(name),
    isPublicModel: (name) => publicModels.has('*') || publicModels.has(name),
  });
  const policy = buildRoutePolicy(access, {
    space: async (name) => {
      const space = await s.registry.getSpace(name);
      return { spaceId: space.id, notFound: () => new PlinthError('NOT_FOUND', `space '${printable(name)}' does not exist`) };
    },
    deploymentSpace: async (idOrName) => {
      const row = await s.deployments.findByIdOrName(idOrName);
      return { spaceId: row.spaceId, notFound: () => new PlinthError('NOT_FOUND', `deployment '${printable(idOrName)}' does not exist`) };
    },
    jobSpace: async (id) => {
      const row = await s.jobs.get(id);
      return { spaceId: row.spaceId, notFound: () => new PlinthError('NOT_FOUND', `job '${printable(id)}' does not exist`) };
    },
    soleModel: () => s.inference.soleModel(),
  });
  registerRoutePolicy(app, policy, access);
  return { auth, generatedAdminPassword: admin.generatedPassword };
}

/**
 * Loads an upload in a thread (a large graph takes seconds: never on the event loop), reports
 * what the session says, and parks the session for serving to take (the model loads once).
 */
function threadValidator(parked: ParkedSessions, intraOpThreads: number): ModelValidator {
  return async (modelFile, digest) => {
    const thread = await OrtThread.start(modelFile, { intraOpThreads, niceness: 0 });
    if (digest) parked.park(digest, thread, intraOpThreads);
    else await thread.dispose();
    return { signature: thread.signature, graphLabels: thread.graphLabels };
  };
}

/** Loads each version where its execution settings (or the auto rule) say, and logs the choice. */
function runtimeLoader(config: Config, parked: ParkedSessions, log: FastifyInstance['log']): RuntimeLoader {
  const defaults: ExecutionSettings = { execution: config.execution, instances: config.instances, maxQueueSize: config.maxQueueSize, queueTimeoutMs: config.queueTimeoutMs };
  const rule = { inlineMaxRunUs: config.inlineMaxRunUs, inlineMaxLoadMs: config.inlineMaxLoadMs };
  const verdicts = new Map<string, AutoVerdict>();
  return async (spec) => {
    const settings = resolveExecution(defaults, spec.execution);
    const { runtime, choice } = await loadOnnxModel(spec.file, spec.options, settings, rule, spec.label, { sessions: parked, verdicts, digest: spec.digest });
    log.info({ session: spec.label, ...choice }, `runs ${choice.execution === 'inline' ? 'on the main thread' : `in ${choice.instances} thread(s)`}`);
    return runtime;
  };
}

/** The one place concrete adapters are chosen and wired together. */
export async function buildApp(config: Config): Promise<Plinth> {
  const app = Fastify({
    // Secret headers, body fields and query parameters never reach the log (docs/security.md).
    logger: { level: config.logLevel, ...loggerRedaction() },
    // X-Forwarded-* only from a proxy the operator names: request.ip (rate limits, audit) and request.protocol (Secure cookie, HSTS).
    trustProxy: trustProxyOption(config.trustProxy),
    // Two log lines per request would cost more than the inference itself; opt in with PLINTH_ACCESS_LOG.
    logController: new LogController({ disableRequestLogging: !config.accessLog }),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: config.bodyLimit,
    // Deadlines (docs/operations.md): headers must arrive within the request timeout (Node's
    // headersTimeout), the body too (body-deadline.ts: 408; Node's requestTimeout is server-wide,
    // so it is the uploads' longer one), and the answer is due then too (the run's CallContext:
    // 504); idle keep-alive connections close after their own timeout. No socket inactivity
    // timeout (connectionTimeout): with one, Node let a body trickled a byte at a time run to its
    // 60 s headersTimeout whatever the setting, and a connection waiting on a long run would be
    // reset instead of getting its 504.
    requestTimeout: Math.max(config.requestTimeoutMs, config.uploadTimeoutMs),
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionTimeout: 0,
    // Node enforces these only when it sweeps connections (every 30 s by default): sweep often enough to matter.
    http: {
      headersTimeout: Math.min(config.requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(config.requestTimeoutMs / 4))),
    },
    requestIdHeader: 'x-request-id',
    routerOptions: { maxParamLength: ROUTER_MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Storage: SQLite and a blob folder under the data directory (PostgreSQL and S3 adapters plug in here).
  const db = await openDatabase(join(config.dataDir, 'plinth.db'));
  const repos = createSqlRepositories(db);
  const blobs = await LocalFolderBlobStore.open(join(config.dataDir, 'blobs'));
  const parked = new ParkedSessions();
  const loadRuntime = runtimeLoader(config, parked, app.log);
  const registry = new ModelRegistryService(repos, blobs, threadValidator(parked, config.intraOpThreads), {
    tmpRoot: join(config.dataDir, 'tmp'),
    log: app.log,
    limits: { maxUploadBytes: Math.round(config.maxUploadMb * 1024 * 1024) },
  });
  await registry.ensureDefaultSpace();

  // Serving: default-space models by name, deployments by name or id, under one memory budget.
  const cache = new ArtifactCache(registry, join(config.dataDir, 'cache'), {
    maxBytes: Math.round(config.cacheMaxMb * 1024 * 1024),
    inUse: (): string[] => [...models.modelFiles(), ...pool.modelFiles()],
    log: app.log,
  });
  registry.onBundleDropped((blobKey) => cache.evict(blobKey));
  // What no version points at any more (deleted while the server was down, or a crash's staging folders).
  await cache.sweep(await registry.liveBlobKeys());
  const folder = new ModelFolderSource(config.modelsDir);
  let following = false;
  const source = new RegistryModelSource(registry, cache, DEFAULT_SPACE, async () => {
    const { imported, refused } = await importModelFolder(registry, folder, app.log);
    // After start-up, a version dropped into the folder moves the deployments that follow `latest`.
    if (following) for (const { model } of imported) await deployments.modelChanged(model.id);
    return refused;
  });
  const budget = new SessionBudget(Math.round(config.sessionBudgetMb * 1024 * 1024), app.log);
  const models = new ModelManager(source, loadRuntime, { intraOpThreads: config.intraOpThreads }, app.log, budget);
  const router = new CanaryRouter();
  const pool = new DeploymentPool(cache, (spec, label) => openModelVersion(spec, loadRuntime, budget, label), router, config.intraOpThreads);
  const deployments = new DeploymentService(repos, registry, pool.load, { router, unload: (id) => pool.drop(id), updated: pool.updated });
  const batch = createJobServices(createSqlJobRepositories(db), { registry, deployments, cache, blobs, spaces: repos.spaces, log: app.log }, jobSettings(config));
  const inference = new InferenceService(models, pool, async (reference) => {
    const resolved = await registry.resolve(DEFAULT_SPACE, reference);
    return { name: resolved.model.name, version: String(resolved.version.version) };
  }, serverRowLimit(config.maxRows));
  const lifecycle = new Lifecycle();
  const deps: ProtocolDeps = { inference, lifecycle, version: PLINTH_VERSION, call: callContexts(config.requestTimeoutMs) };

  registerBodyParsers(app, { maxDepth: config.maxJsonDepth, maxRows: config.maxRows });
  registerCsvParser(app, config.maxRows);
  registerErrorHandler(app, config.bodyLimit);
  registerBodyDeadline(app, config.requestTimeoutMs);
  app.addSchema(ErrorSchema);
  await registerOpenApi(app, PLINTH_VERSION);
  const security = await wireSecurity(app, config, db, { registry, deployments, jobs: batch.jobs, pool, inference });
  // Synchronous hooks: they run on every request, and async ones cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Once draining, each connection closes after its response so shutdown need not wait out
  // keep-alive. A listener added then (ahead of Fastify's, which may answer synchronously) rather
  // than an onSend hook, which every response would pay.
  lifecycle.onDrain(() => app.server.prependListener('request', (_request, response) => response.setHeader('connection', 'close')));
  registerV2Routes(app, deps);
  registerRecordsRoutes(app, deps);
  registerMlflowRoutes(app, deps);
  registerInvocationRoutes(app, deps);
  registerWmlRoutes(app, deps);
  await registerPegaRoutes(app, deps);
  registerDeploymentRoutes(app, { deployments, budget });
  registerAuditRoutes(app, security.auth.audit);
  registerJobRoutes(app, { assets: batch.assets, jobs: batch.jobs, schedules: batch.schedules, spaces: batch.spaces, uploadTimeoutMs: config.uploadTimeoutMs });
  registerManagementRoutes(app, { registry, uploadTimeoutMs: config.uploadTimeoutMs, ...deps });
  app.addHook('onClose', async () => {
    await batch.stop();
    await pool.close();
    await models.close();
    await parked.close();
    await db.destroy();
  });

  await models.loadAll();
  await deployments.restoreAll();
  await batch.start();
  // From now on every registry change reaches serving: new versions load, moved aliases switch.
  following = true;
  registry.onChange(async ({ space, model }) => {
    if (space.name === DEFAULT_SPACE) await models.refresh(model.name);
    await deployments.modelChanged(model.id);
  });
  lifecycle.markLoaded();
  return { app, inference, lifecycle, registry, deployments, budget, ...security };
}
