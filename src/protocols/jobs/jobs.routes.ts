import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { DataAssetService } from '../../jobs/data-asset.service.js';
import type { JobService, SubmitJobInput } from '../../jobs/job.service.js';
import type { ScheduleService } from '../../jobs/schedule.service.js';
import type { SpaceNames } from '../../jobs/space-names.js';
import type { JobStatus, ScheduleRow } from '../../storage/job-ports.js';
import { pageLimit } from '../management/pagination.schema.js';
import { errorResponses } from '../shared/common.schema.js';
import { registerAssetRoutes } from './assets.routes.js';
import { jobView } from './job-view.js';
import {
  CreateJobBody, CreateScheduleBody, JobDeleteQuery, JobEventList, JobList, JobListQuery, JobParams, JobResponse, ScheduleList, ScheduleListQuery,
  ScheduleParams, ScheduleResponse, SpaceQuery,
} from './jobs.schema.js';
import { registerWmlJobRoutes } from './wml-jobs.routes.js';

export interface JobRouteDeps {
  assets: DataAssetService;
  jobs: JobService;
  schedules: ScheduleService;
  spaces: SpaceNames;
  /** PLINTH_UPLOAD_TIMEOUT_MS: the asset upload route's own deadline. */
  uploadTimeoutMs: number;
}

const tags = ['batch jobs'];
const error = Type.Ref('Error');

