import type { Ranked } from '../core/best-version.js';
import type { ModelRepository, ModelVersionRow } from '../storage/ports.js';

/** Every ready version of the model, oldest first (paged through; models have few versions). */
export async function readyVersions(models: ModelRepository, modelId: string): Promise<ModelVersionRow[]> {
  const all: ModelVersionRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await models.listVersions({ modelId, status: 'ready', limit: 1000, cursor });
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** The metric a version ranks by: model.yaml's primary_metric, else its first metric (as describeModel). */
export function primaryMetricOf(version: ModelVersionRow): string | undefined {
  const manifest = version.manifest as { primary_metric?: unknown } | null;
  if (manifest && typeof manifest.primary_metric === 'string') return manifest.primary_metric;
  return Object.keys(version.metrics)[0];
}

/** How a stored version ranks for `best` (core/best-version.ts holds the rule). */
export const rankOf = (version: ModelVersionRow): Ranked => ({ metrics: version.metrics, primaryMetric: primaryMetricOf(version) });
