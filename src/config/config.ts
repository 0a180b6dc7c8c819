import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_INTAKE_LIMITS } from '../registry/artifact-policy.js';

/** `off`, or `<max>/<window>` with the window in ms, s, m or h. */
export const RATE_LIMIT_PATTERN = '^(off|[1-9][0-9]{0,5}/[1-9][0-9]{0,8}(ms|s|m|h))$';
/** Comma-separated origins: scheme, host and optional port, nothing after (no path, no '*'). */
const ORIGIN = 'https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?';
export const CORS_ORIGINS_PATTERN = `^$|^${ORIGIN}(\\s*,\\s*${ORIGIN})*$`;

/** Everything an operator can set, with defaults; validated once at start-up. */
export const ConfigSchema = Type.Object({
  host: Type.String({ default: '0.0.0.0' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  modelsDir: Type.String({ default: 'examples/models' }),
  /** The registry's SQLite file, blob store, artifact cache and upload temp files live here. */
  dataDir: Type.String({ default: '.data' }),
  /**
   * Memory budget for loaded sessions, in MiB of model files: past it, the least recently used
   * model or deployment session is unloaded (and reloaded on its next request). 0 = no limit;
   * fractions are allowed (0.5 = 512 KiB).
   */
  sessionBudgetMb: Type.Number({ minimum: 0, default: 4096 }),
  /** ONNX Runtime intra-op threads per session; 0 = ORT's choice (one per core). */
  intraOpThreads: Type.Integer({ minimum: 0, maximum: 256, default: 1 }),
  /**
   * Where models run (docs/operations.md, "Instance groups"): `auto` loads each model in a thread,
   * warms it up there and moves it to the main thread only if it loaded within inlineMaxLoadMs and
   * a one-row run took at most inlineMaxRunUs; `inline` runs every model on the main thread;
   * `threads` gives every model an instance group. A manifest's instance_group or a deployment's
   * runtime settings override it per model.
   */
  execution: Type.Union([Type.Literal('auto'), Type.Literal('inline'), Type.Literal('threads')], { default: 'auto' }),
  /** Sessions (threads) of an instance group. */
  instances: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  /** Requests that may wait for a busy instance group; one more is refused with 429. */
  maxQueueSize: Type.Integer({ minimum: 0, maximum: 100_000, default: 64 }),
  /** Longest a request waits for a free instance before 503. */
  queueTimeoutMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 10_000 }),
  /** The auto rule: a model whose one-row warm-up run takes longer than this (µs) runs in threads. */
  inlineMaxRunUs: Type.Integer({ minimum: 0, default: 1000 }),
  /** The auto rule: a model that took longer than this (ms) to load runs in threads (loading it on the main thread would block as long). */
  inlineMaxLoadMs: Type.Integer({ minimum: 0, default: 500 }),
  /** Largest request body in bytes (binary tensors included). */
  bodyLimit: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
  /**
   * Largest model upload (the .onnx file or the archive as sent), in MiB; fractions are allowed.
   * A larger upload is refused with 413, before its body is read when it declares its length.
   */
  maxUploadMb: Type.Number({ exclusiveMinimum: 0, default: DEFAULT_INTAKE_LIMITS.maxUploadBytes / (1024 * 1024) }),
  /** Deepest JSON nesting accepted. */
  maxJsonDepth: Type.Integer({ minimum: 4, maximum: 1000, default: 64 }),
  /**
   * Most rows (records, dataframe rows, CSV lines, a tensor's first dimension) one prediction
   * request may hold: a server-wide ceiling checked while the body is decoded, before the rows
   * are built (413 past it). A model's runtime.max_rows or a deployment's maxBatchSize can only
   * lower it. More rows belong in a batch job.
   */
  maxRows: Type.Integer({ minimum: 1, default: 100_000 }),
  /**
   * The deadline of every request, from its first byte: a body still arriving past it is cut
   * (408), and a prediction still queued or running past it answers 504 (its run is abandoned).
   * Uploads have their own, longer deadline.
   */
  requestTimeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
  /**
   * How long an idle keep-alive connection stays open between requests. Longer than the idle
   * timeout of the load balancer in front (AWS ALB: 60 s), so the balancer, not Plinth, closes
   * idle connections and never sends a request into one Plinth is closing.
   */
  keepAliveTimeoutMs: Type.Integer({ minimum: 100, default: 72_000 }),
  /**
   * The deadline of an upload (model versions, data assets) instead of the request timeout: the
   * socket may sit idle that long while a large upload is unpacked and validated, and the route's
   * own handler deadline is this long. A client cut off meanwhile leaves nothing registered.
   */
  uploadTimeoutMs: Type.Integer({ minimum: 1000, default: 900_000 }),
  /** On SIGTERM, how long in-flight requests may take before the process exits anyway. */
  shutdownGraceMs: Type.Integer({ minimum: 0, default: 10_000 }),
  /**
   * On SIGTERM, how long to keep accepting requests while readiness already answers 503, so a
   * load balancer stops routing here before the listener closes (Kubernetes: a few seconds).
   */
  drainDelayMs: Type.Integer({ minimum: 0, default: 0 }),
  /**
   * `on`: every route but health, docs and the OAuth endpoints needs a credential, except public
   * deployments and the models in publicModels. `off` (development only) opens everything.
   */
  auth: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  /** Default-space models served without a credential: comma-separated names, or `*` for all. */
  publicModels: Type.String({ default: '' }),
  /** The first start's admin password (12+ characters); a random one is printed once when unset. */
  adminPassword: Type.String({ default: '' }),
  /** `iss` and `aud` of access tokens. */
  authIssuer: Type.String({ minLength: 1, default: 'plinth' }),
  authAudience: Type.String({ minLength: 1, default: 'plinth' }),
  accessTokenTtlSeconds: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
  sessionTtlSeconds: Type.Integer({ minimum: 60, default: 28_800 }),
  /** A signing key older than this is replaced at the next token issue (old keys verify until their tokens expire). */
  signingKeyMaxAgeSeconds: Type.Integer({ minimum: 3600, default: 2_592_000 }),
  /** Batch jobs scored at the same time (each in its own worker thread). */
  jobConcurrency: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  /** Rows per chunk of a batch job: the unit of scoring and of committed (resumable) progress. */
  jobChunkRows: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000 }),
  /**
   * Size bound of the artifact cache (<data>/cache, the local copies models load from), in MiB;
   * past it the least recently used copies that no loaded session or running job uses are
   * removed (and copied again when next needed). 0 = no bound.
   */
  cacheMaxMb: Type.Number({ minimum: 0, default: 10_240 }),
  /** Largest data asset upload, in MiB; fractions are allowed. 413 past it. */
  maxAssetMb: Type.Number({ exclusiveMinimum: 0, default: 1024 }),
  /** Largest row of a job's input, in KiB: a longer row is a row error, never held in memory. */
  jobMaxRowKb: Type.Integer({ minimum: 1, maximum: 1024 * 1024, default: 1024 }),
  /** Default share (0..1) of a job's rows that may fail validation before the job fails. */
  jobMaxErrorRate: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
  /** Attempts per job before it fails (1 = no retry). */
  jobMaxAttempts: Type.Integer({ minimum: 1, maximum: 20, default: 3 }),
  /** Wait before a job's first retry, in ms; doubled for each further one. */
  jobRetryBackoffMs: Type.Integer({ minimum: 0, default: 2000 }),
  /** ONNX Runtime intra-op threads of a batch job's session. */
  jobThreads: Type.Integer({ minimum: 0, maximum: 256, default: 1 }),
  /** Nice value of scoring threads (0-19, Linux): online requests keep the CPU first. */
  jobNice: Type.Integer({ minimum: 0, maximum: 19, default: 10 }),
  /**
   * Rate limits of POST /login and POST /oauth/token: `<max>/<window>` (window in ms, s, m or h,
   * e.g. `10/60s`), counted separately per remote address and per user name (login) or client
   * (token endpoint; the API key's public prefix for the API-key grant); `off` disables the limit.
   */
  loginRateLimit: Type.String({ pattern: RATE_LIMIT_PATTERN, default: '10/60s' }),
  tokenRateLimit: Type.String({ pattern: RATE_LIMIT_PATTERN, default: '60/60s' }),
  /**
   * Failed attempts per account on top of the limits above (same syntax): a wrong password for a
   * user name, a refused token request for a client (or API key). Past it every attempt for that
   * account is refused, the right credential too, until the window ends; successes never lower it.
   */
  loginFailureRateLimit: Type.String({ pattern: RATE_LIMIT_PATTERN, default: '5/60s' }),
  tokenFailureRateLimit: Type.String({ pattern: RATE_LIMIT_PATTERN, default: '10/60s' }),
  /** Browser origins allowed to call the API cross-origin: comma-separated exact origins (`https://app.example.com`); empty = CORS off. */
  corsOrigins: Type.String({ pattern: CORS_ORIGINS_PATTERN, default: '' }),
  /**
   * Trust X-Forwarded-For / -Proto / -Host from a reverse proxy: `true` (any peer), a hop count, or
   * comma-separated proxy addresses or CIDRs. Empty (default): the headers are ignored.
   */
  trustProxy: Type.String({ default: '' }),
  /** Strict-Transport-Security: `auto` on requests that came over TLS, `on` on every response, `off` never. */
  hsts: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], { default: 'auto' }),
  /** Log every request and response (Fastify's access log, at info level). */
  accessLog: Type.Boolean({ default: false }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
});
export type Config = Static<typeof ConfigSchema>;