/** Batch scoring's HTTP API: data assets, jobs, schedules, and Watson ML's deployment_jobs. */
export function registerJobRoutes(base: FastifyInstance, deps: JobRouteDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { jobs, schedules, spaces } = deps;
  registerAssetRoutes(base, deps.assets, spaces, deps.uploadTimeoutMs);
  registerWmlJobRoutes(base, jobs, spaces);

  app.post('/api/v1/jobs', {
    schema: {
      tags,
      summary: 'Submit a batch scoring job',
      description:
        'Scores a data asset or inline rows with a deployment (batch or online; a batch job always uses the primary version). ' +
        'Checked before it is queued: the deployment (404), the input asset and its columns against the model\'s features (400), ' +
        'the output name (409 when taken). Answers 202 with the job `queued`; poll GET /api/v1/jobs/{id}.',
      body: CreateJobBody,
      response: { 202: JobResponse, ...errorResponses, 409: error },
    },
  }, async (req, reply) => {
    const job = await jobs.submit(req.body as SubmitJobInput);
    return reply.status(202).header('location', `/api/v1/jobs/${job.id}`).send(await jobView(job, spaces));
  });

  app.get('/api/v1/jobs', {
    schema: { tags, summary: 'List jobs, newest first', querystring: JobListQuery, response: { 200: JobList, ...errorResponses } },
  }, async (req) => {
    const { space, deployment, schedule, status, limit, cursor } = req.query;
    const page = await jobs.list({ space, deployment, schedule, status: status?.split(',') as JobStatus[] | undefined, limit: pageLimit(limit), cursor });
    return { items: await Promise.all(page.items.map((j) => jobView(j, spaces))), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
  });

  app.get('/api/v1/jobs/:id', {
    schema: { tags, summary: 'A job: status, rows done / total, rows/s, attempts, error', params: JobParams, response: { 200: JobResponse, ...errorResponses } },
  }, async (req) => jobView(await jobs.get(req.params.id), spaces));

  app.delete('/api/v1/jobs/:id', {
    schema: {
      tags,
      summary: 'Cancel a job (or delete a finished one with hardDelete=true)',
      description: 'A queued or running job stops within a second and its partial output is removed: 200 with the job `canceled`. 409 for a finished job unless hardDelete=true (204), which removes its record and errors file but not its output asset.',
      params: JobParams,
      querystring: JobDeleteQuery,
      response: { 200: JobResponse, 204: Type.Null(), ...errorResponses, 409: error },
    },
  }, async (req, reply) => {
    if (req.query.hardDelete === 'true') {
      await jobs.delete(req.params.id);
      return reply.status(204).send(null);
    }
    return jobView(await jobs.cancel(req.params.id), spaces);
  });

  app.get('/api/v1/jobs/:id/events', {
    schema: {
      tags,
      summary: "A job's log: queued, attempts, retries, completion or failure",
      params: JobParams,
      querystring: Type.Object({ limit: JobListQuery.properties.limit, cursor: JobListQuery.properties.cursor }, { additionalProperties: false }),
      response: { 200: JobEventList, ...errorResponses },
    },
  }, async (req) => {
    const job = await jobs.get(req.params.id);
    const page = await jobs.events(job.id, { limit: pageLimit(req.query.limit) ?? 100, cursor: req.query.cursor });
    return { items: page.items.map(({ seq, at, level, message }) => ({ seq, at, level, message })), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
  });

  app.get('/api/v1/jobs/:id/errors', {
    schema: {
      tags,
      summary: 'The rows that failed validation: row, line and reason (CSV)',
      params: JobParams,
      produces: ['text/csv'],
      response: { 200: Type.String({ format: 'binary' }), ...errorResponses },
    },
  }, async (req, reply) => {
    const job = await jobs.get(req.params.id);
    const stream = await jobs.errors(job);
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="job-${job.id}-errors.csv"`).send(stream);
  });

  // -- schedules ----------------------------------------------------------------------------------

  const scheduleView = async (row: ScheduleRow) => ({
    id: row.id,
    name: row.name,
    space: await spaces.of(row.spaceId),
    cron: row.cron,
    timezone: row.timezone,
    status: row.status,
    job: row.template,
    nextRunAt: schedules.nextRun(row),
    lastRunAt: row.lastRunAt,
    lastJobId: row.lastJobId,
    runs: row.runs,
    skipped: row.skipped,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  });
  const stags = ['schedules'];

  app.post('/api/v1/schedules', {
    schema: {
      tags: stags,
      summary: 'Schedule a job with a cron expression and time zone',
      description: "Each run submits the job (history: GET /api/v1/jobs?schedule={id}); a run is skipped while the previous one is still going. Output names without a placeholder get '-{timestamp}'.",
      body: CreateScheduleBody,
      response: { 201: ScheduleResponse, ...errorResponses, 409: error },
    },
  }, async (req, reply) => {
    const { job, ...rest } = req.body;
    const row = await schedules.create({ ...rest, job: job as SubmitJobInput });
    return reply.status(201).header('location', `/api/v1/schedules/${row.id}`).send(await scheduleView(row));
  });

  app.get('/api/v1/schedules', {
    schema: { tags: stags, summary: "List a space's schedules", querystring: ScheduleListQuery, response: { 200: ScheduleList, ...errorResponses } },
  }, async (req) => {
    const page = await schedules.list(req.query.space, { limit: pageLimit(req.query.limit), cursor: req.query.cursor });
    return { items: await Promise.all(page.items.map(scheduleView)), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
  });

  app.get('/api/v1/schedules/:id', {
    schema: { tags: stags, summary: 'A schedule: next run, last run, runs and skipped runs', params: ScheduleParams, querystring: SpaceQuery, response: { 200: ScheduleResponse, ...errorResponses } },
  }, async (req) => scheduleView(await schedules.get(req.params.id, req.query.space)));

  app.post('/api/v1/schedules/:id/pause', {
    schema: { tags: stags, summary: 'Pause a schedule (a running job goes on)', params: ScheduleParams, querystring: SpaceQuery, response: { 200: ScheduleResponse, ...errorResponses } },
  }, async (req) => scheduleView(await schedules.pause(await schedules.get(req.params.id, req.query.space))));

  app.post('/api/v1/schedules/:id/resume', {
    schema: { tags: stags, summary: 'Resume a paused schedule', params: ScheduleParams, querystring: SpaceQuery, response: { 200: ScheduleResponse, ...errorResponses } },
  }, async (req) => scheduleView(await schedules.resume(await schedules.get(req.params.id, req.query.space))));

  app.delete('/api/v1/schedules/:id', {
    schema: { tags: stags, summary: 'Delete a schedule (its jobs stay as history)', params: ScheduleParams, querystring: SpaceQuery, response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await schedules.delete(await schedules.get(req.params.id, req.query.space));
    return reply.status(204).send(null);
  });
}
