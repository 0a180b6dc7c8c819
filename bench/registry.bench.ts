/**
 * Registry read latency at 1,000 models x 5 versions (issue 3: "list and resolve calls under 10 ms
 * at p99"), twice: the repository calls alone, over a SQLite file in a temp dir opened as app.ts
 * opens it; then the same reads as a client makes them, over HTTP to the real server (buildApp on
 * that data directory, one keep-alive connection), so the ratio shows what the service, routing,
 * validation and JSON encoding add on top of the storage.
 * Run with `npm run bench:registry`; BENCH_REGISTRY_ITERATIONS sets the timed calls per operation.
 * See bench/README.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { parse } from 'yaml';
import type { JsonValue, RegistryRepositories } from '../src/storage/ports.js';
import { buildApp } from '../src/app.js';
import { adminBearer, BENCH_ADMIN_PASSWORD } from './bench-auth.js';
import { loadConfig } from '../src/config/config.js';
import { openDatabase } from '../src/storage/sql/database.js';
import { createSqlRepositories } from '../src/storage/sql/sql-repositories.js';
import { machine } from './report.js';

const ROOT = resolve(import.meta.dirname, '..');
const ITERATIONS = Number(process.env.BENCH_REGISTRY_ITERATIONS ?? 5000);
if (!Number.isInteger(ITERATIONS) || ITERATIONS < 100) throw new Error(`BENCH_REGISTRY_ITERATIONS must be an integer >= 100, got '${process.env.BENCH_REGISTRY_ITERATIONS}'`);
/** Enough calls for the JIT, Kysely's query compilation paths and SQLite's page cache to settle. */
const WARMUP = 500;
const MODELS = 1000;
const VERSIONS = 5;
const PAGE = 100;
const TARGET_P99_MS = 10;

// Ten families of 100 models, so a name-prefix filter ('fraud-') matches one page's worth (100),
// and four teams, so a tag filter ('team-payments') matches 250 and has to be paged.
const FAMILIES = ['anomaly', 'churn', 'credit-risk', 'demand', 'eta', 'fraud', 'ltv', 'pricing', 'ranking', 'sentiment'];
const TEAMS = ['team-growth', 'team-ops', 'team-payments', 'team-risk'];
const nameOf = (m: number) => `${FAMILIES[m % FAMILIES.length]}-${String(Math.floor(m / FAMILIES.length)).padStart(3, '0')}`;
const sha256Of = (m: number, v: number) => createHash('sha256').update(`${nameOf(m)}@${v}`).digest('hex');
/** Alternates between versions 3 and 4, so a wrong join cannot pass for a right one. */
const productionOf = (m: number) => 3 + (m % 2);
/** Visits models in a scattered but repeatable order (379 is coprime with 1,000: every model, once per 1,000 calls). */
const pick = (i: number) => (i * 379) % MODELS;

/** A realistic manifest (~4 KB of JSON a version): the breast-cancer example's model.yaml, renamed. */
const MANIFEST = parse(readFileSync(join(ROOT, 'examples/models/breast-cancer/1/model.yaml'), 'utf8')) as Record<string, JsonValue>;
const SIGNATURE: JsonValue = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};

/** Every model, version and alias through the repositories, one write transaction each, as uploads will. */
async function seed(repos: RegistryRepositories, spaceId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let m = 0; m < MODELS; m++) {
    const name = nameOf(m);
    const model = await repos.models.create({ spaceId, name, description: `${name}: scored nightly`, tags: [TEAMS[m % TEAMS.length]!, 'tabular'] });
    for (let v = 1; v <= VERSIONS; v++) {
      await repos.models.createVersion({
        modelId: model.id,
        sha256: sha256Of(m, v),
        size: 200_000 + ((m * 7919 + v * 104_729) % 40_000_000),
        blobKey: `models/${model.id}/${v}/model.onnx`,
        signature: SIGNATURE,
        manifest: { ...MANIFEST, name, description: `${name} v${v}` },
        metrics: { auc: 0.9 + v / 100, accuracy: 0.85 + v / 100, f1: 0.8 + v / 100, logloss: 0.3 - v / 100 },
        tags: v === VERSIONS ? ['candidate'] : [],
      });
    }
    await repos.aliases.set(model.id, 'production', productionOf(m));
    ids.push(model.id);
  }
  return ids;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;

interface Op {
  name: string;
  /** The repository calls one operation makes, as the service will chain them. */
  calls: string;
  /** Call i; true when the answer is what the seeding implies (checked on every call, not timed separately). */
  run: (i: number) => Promise<boolean>;
}

interface Result {
  op: Op;
  p50: number;
  p99: number;
  max: number;
  wrong: number;
}

/** Warm-up, then ITERATIONS calls one at a time, each timed on its own with performance.now. */
async function time(op: Op): Promise<Result> {
  for (let i = 0; i < WARMUP; i++) await op.run(i);
  const ms: number[] = [];
  let wrong = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    const ok = await op.run(i);
    ms.push(performance.now() - start);
    if (!ok) wrong++;
  }
  ms.sort((a, b) => a - b);
  process.stderr.write(`  ${op.name}: p99 ${percentile(ms, 0.99).toFixed(3)} ms\n`);
  return { op, p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), max: ms[ms.length - 1]!, wrong };
}

