import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { invalidInput, PlinthError } from '../../core/errors.js';
import type { JobService, SubmitJobInput } from '../../jobs/job.service.js';
import type { SpaceNames } from '../../jobs/space-names.js';
import type { JobRow } from '../../storage/job-ports.js';
import { errorResponses } from '../shared/common.schema.js';

/** Watson ML v4 `deployment_jobs`: the same jobs in Watson ML's shapes. */

const AssetRef = Type.Object(
  {
    type: Type.Optional(Type.String()),
    location: Type.Optional(Type.Object({ href: Type.Optional(Type.String()), id: Type.Optional(Type.String()), name: Type.Optional(Type.String()) }, { additionalProperties: true })),
    connection: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
);

const WmlJobBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    space_id: Type.Optional(Type.String()),
    deployment: Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
    scoring: Type.Object(
      {
        input_data: Type.Optional(Type.Array(Type.Object({ fields: Type.Optional(Type.Array(Type.String())), values: Type.Array(Type.Array(Type.Unknown())) }))),
        input_data_references: Type.Optional(Type.Array(AssetRef, { minItems: 1, maxItems: 1 })),
        output_data_reference: Type.Optional(AssetRef),
      },
      { additionalProperties: true },
    ),
  },
  {
    additionalProperties: true,
    examples: [
      { deployment: { id: 'cancer-batch' }, scoring: { input_data_references: [{ type: 'data_asset', location: { href: '/v2/assets/patients.csv' } }], output_data_reference: { type: 'data_asset', location: { name: 'scored.csv' } } } },
    ],
  },
);

