import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { SECURITY_SCHEMES } from '../auth/auth.schema.js';

export const TAGS = [
  { name: 'open-inference', description: 'Open Inference Protocol (KServe V2 REST), with the binary tensor and repository extensions' },
  { name: 'records', description: 'Records keyed by feature name, as the Flask + scikit-learn template serves them' },
  { name: 'mlflow', description: 'MLflow scoring protocol and the MLflow model-invocation endpoint' },
  { name: 'wml', description: 'Watson Machine Learning online scoring' },
  { name: 'pega', description: "Pega text-model containers: modelIdentifier and text as JSON or form fields" },
  { name: 'health', description: 'Liveness, readiness and service information' },
  { name: 'registry', description: 'Spaces, members, models, versions (multipart upload), artifacts, aliases and reference resolution' },
  { name: 'deployments', description: 'Online deployments: target versions, canary splits, endpoints, zero-downtime switches' },
  { name: 'runtime', description: 'Loaded sessions and the memory budget' },
  { name: 'auth', description: 'OAuth2 client credentials, token revocation and introspection, JWKS, console sign-in, clients and API keys' },
];

/** OpenAPI document built from the route schemas; interactive docs at /api/docs. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Plinth model server',
        version,
        description:
          'Serves ONNX models over the Open Inference Protocol (KServe V2), MLflow, Watson ML and records protocols. ' +
          'Every error answers `{"error": "...", "code": "..."}`.',
      },
      tags: TAGS,
      // Routes name these in their `security`; Swagger UI's Authorize button offers each.
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // Name shared schemas by their $id (components/schemas/Error) rather than def-0.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
}
