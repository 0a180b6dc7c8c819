import { Type } from '@sinclair/typebox';
import { ModelName } from '../shared/common.schema.js';
import { PageOf, PageQueryFields } from './pagination.schema.js';

/** Wire shapes of the registry's models, versions, artifacts and aliases (camelCase JSON). */

export const SpaceQueryField = Type.String({ minLength: 1, description: "Space name ('default' when omitted)", examples: ['default'] });
export const SpaceQuery = Type.Object({ space: Type.Optional(SpaceQueryField) }, { additionalProperties: false });

export const ModelListQuery = Type.Object(
  {
    space: Type.Optional(SpaceQueryField),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Only models whose name starts with this (case-sensitive)', examples: ['ir'] })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only models carrying this tag', examples: ['tabular'] })),
    ...PageQueryFields,
  },
  { additionalProperties: false },
);

export const VersionNumberParam = Type.String({ minLength: 1, maxLength: 20, description: 'Version number (1, 2, ...)', examples: ['2'] });
export const ModelParams = Type.Object({ name: ModelName });
export const ModelVersionParams = Type.Object({ name: ModelName, version: VersionNumberParam });
export const ArtifactParams = Type.Object({
  name: ModelName,
  version: VersionNumberParam,
  '*': Type.String({ description: "The artifact's path inside the version, as its artifact list gives it", examples: ['model.yaml'] }),
});
export const AliasParams = Type.Object({
  name: ModelName,
  alias: Type.String({ minLength: 1, description: "A user alias such as 'production' ('latest' and 'best' are computed and cannot be set)", examples: ['production'] }),
});

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });
const Description = Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()]);

const MODEL_EXAMPLE = {
  name: 'iris',
  space: 'default',
  description: 'Predicts the species of an iris flower from its sepal and petal measurements',
  tags: ['tabular', 'sklearn'],
  revision: 3,
  createdAt: '2026-11-22T10:00:00.000Z',
  updatedAt: '2026-11-22T11:30:00.000Z',
};

export const ModelResponse = Type.Object(
  {
    name: Type.String(),
    space: Type.String(),
    description: Description,
    tags: Type.Array(Type.String()),
    revision: Type.Integer({ description: 'Grows on every update of description or tags; the ETag' }),
    createdAt: Type.String(),
    updatedAt: Type.String({ description: 'Also moves when a version is added or removed' }),
  },
  { examples: [MODEL_EXAMPLE] },
);

export const ModelList = PageOf(ModelResponse, [{ items: [MODEL_EXAMPLE], nextCursor: 'WyJpcmlzIiwiYjQ2ZiJd' }]);

export const ModelPatchBody = Type.Object(
  {
    description: Type.Optional(Description),
    tags: Type.Optional(Tags),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [{ description: 'Iris species, random forest (v2 retrained on 2026 data)' }, { tags: ['tabular', 'sklearn', 'production'] }],
  },
);

const Tensor = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });

const VERSION_EXAMPLE = {
  model: 'iris',
  space: 'default',
  version: 2,
  status: 'ready',
  sha256: '9f2c4e1a0b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e',
  size: 4578,
  signature: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }] },
  manifest: { name: 'iris', task: 'multiclass_classification', classes: ['setosa', 'versicolor', 'virginica'], metrics: { accuracy: 0.9737 }, primary_metric: 'accuracy' },
  metrics: { accuracy: 0.9737 },
  tags: ['rf', 'retrained'],
  createdAt: '2026-11-22T11:30:00.000Z',
};
const ARTIFACTS_EXAMPLE = [
  { path: 'model.onnx', size: 4578, sha256: '9f2c4e1a0b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e' },
  { path: 'model.yaml', size: 719, sha256: '1b3d5f7a9c2e4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c' },
  { path: 'assets/vocab.json', size: 2210, sha256: '5e7a9c1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c' },
];