const WmlJob = Type.Object({ metadata: Type.Record(Type.String(), Type.Unknown()), entity: Type.Record(Type.String(), Type.Unknown()) });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Query = Type.Object(
  {
    version: Type.Optional(Type.String()),
    space_id: Type.Optional(Type.String()),
    hard_delete: Type.Optional(Type.String()),
    limit: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$' })),
    start: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** The asset a Watson ML data reference names: location.id, location.name, or the last segment of location.href. */
function assetOf(ref: { location?: { href?: string; id?: string; name?: string } }, what: string): string {
  const loc = ref.location ?? {};
  if (loc.id) return loc.id;
  if (loc.href) {
    const path = loc.href.split('?')[0]!.replace(/\/+$/, '');
    const last = path.slice(path.lastIndexOf('/') + 1);
    if (last) return decodeURIComponent(last);
  }
  if (loc.name) return loc.name;
  throw invalidInput(`${what}.location must hold id, name or href (/v2/assets/{id})`);
}

const INLINE_RESULT_ROWS = 10_000;

export function registerWmlJobRoutes(base: FastifyInstance, jobs: JobService, spaces: SpaceNames): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['wml'];

  const view = async (job: JobRow) => {
    const spec = job.spec;
    const status: Record<string, unknown> = { state: job.status };
    if (job.startedAt) status.running_at = job.startedAt;
    if (job.finishedAt) status.completed_at = job.finishedAt;
    if (job.error) status.failure = { errors: [{ code: job.status === 'failed' ? 'job_failed' : 'job_error', message: job.error }] };
    const scoring: Record<string, unknown> = { status };
    if (spec.input.type === 'asset') scoring.input_data_references = [{ type: 'data_asset', location: { href: `/v2/assets/${spec.input.assetId}`, name: spec.input.assetName } }];
    if (!spec.wml?.inlineResults) scoring.output_data_reference = { type: 'data_asset', location: { name: spec.output.name, ...(job.status === 'completed' && job.outputAssetId && { href: `/v2/assets/${job.outputAssetId}` }) } };
    if (spec.wml?.inlineResults && job.status === 'completed') scoring.predictions = await inlinePredictions(job);
    return {
      metadata: { id: job.id, name: spec.wml?.name ?? job.id, created_at: job.createdAt, space_id: await spaces.of(job.spaceId) },
      entity: { deployment: { id: job.deploymentId }, scoring },
    };
  };

  /** An inline job's results as Watson ML returns them: fields and values. */
  const inlinePredictions = async (job: JobRow) => {
    const asset = await jobs.outputAsset(job);
    if (!asset || asset.status !== 'ready') return [];
    const fields = [...job.spec.carry, 'prediction', ...(job.spec.probabilities ? ['probability'] : [])];
    const values: unknown[][] = [];
    let buffer = '';
    const take = (line: string) => {
      if (!line.trim() || values.length >= INLINE_RESULT_ROWS) return;
      const row = JSON.parse(line) as Record<string, unknown>;
      const probs = row.probabilities as Record<string, number> | undefined;
      values.push([...job.spec.carry.map((c) => row[c]), row.prediction, ...(job.spec.probabilities ? [probs ? Object.values(probs) : null] : [])]);
    };
    const stream = await jobs.outputStream(asset);
    for await (const chunk of stream) {
      buffer += String(chunk);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        take(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
      if (values.length >= INLINE_RESULT_ROWS) {
        stream.destroy();
        break;
      }
    }
    take(buffer);
    return [{ fields, values }];
  };

  app.post('/ml/v4/deployment_jobs', {
    schema: {
      tags,
      summary: 'Create a batch deployment job (Watson ML)',
      description: 'scoring.input_data (inline rows; results in GET as scoring.predictions) or scoring.input_data_references (one data asset: location.id, name or href /v2/assets/{id}); output_data_reference.location.name names the output asset.',
      querystring: Query,
      body: WmlJobBody,
      response: { 202: WmlJob, ...errorResponses, 409: Type.Ref('Error') },
    },
  }, async (req, reply) => {
    const { scoring, deployment, name } = req.body;
    const refs = scoring.input_data_references;
    if ((scoring.input_data === undefined) === (refs === undefined)) throw invalidInput('scoring must hold input_data or input_data_references (one data asset)');
    const inline = scoring.input_data !== undefined && scoring.output_data_reference === undefined;
    const input: SubmitJobInput = {
      deployment: deployment.id,
      space: req.body.space_id ?? req.query.space_id,
      input: refs ? { asset: assetOf(refs[0]!, 'input_data_references[0]') } : { inputData: scoring.input_data },
      output: inline ? { format: 'ndjson', name: `wml-{jobId}.ndjson` } : { name: scoring.output_data_reference ? assetOf(scoring.output_data_reference, 'output_data_reference') : undefined },
    };
    const job = await jobs.submit(input, { wml: { name, inlineResults: inline } });
    return reply.status(202).send(await view(job));
  });

  app.get('/ml/v4/deployment_jobs', {
    schema: { tags, summary: 'List deployment jobs (Watson ML)', querystring: Query, response: { 200: Type.Object({ total_count: Type.Integer(), resources: Type.Array(WmlJob) }), ...errorResponses } },
  }, async (req) => {
    const page = await jobs.list({ space: req.query.space_id, limit: req.query.limit ? Number(req.query.limit) : 100 });
    const resources = await Promise.all(page.items.map(view));
    return { total_count: resources.length, resources };
  });

  app.get('/ml/v4/deployment_jobs/:id', {
    schema: { tags, summary: 'A deployment job (Watson ML): scoring.status.state', params: Params, querystring: Query, response: { 200: WmlJob, ...errorResponses } },
  }, async (req) => view(await jobs.get(req.params.id)));

  app.delete('/ml/v4/deployment_jobs/:id', {
    schema: { tags, summary: 'Cancel a deployment job, or delete it with hard_delete=true (Watson ML)', params: Params, querystring: Query, response: { 204: Type.Null(), ...errorResponses, 409: Type.Ref('Error') } },
  }, async (req, reply) => {
    const job = await jobs.get(req.params.id);
    if (req.query.hard_delete === 'true') {
      if (job.status === 'queued' || job.status === 'running') await jobs.cancel(job.id);
      await jobs.delete(job.id);
    } else {
      if (job.status !== 'queued' && job.status !== 'running') throw new PlinthError('CONFLICT', `job ${job.id} is already ${job.status}`);
      await jobs.cancel(job.id);
    }
    return reply.status(204).send(null);
  });
}
