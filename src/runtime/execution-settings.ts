/**
 * Where a model version runs and how much waiting it accepts: from the deployment's runtime
 * settings, else the manifest's `instance_group`, else the server's defaults (PLINTH_EXECUTION,
 * PLINTH_INSTANCES, PLINTH_MAX_QUEUE_SIZE, PLINTH_QUEUE_TIMEOUT_MS).
 */
export interface ExecutionSettings {
  /** `auto` (measured at load), `inline` (the main thread) or `threads` (an instance group). */
  execution: 'auto' | 'inline' | 'threads';
  /** Sessions of an instance group, each in its own thread. */
  instances: number;
  maxQueueSize: number;
  queueTimeoutMs: number;
}

export type ExecutionOverrides = Partial<ExecutionSettings>;

/** The defaults with each override applied in turn: least specific first, so the last one given wins. */
export function resolveExecution(defaults: ExecutionSettings, overrides: readonly (ExecutionOverrides | undefined)[]): ExecutionSettings {
  const settings = { ...defaults };
  for (const o of overrides) {
    if (!o) continue;
    if (o.execution !== undefined) settings.execution = o.execution;
    if (o.instances !== undefined) settings.instances = o.instances;
    if (o.maxQueueSize !== undefined) settings.maxQueueSize = o.maxQueueSize;
    if (o.queueTimeoutMs !== undefined) settings.queueTimeoutMs = o.queueTimeoutMs;
  }
  return settings;
}