const versionFields = {
  model: Type.String(),
  space: Type.String(),
  version: Type.Integer(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')]),
  sha256: Type.String({ description: 'SHA-256 of model.onnx' }),
  size: Type.Integer({ description: 'Bytes of model.onnx' }),
  signature: Type.Union([Type.Object({ inputs: Type.Array(Tensor), outputs: Type.Array(Tensor) }), Type.Null()], {
    description: 'Inputs and outputs as ONNX Runtime reported them when the version was validated',
  }),
  manifest: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'The parsed model.yaml, when the upload had one' }),
  metrics: Type.Record(Type.String(), Type.Number()),
  tags: Type.Array(Type.String()),
  createdAt: Type.String(),
};

export const VersionResponse = Type.Object(versionFields, { examples: [VERSION_EXAMPLE] });
export const VersionList = PageOf(VersionResponse, [{ items: [VERSION_EXAMPLE] }]);

export const Artifact = Type.Object({ path: Type.String(), size: Type.Integer(), sha256: Type.String() });
export const VersionDetailResponse = Type.Object(
  { ...versionFields, artifacts: Type.Array(Artifact, { description: 'Every file of the version; download one at .../artifacts/{path}' }) },
  { examples: [{ ...VERSION_EXAMPLE, artifacts: ARTIFACTS_EXAMPLE }] },
);

/**
 * The upload form, for the OpenAPI document. Streamed by the route, never validated as a parsed
 * body (nullable: the multipart parser leaves the body empty).
 */
export const UploadForm = Type.Unsafe<unknown>({
  type: 'object',
  nullable: true,
  required: ['file'],
  properties: {
    description: {
      type: 'string',
      maxLength: 10_000,
      description: "The model's description, used when this upload creates the model (otherwise model.yaml's description). Send before `file`.",
    },
    tags: { type: 'string', description: 'Tags of the new version, comma-separated. Send before `file`.', examples: ['rf,baseline'] },
    file: {
      type: 'string',
      format: 'binary',
      description:
        'The model: a .onnx file, an XGBoost JSON model (.json, from Booster.save_model; compiled to model.onnx and kept as xgboost.json), ' +
        'or a .zip, .tar.gz / .tgz or .tar of a model folder holding model.onnx or an XGBoost model.json (and model.yaml, artifacts). The file name picks the format.',
    },
  },
  examples: [{ description: 'Iris species, random forest', tags: 'rf,baseline', file: '(binary: iris.tar.gz)' }],
});

export const AliasResponse = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer(),
    computed: Type.Boolean({ description: "true for 'latest' and 'best', which the registry computes" }),
    metric: Type.Optional(Type.String({ description: "For 'best': the metric that ranked the versions" })),
    updatedAt: Type.Optional(Type.String()),
  },
  { examples: [{ name: 'production', version: 2, computed: false, updatedAt: '2026-11-22T12:00:00.000Z' }] },
);
export const AliasList = PageOf(AliasResponse, [
  {
    items: [
      { name: 'best', version: 2, computed: true, metric: 'accuracy' },
      { name: 'latest', version: 3, computed: true },
      { name: 'production', version: 2, computed: false, updatedAt: '2026-11-22T12:00:00.000Z' },
    ],
  },
]);
export const AliasListQuery = Type.Object({ space: Type.Optional(SpaceQueryField), ...PageQueryFields }, { additionalProperties: false });

export const SetAliasBody = Type.Object(
  { version: Type.Integer({ minimum: 1, description: 'The version the alias points at from now on' }) },
  { additionalProperties: false, examples: [{ version: 2 }] },
);

export const ResolveQuery = Type.Object(
  {
    reference: Type.String({
      minLength: 1,
      description: "'iris' (latest), 'iris@production', 'models:/iris/3', 'models:/iris@staging', 'models:/iris/best'",
      examples: ['models:/iris@production'],
    }),
    space: Type.Optional(SpaceQueryField),
  },
  { additionalProperties: false },
);

export const ResolveResponse = Type.Object(
  {
    reference: Type.String({ description: 'The reference as given' }),
    uri: Type.String({ description: 'The version it resolved to, as a models:/ URI' }),
    space: Type.String(),
    model: ModelResponse,
    version: VersionResponse,
  },
  { examples: [{ reference: 'models:/iris@production', uri: 'models:/iris/2', space: 'default', model: MODEL_EXAMPLE, version: VERSION_EXAMPLE }] },
);