const ENV: Record<keyof Config, string> = {
  host: 'PLINTH_HOST',
  port: 'PLINTH_PORT',
  modelsDir: 'PLINTH_MODELS',
  dataDir: 'PLINTH_DATA_DIR',
  sessionBudgetMb: 'PLINTH_SESSION_BUDGET_MB',
  intraOpThreads: 'PLINTH_INTRA_OP_THREADS',
  execution: 'PLINTH_EXECUTION',
  instances: 'PLINTH_INSTANCES',
  maxQueueSize: 'PLINTH_MAX_QUEUE_SIZE',
  queueTimeoutMs: 'PLINTH_QUEUE_TIMEOUT_MS',
  inlineMaxRunUs: 'PLINTH_INLINE_MAX_RUN_US',
  inlineMaxLoadMs: 'PLINTH_INLINE_MAX_LOAD_MS',
  bodyLimit: 'PLINTH_BODY_LIMIT',
  maxUploadMb: 'PLINTH_MAX_UPLOAD_MB',
  maxJsonDepth: 'PLINTH_MAX_JSON_DEPTH',
  maxRows: 'PLINTH_MAX_ROWS',
  requestTimeoutMs: 'PLINTH_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'PLINTH_KEEP_ALIVE_TIMEOUT_MS',
  uploadTimeoutMs: 'PLINTH_UPLOAD_TIMEOUT_MS',
  shutdownGraceMs: 'PLINTH_SHUTDOWN_GRACE_MS',
  drainDelayMs: 'PLINTH_DRAIN_DELAY_MS',
  auth: 'PLINTH_AUTH',
  publicModels: 'PLINTH_PUBLIC_MODELS',
  adminPassword: 'PLINTH_ADMIN_PASSWORD',
  authIssuer: 'PLINTH_AUTH_ISSUER',
  authAudience: 'PLINTH_AUTH_AUDIENCE',
  accessTokenTtlSeconds: 'PLINTH_ACCESS_TOKEN_TTL',
  sessionTtlSeconds: 'PLINTH_SESSION_TTL',
  signingKeyMaxAgeSeconds: 'PLINTH_SIGNING_KEY_MAX_AGE',
  jobConcurrency: 'PLINTH_JOB_CONCURRENCY',
  jobChunkRows: 'PLINTH_JOB_CHUNK_ROWS',
  cacheMaxMb: 'PLINTH_CACHE_MAX_MB',
  maxAssetMb: 'PLINTH_MAX_ASSET_MB',
  jobMaxRowKb: 'PLINTH_JOB_MAX_ROW_KB',
  jobMaxErrorRate: 'PLINTH_JOB_MAX_ERROR_RATE',
  jobMaxAttempts: 'PLINTH_JOB_MAX_ATTEMPTS',
  jobRetryBackoffMs: 'PLINTH_JOB_RETRY_BACKOFF_MS',
  jobThreads: 'PLINTH_JOB_THREADS',
  jobNice: 'PLINTH_JOB_NICE',
  loginRateLimit: 'PLINTH_LOGIN_RATE_LIMIT',
  tokenRateLimit: 'PLINTH_TOKEN_RATE_LIMIT',
  loginFailureRateLimit: 'PLINTH_LOGIN_FAILURE_RATE_LIMIT',
  tokenFailureRateLimit: 'PLINTH_TOKEN_FAILURE_RATE_LIMIT',
  corsOrigins: 'PLINTH_CORS_ORIGINS',
  trustProxy: 'PLINTH_TRUST_PROXY',
  hsts: 'PLINTH_HSTS',
  accessLog: 'PLINTH_ACCESS_LOG',
  logLevel: 'PLINTH_LOG_LEVEL',
};

export const configEnvNames = ENV;

/** Defaults, then PLINTH_* environment variables, then explicit overrides (CLI flags). */
export function loadConfig(overrides: Partial<Record<keyof Config, unknown>> = {}, env = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  for (const [key, v] of Object.entries(overrides)) if (v !== undefined) raw[key] = v;
  const fail = (key: keyof Config, message: string): never => {
    throw new Error(`invalid configuration ${key} (${ENV[key]}): ${message}, got ${JSON.stringify(raw[key])}`);
  };
  for (const [key, value] of Object.entries(raw) as [keyof Config, unknown][]) {
    // Value.Convert would round "80.5" or read "1e3" as 1; integers must be written as integers.
    if (ConfigSchema.properties[key]?.type === 'integer' && typeof value === 'string' && !/^-?\d+$/.test(value.trim())) {
      fail(key, 'expected an integer');
    }
  }
  const candidate = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first) fail(first.path.slice(1) as keyof Config, first.message);
  return candidate as Config;
}
