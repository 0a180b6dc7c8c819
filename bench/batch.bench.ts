/**
 * Batch scoring bench (issue 7): breast_cancer.csv repeated to BENCH_BATCH_ROWS rows (default
 * 1,000,000), scored with rf_breast_cancer.onnx (examples/models/breast-cancer) from an uploaded
 * data asset to a written CSV, against raw batched session.run on pre-built Float32Arrays in the
 * same run (in this process, before and after the jobs; the faster of the two is the reference).
 *
 * Plinth runs as `plinth serve` in a child process, so its memory is measured apart from this
 * process's own arrays and load generator: the peak RSS of the server process (event loop,
 * scoring worker and ONNX Runtime threads together) is read from /proc/<pid>/status (VmHWM, reset
 * through clear_refs just before each job) and sampled every 20 ms. The server runs as it does in
 * production, compiled: the bench builds the repository with tsc into a temporary folder first
 * (about 30 s); BENCH_BATCH_SERVER=tsx runs it from the sources under tsx instead (the TypeScript
 * loader in the server and in the scoring worker costs some 70-100 MB more).
 *
 * Two jobs run: the first alone (throughput and memory), the second while autocannon sends a
 * light steady load to the records route from the job's submission until it completes (the
 * online p99 while a job runs, and the job's throughput under that load). The idle p99 is
 * measured just before, with no job. Outputs are checked (row count) after the load stops.
 * Run with `node --import tsx bench/batch.bench.ts`; BENCH_BATCH_ROWS=100000 for a quick run;
 * BENCH_PLINTH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { freePort, startNode, stopAll, waitUntil } from './processes.js';
import { machine } from './report.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 1_000_000);
if (!Number.isInteger(ROWS) || ROWS < 1000) throw new Error(`BENCH_BATCH_ROWS must be an integer >= 1000, got '${process.env.BENCH_BATCH_ROWS}'`);
/** Rows per session.run in the reference, and the job's chunk size unless BENCH_BATCH_CHUNK says otherwise. */
const BATCH = 5000;
const CHUNK = Number(process.env.BENCH_BATCH_CHUNK ?? BATCH);
const CSV = resolve(ROOT, '../shared/fixtures/breast_cancer.csv');
const MODEL = join(ROOT, 'examples/models/breast-cancer/1/model.onnx');
const RECORD = JSON.parse(readFileSync(resolve(ROOT, '../shared/fixtures/one_record.json'), 'utf8')) as Record<string, number>;
const MiB = 2 ** 20;
const SERVER = process.env.BENCH_BATCH_SERVER ?? 'build';
if (SERVER !== 'build' && SERVER !== 'tsx') throw new Error(`BENCH_BATCH_SERVER must be build or tsx, got '${SERVER}'`);

/** Compiles the repository into `dir` (tsc, as `npm run build` does into dist/) and returns the CLI's path. */
async function build(dir: string): Promise<string> {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', dir], { cwd: ROOT, encoding: 'utf8' });
  const main = join(dir, 'src/cli/main.js');
  // Type errors elsewhere in the tree do not stop tsc from emitting: only a missing output does.
  if (!existsSync(main)) throw new Error(`the build failed:\n${tsc.stdout}${tsc.stderr}`);
  await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return main;
}

async function rawRowsPerSecond(lines: string[]): Promise<number> {
  const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  let batches: ort.Tensor[] = [];
  for (let start = 0; start < ROWS; start += BATCH) {
    const n = Math.min(BATCH, ROWS - start);
    const data = new Float32Array(n * 30);
    for (let i = 0; i < n; i++) {
      const cells = lines[(start + i) % lines.length]!.split(',');
      for (let j = 0; j < 30; j++) data[i * 30 + j] = Number(cells[j]);
    }
    batches.push(new ort.Tensor('float32', data, [n, 30]));
  }
  await session.run({ input: batches[0]! });
  const t0 = performance.now();
  for (const t of batches) await session.run({ input: t });
  const seconds = (performance.now() - t0) / 1000;
  batches = [];
  await session.release();
  return ROWS / seconds;
}

interface Latency {
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

const LOAD = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(RECORD), connections: 2, overallRate: 200 } as const;
const latency = (result: autocannon.Result): Latency => ({ p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, errors: result.errors + result.timeouts + result.non2xx });

/** The online route's latency under a light steady load (200 req/s over 2 connections) for `seconds`. */
async function load(url: string, seconds: number): Promise<Latency> {
  return latency(await autocannon({ url, ...LOAD, duration: seconds }));
}

