import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config/config.js';
import { registerCsvParser } from './http/csv-body.parser.js';
import { formatSchemaErrors, frameworkErrors, registerErrorHandler, ROUTER_MAX_PARAM_LENGTH } from './http/error-handler.js';
import { registerBodyParsers } from './http/json-body.parser.js';
import { Lifecycle } from './http/lifecycle.js';
import { registerOpenApi } from './http/openapi.plugin.js';
import { InferenceService } from './inference/inference.service.js';
import { registerMlflowRoutes } from './protocols/mlflow/mlflow.routes.js';
import { registerInvocationRoutes } from './protocols/mlflow/invocation.routes.js';
import { registerV2Routes } from './protocols/open-inference/v2.routes.js';
import { registerRecordsRoutes } from './protocols/records/records.routes.js';
import { ErrorSchema } from './protocols/shared/common.schema.js';
import type { ProtocolDeps } from './protocols/shared/protocol-deps.js';
import { registerWmlRoutes } from './protocols/wml/wml.routes.js';
import { ModelManager } from './runtime/model-manager.js';
import { OnnxRuntime } from './runtime/onnx/onnx.runtime.js';
import { ModelFolderSource } from './storage/model-folder.source.js';
import { PLINTH_VERSION } from './version.js';

export interface Plinth {
  app: FastifyInstance;
  inference: InferenceService;
  lifecycle: Lifecycle;
}

/** The one place concrete adapters are chosen and wired together. */
export async function buildApp(config: Config): Promise<Plinth> {
  const app = Fastify({
    logger: { level: config.logLevel },
    // Two log lines per request would cost more than the inference itself; opt in with PLINTH_ACCESS_LOG.
    logController: new LogController({ disableRequestLogging: !config.accessLog }),
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    // Node enforces requestTimeout only when it sweeps connections (every 30 s by default): sweep often enough to matter.
    http: { connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(config.requestTimeoutMs / 4))) },
    requestIdHeader: 'x-request-id',
    routerOptions: { maxParamLength: ROUTER_MAX_PARAM_LENGTH },
    frameworkErrors,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const source = new ModelFolderSource(config.modelsDir);
  const models = new ModelManager(source, (bytes, options) => OnnxRuntime.load(bytes, options), { intraOpThreads: config.intraOpThreads }, app.log);
  const inference = new InferenceService(models);
  const lifecycle = new Lifecycle();
  const deps: ProtocolDeps = { inference, lifecycle, version: PLINTH_VERSION };

  registerBodyParsers(app, config.maxJsonDepth);
  registerCsvParser(app);
  registerErrorHandler(app, config.bodyLimit);
  app.addSchema(ErrorSchema);
  await registerOpenApi(app, PLINTH_VERSION);
  // Synchronous hooks: they run on every request, and async ones cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    // While draining, close each connection after its response so shutdown need not wait out keep-alive.
    if (lifecycle.isDraining) reply.header('connection', 'close');
    done(null, payload);
  });
  registerV2Routes(app, deps);
  registerRecordsRoutes(app, deps);
  registerMlflowRoutes(app, deps);
  registerInvocationRoutes(app, deps);
  registerWmlRoutes(app, deps);
  app.addHook('onClose', async () => models.close());

  await models.loadAll();
  lifecycle.markLoaded();
  return { app, inference, lifecycle };
}