function operations(repos: RegistryRepositories, spaceId: string, ids: string[], deepCursor: string): Op[] {
  const { models, aliases } = repos;
  const sorted = Array.from({ length: MODELS }, (_, m) => nameOf(m)).sort();
  return [
    { name: 'list models, first page', calls: `models.list(limit ${PAGE})`, run: async () => (await models.list({ spaceId, limit: PAGE })).items[0]?.name === sorted[0] },
    {
      name: 'list models, deep page',
      calls: `models.list(limit ${PAGE}, cursor after item 800)`,
      run: async () => (await models.list({ spaceId, limit: PAGE, cursor: deepCursor })).items[0]?.name === sorted[800],
    },
    { name: 'list models, name prefix', calls: "models.list(namePrefix 'fraud-')", run: async () => (await models.list({ spaceId, limit: PAGE, namePrefix: 'fraud-' })).items.length === 100 },
    { name: 'list models, tag', calls: "models.list(tag 'team-payments')", run: async () => (await models.list({ spaceId, limit: PAGE, tag: 'team-payments' })).items.length === PAGE },
    { name: 'get model by name', calls: 'models.getByName', run: async (i) => (await models.getByName(spaceId, nameOf(pick(i))))?.id === ids[pick(i)] },
    {
      name: 'list versions of a model',
      calls: 'models.getByName + models.listVersions',
      run: async (i) => {
        const model = await models.getByName(spaceId, nameOf(pick(i)));
        return (await models.listVersions({ modelId: model!.id, limit: PAGE })).items.length === VERSIONS;
      },
    },
    {
      name: 'resolve name -> production -> version',
      calls: 'models.getByName + aliases.get + models.getVersion',
      run: async (i) => {
        const model = await models.getByName(spaceId, nameOf(pick(i)));
        const alias = await aliases.get(model!.id, 'production');
        return (await models.getVersion(model!.id, alias!.version))?.sha256 === sha256Of(pick(i), productionOf(pick(i)));
      },
    },
    {
      name: 'resolve name -> latest version',
      calls: 'models.getByName + models.latestVersion',
      run: async (i) => {
        const model = await models.getByName(spaceId, nameOf(pick(i)));
        return (await models.latestVersion(model!.id))?.version === VERSIONS;
      },
    },
    {
      // What an idempotent import asks once it has the model and the upload's digest.
      name: 'version by sha256',
      calls: 'models.findVersionsBySha256',
      run: async (i) => (await models.findVersionsBySha256(ids[pick(i)]!, sha256Of(pick(i), 2)))[0]?.version === 2,
    },
  ];
}

/** The same reads over HTTP, each answer checked as above. */
function httpOperations(base: string, ids: string[], auth: Record<string, string>): Op[] {
  const sorted = Array.from({ length: MODELS }, (_, m) => nameOf(m)).sort();
  const json = async (path: string) => {
    const r = await fetch(`${base}${path}`, { headers: auth });
    if (r.status !== 200) return undefined;
    return (await r.json()) as { items?: { name: string }[]; version?: { version: number; sha256: string }; model?: { id?: string } };
  };
  return [
    { name: 'list models, first page', calls: `GET /api/v1/models?limit=${PAGE}`, run: async () => (await json(`/api/v1/models?space=bench&limit=${PAGE}`))?.items?.[0]?.name === sorted[0] },
    { name: 'list models, name prefix', calls: 'GET /api/v1/models?name=fraud-', run: async () => (await json('/api/v1/models?space=bench&name=fraud-'))?.items?.length === 100 },
    { name: 'list models, tag', calls: 'GET /api/v1/models?tag=team-payments', run: async () => (await json('/api/v1/models?space=bench&tag=team-payments'))?.items?.length === PAGE },
    { name: 'list versions of a model', calls: 'GET /api/v1/models/{name}/versions', run: async (i) => (await json(`/api/v1/models/${nameOf(pick(i))}/versions?space=bench`))?.items?.length === VERSIONS },
    {
      name: 'resolve name -> production -> version',
      calls: 'GET /api/v1/resolve?reference=models:/{name}@production',
      run: async (i) => (await json(`/api/v1/resolve?space=bench&reference=models:/${nameOf(pick(i))}@production`))?.version?.sha256 === sha256Of(pick(i), productionOf(pick(i))),
    },
    {
      name: 'resolve name -> latest version',
      calls: 'GET /api/v1/resolve?reference={name}',
      run: async (i) => (await json(`/api/v1/resolve?space=bench&reference=${nameOf(pick(i))}`))?.version?.version === VERSIONS && ids.length === MODELS,
    },
  ];
}

