import { Type } from '@sinclair/typebox';

const Reference = Type.String({
  minLength: 1,
  description: "A model reference: 'iris' (latest), 'iris@production', 'models:/iris/3', 'models:/iris@staging'",
  examples: ['models:/iris@production'],
});

const Canary = Type.Object(
  {
    reference: Reference,
    percent: Type.Integer({ minimum: 1, maximum: 99, description: 'Share of requests the canary version takes' }),
  },
  { additionalProperties: false },
);

const Target = Type.Object(
  {
    model: Reference,
    canary: Type.Optional(Canary),
  },
  { additionalProperties: false },
);

const Runtime = Type.Object(
  {
    intraOpThreads: Type.Optional(Type.Integer({ minimum: 0, maximum: 256, description: 'ONNX Runtime intra-op threads; 0 = one per core' })),
    maxBatchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536, description: 'Requests holding more rows are refused with 413' })),
    execution: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('inline'), Type.Literal('threads')], {
        description: 'auto (default): measured at load, small fast models run on the main thread, others in threads; inline: the main thread; threads: an instance group',
      }),
    ),
    instances: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Sessions of the instance group, each in its own thread' })),
    maxQueueSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, description: 'Requests that may wait for a free instance; past it 429' })),
    queueTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600000, description: 'Longest wait for a free instance; past it 503' })),
  },
  { additionalProperties: false },
);

const AuthMode = Type.Union([Type.Literal('public'), Type.Literal('token')], {
  description: "'token' (default) needs a bearer token once authentication is on; 'public' never does",
});
const Status = Type.Union([Type.Literal('initializing'), Type.Literal('ready'), Type.Literal('failed')]);

export const CreateDeploymentBody = Type.Object(
  {
    name: Type.String({ minLength: 1, examples: ['iris-prod'] }),
    space: Type.Optional(Type.String({ minLength: 1, description: "Space name; 'default' when omitted" })),
    target: Target,
    authMode: Type.Optional(AuthMode),
    runtime: Type.Optional(Runtime),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    kind: Type.Optional(Type.Union([Type.Literal('online'), Type.Literal('batch')], { description: "'online' (default) serves requests; 'batch' scores jobs (POST /api/v1/jobs) and loads no session" })),
  },
  {
    additionalProperties: false,
    examples: [
      { name: 'iris-prod', target: { model: 'models:/iris@production' }, authMode: 'public', runtime: { intraOpThreads: 1, maxBatchSize: 1000 } },
      { name: 'iris-canary', target: { model: 'iris/1', canary: { reference: 'models:/iris/2', percent: 10 } } },
    ],
  },
);

