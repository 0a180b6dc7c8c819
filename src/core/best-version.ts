import { PlinthError, printable } from './errors.js';
import { lowerIsBetter } from './manifest.js';

/** What ranking needs from a version: its metrics and the metric it names as primary. */
export interface Ranked {
  metrics: Record<string, number>;
  primaryMetric?: string;
}

export interface Best<T> {
  item: T;
  metric: string;
  lowerIsBetter: boolean;
}

/**
 * `best`: the version with the best value of the newest version's primary metric, lower being
 * better for rmse, mse, mae, loss, log_loss, error; versions without that metric are not
 * compared; ties go to the newer version. Undefined when the newest version names no metric.
 * One rule for the models folder (InferenceService) and the registry (computed aliases).
 */
export function pickBest<T>(oldestFirst: readonly T[], rank: (item: T) => Ranked): Best<T> | undefined {
  const newest = oldestFirst[oldestFirst.length - 1];
  const metric = newest === undefined ? undefined : rank(newest).primaryMetric;
  if (!metric) return undefined;
  const scored = oldestFirst.filter((v) => typeof rank(v).metrics[metric] === 'number');
  if (scored.length === 0) return undefined;
  const lower = lowerIsBetter(metric);
  const score = (v: T) => (lower ? -1 : 1) * rank(v).metrics[metric]!;
  const item = scored.reduce((a, b) => (score(b) >= score(a) ? b : a));
  return { item, metric, lowerIsBetter: lower };
}

export const noBestVersion = (model: string) =>
  new PlinthError(
    'CONFLICT',
    `model '${printable(model)}' has no primary metric on its newest version, so 'best' is undefined: add metrics and primary_metric to model.yaml`,
  );