function render(date: Date, results: Result[], http: Result[], setup: { sqlite: string; seedS: number; dbMiB: number }): string {
  const ms = (n: number) => n.toFixed(3);
  const mark = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  const slow = results.filter((r) => r.p99 >= TARGET_P99_MS);
  const wrong = [...results, ...http].filter((r) => r.wrong > 0);
  const slowHttp = http.filter((r) => r.p99 >= TARGET_P99_MS);
  const writes = MODELS * (VERSIONS + 2);
  return `# Registry benchmark, ${date.toISOString().slice(0, 10)}

${machine(date, ROOT)}
- storage: SQLite ${setup.sqlite} via better-sqlite3 (WAL, synchronous=NORMAL), one file in the OS temp dir
- data: ${MODELS.toLocaleString('en')} models x ${VERSIONS} versions in one space, 2 tags and a \`production\` alias each; database and WAL files ${setup.dbMiB.toFixed(1)} MiB
- seeding: ${setup.seedS.toFixed(1)} s through the repositories, ${writes.toLocaleString('en')} write transactions (${ms((setup.seedS * 1000) / writes)} ms each)
- timing: ${ITERATIONS.toLocaleString('en')} calls per operation after ${WARMUP} warm-up calls, one at a time, performance.now around each

## Repository calls (in process, no HTTP)

| operation | repository calls | p50 ms | p99 ms | max ms | p99 < ${TARGET_P99_MS} ms |
| --- | --- | ---: | ---: | ---: | --- |
${results.map((r) => `| ${r.op.name} | ${r.op.calls} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${mark(r.p99 < TARGET_P99_MS)} |`).join('\n')}

## Over HTTP (the real server, one keep-alive client, an admin bearer token on every call, answers checked)

| operation | request | p50 ms | p99 ms | max ms | p99 vs repository p99 | p99 < ${TARGET_P99_MS} ms |
| --- | --- | ---: | ---: | ---: | ---: | --- |
${http.map((r) => {
    const repo = results.find((x) => x.op.name === r.op.name);
    return `| ${r.op.name} | ${r.op.calls} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${repo ? `${(r.p99 / repo.p99).toFixed(1)}x` : '-'} | ${mark(r.p99 < TARGET_P99_MS)} |`;
  }).join('\n')}

## Targets

- list and resolve calls p99 < ${TARGET_P99_MS} ms at ${MODELS.toLocaleString('en')} models x ${VERSIONS} versions, over HTTP: ${mark(slowHttp.length === 0)}${slowHttp.length ? ` (${slowHttp.map((r) => r.op.name).join(', ')})` : ''}
- the same for the repository calls alone: ${mark(slow.length === 0)}${slow.length ? ` (${slow.map((r) => r.op.name).join(', ')})` : ''}
- wrong answers: ${wrong.length ? `**${wrong.map((r) => `${r.op.name}: ${r.wrong}`).join(', ')}**` : 'none'}
`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-registry-bench-'));
  // The file name app.ts opens, so the server can start over the seeded database afterwards.
  const db = await openDatabase(join(dir, 'plinth.db'));
  try {
    const repos = createSqlRepositories(db);
    // Not the default space: the server loads the default space's models, and these have no files.
    const space = await repos.spaces.ensure({ name: 'bench' });
    process.stderr.write(`seeding ${MODELS} models x ${VERSIONS} versions in ${dir}\n`);
    const seedStart = performance.now();
    const ids = await seed(repos, space.id);
    const seedS = (performance.now() - seedStart) / 1000;

    // The cursor a client holds after reading 8 pages: keyset pagination should make page 9 cost what page 1 does.
    let deepCursor: string | undefined;
    for (let page = 0; page < 8; page++) deepCursor = (await repos.models.list({ spaceId: space.id, limit: PAGE, cursor: deepCursor })).nextCursor;

    const results: Result[] = [];
    for (const op of operations(repos, space.id, ids, deepCursor!)) results.push(await time(op));

    const { rows } = await sql<{ v: string }>`select sqlite_version() as v`.execute(db);
    const files = await Promise.all(['plinth.db', 'plinth.db-wal'].map((f) => stat(join(dir, f)).then((s) => s.size, () => 0)));
    const date = new Date();
    const models = join(dir, 'models');
    await mkdir(models);
    const plinth = await buildApp(loadConfig({ modelsDir: models, dataDir: dir, logLevel: 'warn', adminPassword: BENCH_ADMIN_PASSWORD }, {}));
    const http: Result[] = [];
    try {
      const base = await plinth.app.listen({ host: '127.0.0.1', port: 0 });
      const auth = await adminBearer(base);
      for (const op of httpOperations(base, ids, auth)) http.push(await time(op));
    } finally {
      await plinth.app.close();
    }
    const report = render(date, results, http, { sqlite: rows[0]!.v, seedS, dbMiB: (files[0]! + files[1]!) / 2 ** 20 });
    const out = join(ROOT, 'bench/results');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, `registry-${date.toISOString().slice(0, 10)}.md`), report);
    await writeFile(join(out, 'registry-latest.md'), report);
    console.log(report);
    // A wrong answer means the timing measured something else: fail the run, as predict.bench does on errors.
    if ([...results, ...http].some((r) => r.wrong > 0)) process.exitCode = 1;
  } finally {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