export const UpdateDeploymentBody = Type.Object(
  {
    target: Type.Optional(Target),
    canary: Type.Optional(Type.Union([Canary, Type.Null()], { description: 'Sets the canary split (or removes it with null), keeping the primary' })),
    authMode: Type.Optional(AuthMode),
    runtime: Type.Optional(Runtime),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  {
    additionalProperties: false,
    examples: [{ target: { model: 'models:/iris/2' } }, { canary: { reference: 'models:/iris/3', percent: 20 } }, { canary: null }],
  },
);

const Traffic = Type.Object({
  total: Type.Integer(),
  primary: Type.Object({ version: Type.Integer(), count: Type.Integer() }),
  canary: Type.Optional(Type.Object({ version: Type.Integer(), percent: Type.Integer(), count: Type.Integer() })),
  byVersion: Type.Record(Type.String(), Type.Integer()),
});

const Endpoint = Type.Object({
  protocol: Type.String(),
  method: Type.String(),
  url: Type.String(),
});

export const DeploymentResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    space: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    kind: Type.String(),
    model: Type.String(),
    target: Target,
    authMode: AuthMode,
    runtime: Runtime,
    status: Status,
    reason: Type.Union([Type.String(), Type.Null()]),
    traffic: Type.Optional(Traffic),
    endpoints: Type.Array(Endpoint),
    revision: Type.Integer(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  {
    examples: [
      {
        id: '0b6c2f7e-5d0e-4a51-9d43-2f1f5a7c9e10',
        name: 'iris-prod',
        space: 'default',
        description: null,
        kind: 'online',
        model: 'iris',
        target: { model: 'models:/iris@production' },
        authMode: 'public',
        runtime: { maxBatchSize: 1000 },
        status: 'ready',
        reason: null,
        traffic: { total: 42, primary: { version: 2, count: 42 }, byVersion: { '2': 42 } },
        endpoints: [
          { protocol: 'watson-ml', method: 'POST', url: '/ml/v4/deployments/0b6c2f7e-5d0e-4a51-9d43-2f1f5a7c9e10/predictions' },
          { protocol: 'open-inference-v2', method: 'POST', url: '/v2/models/iris-prod/infer' },
          { protocol: 'records', method: 'POST', url: '/models/iris-prod/predict' },
          { protocol: 'mlflow', method: 'POST', url: '/models/iris-prod/invocations' },
        ],
        revision: 1,
        createdAt: '2026-11-22T10:00:00.000Z',
        updatedAt: '2026-11-22T10:00:00.000Z',
      },
    ],
  },
);

export const DeploymentList = Type.Object({
  items: Type.Array(DeploymentResponse),
  nextCursor: Type.Optional(Type.String()),
});

export const DeploymentListQuery = Type.Object(
  {
    space: Type.Optional(Type.String({ minLength: 1, description: 'Only this space (every space when omitted)' })),
    name: Type.Optional(Type.String({ description: 'Name prefix' })),
    model: Type.Optional(Type.String({ description: 'Only deployments of this model' })),
    status: Type.Optional(Status),
    limit: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$', description: 'Page size, 1..1000 (default 100)' })),
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const DeploymentParams = Type.Object({
  id: Type.String({ minLength: 1, description: 'Deployment id (or its name in the default space)' }),
});

export const SessionStats = Type.Object(
  {
    budgetBytes: Type.Integer({ description: '0 = no limit' }),
    usedBytes: Type.Integer(),
    loadedSessions: Type.Integer(),
    evictions: Type.Integer(),
    reloads: Type.Integer(),
    sessions: Type.Array(
      Type.Object({
        session: Type.String(),
        bytes: Type.Integer(),
        execution: Type.Optional(Type.Union([Type.Literal('inline'), Type.Literal('threads')])),
        instances: Type.Optional(Type.Integer()),
        reason: Type.Optional(Type.String({ description: 'explicit, or what the auto rule measured at load' })),
        busy: Type.Optional(Type.Integer()),
        queued: Type.Optional(Type.Integer()),
        runs: Type.Optional(Type.Integer()),
        rejectedFull: Type.Optional(Type.Integer({ description: 'refused with 429: the queue was full' })),
        rejectedTimeout: Type.Optional(Type.Integer({ description: 'refused with 503: waited past the queue timeout' })),
        deadlineExceeded: Type.Optional(Type.Integer({ description: 'answered 504: the request deadline passed' })),
        abandoned: Type.Optional(Type.Integer({ description: 'dropped from the queue: the caller disconnected' })),
      }),
    ),
  },
  {
    examples: [
      {
        budgetBytes: 4294967296,
        usedBytes: 1215000,
        loadedSessions: 2,
        evictions: 0,
        reloads: 0,
        sessions: [
          { session: 'model breast-cancer 1', bytes: 148195, execution: 'inline', instances: 1, reason: 'auto: load 12 ms, one-row run 41 us' },
          { session: 'model slow 1', bytes: 1066638, execution: 'threads', instances: 2, reason: 'auto: load 25 ms, one-row run 3400 us', busy: 2, queued: 5, runs: 812, rejectedFull: 3, rejectedTimeout: 0, deadlineExceeded: 1, abandoned: 0 },
        ],
      },
    ],
  },
);