/** The same load until stop() is called (it runs for the whole of a job). */
function loadUntilStopped(url: string): { stop(): Promise<Latency> } {
  let done!: (result: autocannon.Result) => void;
  const finished = new Promise<autocannon.Result>((resolve) => (done = resolve));
  const instance = autocannon({ url, ...LOAD, duration: 3600 }, (err, result) => (err ? done({ ...result, errors: 1 }) : done(result)));
  return {
    async stop() {
      instance.stop();
      return latency(await finished);
    },
  };
}

/** VmRSS or VmHWM of a process, in bytes (Linux). */
function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

async function writeInput(path: string, header: string, lines: string[]): Promise<void> {
  await new Promise<void>((done, fail) => {
    const out = createWriteStream(path);
    out.on('error', fail);
    let i = 0;
    const write = () => {
      let ok = true;
      if (i === 0) out.write(`${header}\n`);
      while (i < ROWS && ok) ok = out.write(`${lines[i++ % lines.length]}\n`);
      if (i < ROWS) out.once('drain', write);
      else out.end(done);
    };
    write();
  });
}

interface JobRun {
  seconds: number;
  rowsPerSecond: number;
  /** Server process: VmHWM over the job (reset before it), and the largest 20 ms sample. */
  peakRss: number;
  sampledRss: number;
  /** Server process RSS just before the job. */
  rssBefore: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-batch-bench-'));
  const models = join(dir, 'models');
  await mkdir(join(models, 'breast-cancer'), { recursive: true });
  await cp(join(ROOT, 'examples/models/breast-cancer'), join(models, 'breast-cancer'), { recursive: true });
  const text = readFileSync(CSV, 'utf8').trim().split(/\r?\n/);
  const header = text[0]!;
  const lines = text.slice(1);
  const input = join(dir, 'input.csv');
  await writeInput(input, header, lines);

