import type { SpaceNames } from '../../jobs/space-names.js';
import type { JobRow } from '../../storage/job-ports.js';

const modelOf = (pin: string | null): string | null => {
  if (!pin) return null;
  try {
    return (JSON.parse(pin) as { uri: string }).uri;
  } catch {
    return null;
  }
};

/** A job as the API shows it. */
export async function jobView(job: JobRow, spaces: SpaceNames) {
  const input = job.spec.input;
  const space = await spaces.of(job.spaceId);
  return {
    id: job.id,
    status: job.status,
    space,
    deployment: { id: job.deploymentId, name: job.deploymentName },
    scheduleId: job.scheduleId,
    model: modelOf(job.modelVersionId),
    input: input.type === 'asset' ? { type: 'asset', asset: { id: input.assetId, name: input.assetName } } : { type: 'inline', fields: input.fields },
    output: {
      name: job.spec.output.name,
      format: job.spec.output.format,
      assetId: job.status === 'completed' ? job.outputAssetId : null,
      url: job.status === 'completed' && job.outputAssetId ? `/api/v1/assets/${job.outputAssetId}/content?space=${encodeURIComponent(space)}` : null,
    },
    carry: job.spec.carry,
    probabilities: job.spec.probabilities,
    explanations: job.spec.explanations ?? false,
    chunkRows: job.spec.chunkRows,
    maxErrorRate: job.spec.maxErrorRate,
    rows: { total: job.rowsTotal, done: job.rowsRead, scored: job.rowsScored, failed: job.rowsFailed },
    rowsPerSecond: job.rowsPerSecond,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    error: job.error,
    retryAt: job.status === 'queued' ? job.retryAt : null,
    errorsUrl: job.rowsFailed > 0 && (job.status === 'completed' || job.status === 'failed') ? `/api/v1/jobs/${job.id}/errors` : null,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}
