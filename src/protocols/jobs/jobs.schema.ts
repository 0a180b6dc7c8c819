import { Type } from '@sinclair/typebox';
import { PageOf, PageQueryFields } from '../management/pagination.schema.js';

/** Wire shapes of data assets, batch jobs and schedules (camelCase JSON). */

const SpaceField = Type.String({ minLength: 1, description: "Space name ('default' when omitted)" });

// -- data assets ----------------------------------------------------------------------------------

const Dialect = Type.Object({ delimiter: Type.String(), quote: Type.String(), bom: Type.Boolean() });

const ASSET_EXAMPLE = {
  id: '5f0c1d2e-8a4b-4c3d-9e2f-1a2b3c4d5e6f',
  name: 'patients.csv',
  space: 'default',
  description: null,
  format: 'csv',
  status: 'ready',
  size: 124_512,
  sha256: '3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b',
  rowCount: 569,
  columns: ['id', 'mean_radius', 'mean_texture'],
  dialect: { delimiter: ',', quote: '"', bom: false },
  jobId: null,
  createdAt: '2026-11-22T10:00:00.000Z',
  updatedAt: '2026-11-22T10:00:00.000Z',
};

export const AssetResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    space: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    format: Type.String({ description: 'csv, ndjson or json' }),
    status: Type.String({ description: "'ready', or 'pending' while a job writes it" }),
    size: Type.Integer(),
    sha256: Type.Union([Type.String(), Type.Null()]),
    rowCount: Type.Union([Type.Integer(), Type.Null()], { description: 'Data rows (the CSV header excluded)' }),
    columns: Type.Union([Type.Array(Type.String()), Type.Null()]),
    dialect: Type.Union([Dialect, Type.Null()]),
    jobId: Type.Union([Type.String(), Type.Null()], { description: 'The job that wrote it' }),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { examples: [ASSET_EXAMPLE] },
);

export const AssetList = PageOf(AssetResponse, [{ items: [ASSET_EXAMPLE] }]);
export const AssetListQuery = Type.Object(
  { space: Type.Optional(SpaceField), name: Type.Optional(Type.String({ maxLength: 200, description: 'Name prefix' })), ...PageQueryFields },
  { additionalProperties: false },
);
export const AssetParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, description: 'Asset id, or its name in the space' }) });
export const SpaceQuery = Type.Object({ space: Type.Optional(SpaceField) }, { additionalProperties: false });
export const UploadQuery = Type.Object(
  {
    space: Type.Optional(SpaceField),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "The asset's name (default: the file name)" })),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson'), Type.Literal('json')], { description: 'Overrides the format the file name says' })),
  },
  { additionalProperties: false },
);

// -- jobs ------------------------------------------------------------------------------------------