  const entry = SERVER === 'build' ? [await build(join(dir, 'build'))] : ['--import', 'tsx', 'src/cli/main.ts'];
  const rawBefore = await rawRowsPerSecond(lines);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const nodeArgs = (process.env.BENCH_PLINTH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = startNode([...nodeArgs, ...entry, 'serve'], ROOT, {
    PLINTH_AUTH: 'off',
    PLINTH_MODELS: models,
    PLINTH_DATA_DIR: join(dir, 'data'),
    PLINTH_PORT: String(port),
    PLINTH_HOST: '127.0.0.1',
    PLINTH_LOG_LEVEL: 'warn',
    PLINTH_MAX_ASSET_MB: '4096',
    PLINTH_JOB_CHUNK_ROWS: String(CHUNK),
  });
  const pid = server.pid!;
  try {
    await waitUntil('plinth', server, async () => (await fetch(`${base}/v2/health/ready`)).ok);
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    await post('/api/v1/deployments', { name: 'bc-batch', kind: 'batch', target: { model: 'breast-cancer' } });
    const rssIdle = procMemory(pid, 'VmRSS');
    const form = new FormData();
    form.append('file', await openAsBlob(input), 'input.csv');
    const uploadStart = performance.now();
    const asset = (await (await fetch(`${base}/api/v1/assets`, { method: 'POST', body: form })).json()) as { rowCount: number };
    const uploadSeconds = (performance.now() - uploadStart) / 1000;
    if (asset.rowCount !== ROWS) throw new Error(`the asset has ${asset.rowCount} rows, not ${ROWS}`);
    const uploadPeak = procMemory(pid, 'VmHWM');

    const online = `${base}/models/breast-cancer/predict`;
    /** Runs a job, with the online load from its submission until it completes when `loaded`; checks its output after that. */
    const runJob = async (name: string, loaded: boolean): Promise<JobRun & { busy?: Latency }> => {
      writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
      const rssBefore = procMemory(pid, 'VmRSS');
      let sampledRss = rssBefore;
      const sampler = setInterval(() => (sampledRss = Math.max(sampledRss, procMemory(pid, 'VmRSS'))), 20);
      const traffic = loaded ? loadUntilStopped(online) : undefined;
      const start = performance.now();
      const job = await post('/api/v1/jobs', { deployment: 'bc-batch', input: { asset: 'input.csv' }, output: { name } });
      if (!job.id) throw new Error(`the job was refused: ${JSON.stringify(job)}`);
      let view: any;
      for (;;) {
        view = await (await fetch(`${base}/api/v1/jobs/${job.id}`)).json();
        if (['completed', 'failed', 'canceled'].includes(view.status)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const seconds = (performance.now() - start) / 1000;
      const busy = await traffic?.stop();
      clearInterval(sampler);
      const peakRss = procMemory(pid, 'VmHWM');
      if (view.status !== 'completed') throw new Error(`the job ${view.status}: ${view.error}`);
      // Checked once the load has stopped: downloading 40 MB is no part of what the load measures.
      const out = await (await fetch(`${base}${view.output.url}`)).text();
      const outRows = out.split('\n').length - 2;
      if (outRows !== ROWS) throw new Error(`the output has ${outRows} rows, not ${ROWS}`);
      return { seconds, rowsPerSecond: ROWS / seconds, peakRss, sampledRss, rssBefore, busy };
    };

    const alone = await runJob('scored-alone.csv', false);

    await load(online, 2); // warm-up
    const idle = await load(online, 5);
    const loaded = await runJob('scored-loaded.csv', true);
    const busy = loaded.busy!;
    if (idle.errors || busy.errors) throw new Error(`online requests failed: ${idle.errors} idle, ${busy.errors} busy`);

    await stopAll();
    const rawAfter = await rawRowsPerSecond(lines);
    const raw = Math.max(rawBefore, rawAfter);
    const ratio = alone.rowsPerSecond / raw;
    const ratioLoaded = loaded.rowsPerSecond / raw;
    const benchPeak = procMemory(process.pid, 'VmHWM');
    const date = new Date();
    const mb = (b: number) => (b / MiB).toFixed(0);
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    const peak = Math.max(alone.peakRss, loaded.peakRss);
    const p99Ratio = busy.p99 / Math.max(idle.p99, 0.01);
    const report = `# Batch scoring bench

${machine(date, ROOT)}
- input: breast_cancer.csv repeated to ${ROWS.toLocaleString('en-US')} rows (${mb(Buffer.byteLength(header) + lines.join('\n').length * (ROWS / lines.length))} MiB), model rf_breast_cancer.onnx (100 trees), chunks of ${CHUNK} rows, 1 intra-op thread
- server: \`plinth serve\` in a child process, ${SERVER === 'build' ? 'compiled with tsc (as in production)' : 'from the sources under tsx (BENCH_BATCH_SERVER=tsx)'}; the reference and the load generator run in the bench process
- job: submitted over HTTP on the uploaded asset, until the output CSV is written and the job \`completed\` (rows/s over the whole job: worker start, scoring, commits, output assembly, polling)

| measurement | value |
|---|---:|
| raw batched session.run on pre-built Float32Arrays, ${BATCH} rows a run (same run: before / after the jobs) | ${n(rawBefore)} / ${n(rawAfter)} rows/s |
| Plinth batch job, asset -> CSV, alone | ${n(alone.rowsPerSecond)} rows/s (${alone.seconds.toFixed(2)} s) |
| ratio to the faster raw run (target >= 0.5x) | ${ratio.toFixed(2)}x |
| Plinth batch job while the online route is under load | ${n(loaded.rowsPerSecond)} rows/s (${loaded.seconds.toFixed(2)} s), ${ratioLoaded.toFixed(2)}x |
| peak RSS of the server process during the job (VmHWM: event loop + scoring threads; target < 300 MB = 286 MiB), alone / under load | ${mb(alone.peakRss)} / ${mb(loaded.peakRss)} MiB (${(alone.peakRss / 1e6).toFixed(0)} / ${(loaded.peakRss / 1e6).toFixed(0)} MB) |
| server RSS: idle after start / just before the job / largest 20 ms sample during it | ${mb(rssIdle)} / ${mb(alone.rssBefore)} / ${mb(alone.sampledRss)} MiB |
| server peak RSS during the upload (not part of the target) | ${mb(uploadPeak)} MiB |
| peak RSS of the bench process (reference arrays, load generator, output check; not the server) | ${mb(benchPeak)} MiB |
| upload of the asset (stream + analysis) | ${uploadSeconds.toFixed(2)} s |
| online records route p50 / p99, idle (200 req/s, 2 connections, 5 s: ${idle.requests} requests) | ${idle.p50.toFixed(2)} / ${idle.p99.toFixed(2)} ms |
| online records route p50 / p99, while the job runs (from its submission until it completes: ${busy.requests} requests) | ${busy.p50.toFixed(2)} / ${busy.p99.toFixed(2)} ms |
| p99 while busy / idle (target <= 2x) | ${p99Ratio.toFixed(2)}x |

- targets: ratio ${ratio >= 0.5 ? 'met' : '**NOT met**'} (under load: ${ratioLoaded >= 0.5 ? 'met' : '**NOT met**'}); peak RSS ${peak < 300 * 1e6 ? 'met' : '**NOT met**'}; online p99 ${busy.p99 <= 2 * idle.p99 ? 'met' : '**NOT met**'}
`;
    const dirOut = join(ROOT, 'bench/results');
    await mkdir(dirOut, { recursive: true });
    await writeFile(join(dirOut, `batch-${date.toISOString().slice(0, 10)}.md`), report);
    await writeFile(join(dirOut, 'batch-latest.md'), report);
    console.log(report);
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