const InputDataEntry = Type.Object(
  {
    fields: Type.Optional(Type.Array(Type.String(), { description: "Column names; the model's feature order when absent" })),
    values: Type.Array(Type.Array(Type.Unknown()), { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const CreateJobBody = Type.Object(
  {
    deployment: Type.String({ minLength: 1, description: 'Deployment id, or its name' }),
    space: Type.Optional(SpaceField),
    input: Type.Object(
      {
        asset: Type.Optional(Type.String({ minLength: 1, description: 'A data asset of the deployment\'s space, by id or name' })),
        inputData: Type.Optional(Type.Array(InputDataEntry, { minItems: 1, description: "Inline rows, Watson ML's input_data" })),
      },
      { additionalProperties: false },
    ),
    output: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Output asset name; placeholders {jobId}, {date}, {timestamp}. Default: <deployment>-<job id>.csv' })),
          format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')])),
        },
        { additionalProperties: false },
      ),
    ),
    carry: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 100, description: 'Input columns copied in front of the predictions (an id, ...)' })),
    probabilities: Type.Optional(Type.Boolean({ description: 'Add probability_<class> columns (classifiers; default true)' })),
    explanations: Type.Optional(
      Type.Boolean({
        description:
          'Add SHAP explanations (default false), the values ?explain=1 gives for each row: CSV columns shap_base and shap_<feature> after the predictions; ' +
          'NDJSON an explanation object {output, base, values}. Needs a model the server can explain without _samples (a manifest background where the method needs one: 400 otherwise)',
      }),
    ),
    chunkRows: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Rows per committed chunk (default PLINTH_JOB_CHUNK_ROWS)' })),
    maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Share of invalid rows past which the job fails (default PLINTH_JOB_MAX_ERROR_RATE)' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'Attempts before the job fails (default PLINTH_JOB_MAX_ATTEMPTS)' })),
  },
  {
    additionalProperties: false,
    examples: [
      { deployment: 'cancer-batch', input: { asset: 'patients.csv' }, output: { name: 'patients-scored.csv' }, carry: ['id'] },
      { deployment: 'cancer-batch', input: { asset: 'patients.csv' }, output: { name: 'patients-explained.csv' }, carry: ['id'], explanations: true },
      { deployment: 'cancer-batch', input: { inputData: [{ fields: ['mean_radius', 'mean_texture'], values: [[17.99, 10.38]] }] } },
    ],
  },
);

const JOB_EXAMPLE = {
  id: '8d6f0a8e-1c2b-4d3e-9f10-2a3b4c5d6e7f',
  status: 'running',
  space: 'default',
  deployment: { id: '0b6c2f7e-5d0e-4a51-9d43-2f1f5a7c9e10', name: 'cancer-batch' },
  scheduleId: null,
  model: 'models:/breast-cancer/1',
  input: { type: 'asset', asset: { id: '5f0c1d2e-8a4b-4c3d-9e2f-1a2b3c4d5e6f', name: 'patients.csv' } },
  output: { name: 'patients-scored.csv', format: 'csv', assetId: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d', url: '/api/v1/assets/9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d/content?space=default' },
  carry: ['id'],
  probabilities: true,
  explanations: false,
  chunkRows: 5000,
  maxErrorRate: 0.1,
  rows: { total: 1000000, done: 250000, scored: 249990, failed: 10 },
  rowsPerSecond: 210000,
  attempt: 1,
  maxAttempts: 3,
  error: null,
  retryAt: null,
  errorsUrl: null,
  createdAt: '2026-11-22T10:00:00.000Z',
  startedAt: '2026-11-22T10:00:00.120Z',
  finishedAt: null,
};

export const JobResponse = Type.Object(
  {
    id: Type.String(),
    status: Type.String({ description: 'queued, running, completed, failed or canceled' }),
    space: Type.String(),
    deployment: Type.Object({ id: Type.String(), name: Type.String() }),
    scheduleId: Type.Union([Type.String(), Type.Null()]),
    model: Type.Union([Type.String(), Type.Null()], { description: 'The model version scored with, once the job has started' }),
    input: Type.Object({
      type: Type.String({ description: 'asset or inline' }),
      asset: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() })),
      fields: Type.Optional(Type.Array(Type.String())),
    }),
    output: Type.Object({ name: Type.String(), format: Type.String(), assetId: Type.Union([Type.String(), Type.Null()]), url: Type.Union([Type.String(), Type.Null()]) }),
    carry: Type.Array(Type.String()),
    probabilities: Type.Boolean(),
    explanations: Type.Boolean({ description: 'Whether the output has explanation columns' }),
    chunkRows: Type.Integer(),
    maxErrorRate: Type.Number(),
    rows: Type.Object({
      total: Type.Integer(),
      done: Type.Integer({ description: 'Input rows handled (scored or failed)' }),
      scored: Type.Integer(),
      failed: Type.Integer({ description: 'Rows that failed validation (see errorsUrl)' }),
    }),
    rowsPerSecond: Type.Union([Type.Number(), Type.Null()]),
    attempt: Type.Integer(),
    maxAttempts: Type.Integer(),
    error: Type.Union([Type.String(), Type.Null()]),
    retryAt: Type.Union([Type.String(), Type.Null()]),
    errorsUrl: Type.Union([Type.String(), Type.Null()], { description: 'The errors file (row,line,reason) once the job finished with invalid rows' }),
    createdAt: Type.String(),
    startedAt: Type.Union([Type.String(), Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
  },
  { examples: [JOB_EXAMPLE] },
);

export const JobList = PageOf(JobResponse, [{ items: [JOB_EXAMPLE] }]);
export const JobListQuery = Type.Object(
  {
    space: Type.Optional(SpaceField),
    deployment: Type.Optional(Type.String({ minLength: 1, description: 'Deployment id or name' })),
    schedule: Type.Optional(Type.String({ minLength: 1, description: 'Schedule id: its run history' })),
    status: Type.Optional(Type.String({ pattern: '^(queued|running|completed|failed|canceled)(,(queued|running|completed|failed|canceled))*$', description: 'Comma-separated statuses' })),
    ...PageQueryFields,
  },
  { additionalProperties: false },
);
export const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
export const JobDeleteQuery = Type.Object(
  { hardDelete: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: delete a finished job\'s record instead of canceling' })) },
  { additionalProperties: false },
);

export const JobEventList = PageOf(
  Type.Object({ seq: Type.Integer(), at: Type.String(), level: Type.String(), message: Type.String() }),
  [{ items: [{ seq: 1, at: '2026-11-22T10:00:00.000Z', level: 'info', message: 'queued: 569 row(s) from data asset \'patients.csv\'' }] }],
);

// -- schedules -------------------------------------------------------------------------------------

export const CreateScheduleBody = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    space: Type.Optional(SpaceField),
    cron: Type.String({ minLength: 1, maxLength: 200, description: 'Cron expression: 5 fields, or 6 with seconds first' }),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'IANA time zone (default UTC)' })),
    paused: Type.Optional(Type.Boolean()),
    job: Type.Omit(CreateJobBody, ['space']),
  },
  {
    additionalProperties: false,
    examples: [{ name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', job: { deployment: 'cancer-batch', input: { asset: 'patients.csv' }, output: { name: 'nightly.csv' }, carry: ['id'] } }],
  },
);

const SCHEDULE_EXAMPLE = {
  id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
  name: 'nightly',
  space: 'default',
  cron: '0 2 * * *',
  timezone: 'Europe/Paris',
  status: 'active',
  job: { deployment: 'cancer-batch', input: { asset: 'patients.csv' }, output: { name: 'nightly-{timestamp}.csv' } },
  nextRunAt: '2026-11-23T01:00:00.000Z',
  lastRunAt: null,
  lastJobId: null,
  runs: 0,
  skipped: 0,
  createdAt: '2026-11-22T10:00:00.000Z',
  updatedAt: '2026-11-22T10:00:00.000Z',
};

export const ScheduleResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    space: Type.String(),
    cron: Type.String(),
    timezone: Type.String(),
    status: Type.String({ description: 'active or paused' }),
    job: Type.Record(Type.String(), Type.Unknown()),
    nextRunAt: Type.Union([Type.String(), Type.Null()]),
    lastRunAt: Type.Union([Type.String(), Type.Null()]),
    lastJobId: Type.Union([Type.String(), Type.Null()]),
    runs: Type.Integer(),
    skipped: Type.Integer({ description: 'Runs not started because the previous one was still going' }),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { examples: [SCHEDULE_EXAMPLE] },
);
export const ScheduleList = PageOf(ScheduleResponse, [{ items: [SCHEDULE_EXAMPLE] }]);
export const ScheduleListQuery = Type.Object({ space: Type.Optional(SpaceField), ...PageQueryFields }, { additionalProperties: false });
export const ScheduleParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, description: 'Schedule id, or its name in the space' }) });

