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
 * A first job runs alone (throughput and memory). Then BENCH_BATCH_ROUNDS (default 3) rounds of:
 * a light steady load on the online records route for 5 s with no job (idle p99), then the same
 * load from a job's submission until it completes (p99 while a job runs, and the job's
 * throughput under that load). The p99 target is judged on the medians of the rounds (the
 * machine may be shared); every round is reported. Outputs are checked after the load stops.
 * Last, explanations: BENCH_BATCH_EXPLAIN_ROWS rows (default 100,000, at most BENCH_BATCH_ROWS) scored
 * alone without and then with `explanations: true` (path-dependent tree SHAP per row), their
 * ratio the cost of the explanation columns.
 * Run with `node --import tsx bench/batch.bench.ts`; BENCH_BATCH_ROWS=100000 for a quick run;
 * BENCH_PLINTH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { freePort, startNode, stopAll, waitUntil } from './processes.js';
import { machine } from './report.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 1_000_000);
if (!Number.isInteger(ROWS) || ROWS < 1000) throw new Error(`BENCH_BATCH_ROWS must be an integer >= 1000, got '${process.env.BENCH_BATCH_ROWS}'`);
/** Rows per session.run in the reference, and the job's chunk size unless BENCH_BATCH_CHUNK says otherwise. */
const BATCH = 5000;
/** Rounds of idle / loaded online latency measurements. */
const ROUNDS = Number(process.env.BENCH_BATCH_ROUNDS ?? 3);
const CHUNK = Number(process.env.BENCH_BATCH_CHUNK ?? BATCH);
const EXPLAIN_ROWS = Math.min(ROWS, Number(process.env.BENCH_BATCH_EXPLAIN_ROWS ?? 100_000));
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
  max: number;
  requests: number;
  errors: number;
}

/**
 * A light steady load on the online records route: `rate` requests per second over
 * `connections` keep-alive connections, each request sent when it is due (or as soon as the
 * previous one on its connection answered), every latency recorded to the microsecond.
 */
function onlineLoad(url: string, rate = 200, connections = 2): { stop(): Promise<Latency> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const body = JSON.stringify(RECORD);
  const latencies: number[] = [];
  let errors = 0;
  let stopped = false;
  const send = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - start);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const loop = async (offset: number) => {
    const interval = (1000 * connections) / rate;
    let due = performance.now() + offset;
    while (!stopped) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      due += interval;
      await send();
    }
  };
  const loops = Array.from({ length: connections }, (_, i) => loop((i * 1000) / rate));
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
      return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN, requests: sorted.length, errors };
    },
  };
}

async function loadFor(url: string, seconds: number): Promise<Latency> {
  const traffic = onlineLoad(url);
  await sleep(seconds * 1000);
  return traffic.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** VmRSS or VmHWM of a process, in bytes (Linux). */
function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

async function writeInput(path: string, header: string, lines: string[], rows = ROWS): Promise<void> {
  await new Promise<void>((done, fail) => {
    const out = createWriteStream(path);
    out.on('error', fail);
    let i = 0;
    const write = () => {
      let ok = true;
      if (i === 0) out.write(`${header}\n`);
      while (i < rows && ok) ok = out.write(`${lines[i++ % lines.length]}\n`);
      if (i < rows) out.once('drain', write);
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
  const loadAtStart = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'plinth-batch-bench-'));
  const models = join(dir, 'models');
  await mkdir(join(models, 'breast-cancer'), { recursive: true });
  await cp(join(ROOT, 'examples/models/breast-cancer'), join(models, 'breast-cancer'), { recursive: true });
  const text = readFileSync(CSV, 'utf8').trim().split(/\r?\n/);
  const header = text[0]!;
  const lines = text.slice(1);
  const input = join(dir, 'input.csv');
  await writeInput(input, header, lines);
  const explainInput = join(dir, 'explain.csv');
  await writeInput(explainInput, header, lines, EXPLAIN_ROWS);

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
    const upload = async (path: string, name: string, rows: number) => {
      const form = new FormData();
      form.append('file', await openAsBlob(path), name);
      const asset = (await (await fetch(`${base}/api/v1/assets`, { method: 'POST', body: form })).json()) as { rowCount: number };
      if (asset.rowCount !== rows) throw new Error(`the asset has ${asset.rowCount} rows, not ${rows}`);
    };
    const uploadStart = performance.now();
    await upload(input, 'input.csv', ROWS);
    const uploadSeconds = (performance.now() - uploadStart) / 1000;
    const uploadPeak = procMemory(pid, 'VmHWM');

    const online = `${base}/models/breast-cancer/predict`;
    /** Runs a job, with the online load from its submission until it completes when `loaded`; checks its output after that. */
    const runJob = async (name: string, loaded: boolean, data = { asset: 'input.csv', rows: ROWS, explanations: false }): Promise<JobRun & { busy?: Latency }> => {
      writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
      const rssBefore = procMemory(pid, 'VmRSS');
      let sampledRss = rssBefore;
      const sampler = setInterval(() => (sampledRss = Math.max(sampledRss, procMemory(pid, 'VmRSS'))), 20);
      const traffic = loaded ? onlineLoad(online) : undefined;
      const start = performance.now();
      const job = await post('/api/v1/jobs', { deployment: 'bc-batch', input: { asset: data.asset }, output: { name }, explanations: data.explanations });
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
      if (outRows !== data.rows) throw new Error(`the output has ${outRows} rows, not ${data.rows}`);
      if (out.slice(0, out.indexOf('\n')).includes('shap_base') !== data.explanations) throw new Error(`the output's header is wrong: ${out.slice(0, 200)}`);
      return { seconds, rowsPerSecond: data.rows / seconds, peakRss, sampledRss, rssBefore, busy };
    };

    const alone = await runJob('scored-alone.csv', false);

    // Rounds of (online load alone, then online load while a job runs): the machine is shared, so
    // the p99 target is judged on the medians of the rounds, and every round is reported.
    await loadFor(online, 2); // warm-up
    const rounds: { idle: Latency; busy: Latency; job: JobRun }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const idle = await loadFor(online, 5);
      const job = await runJob(`scored-loaded-${r}.csv`, true);
      rounds.push({ idle, busy: job.busy!, job });
      if (idle.errors || job.busy!.errors) throw new Error(`online requests failed: ${idle.errors} idle, ${job.busy!.errors} while the job ran`);
    }
    const idleP99 = median(rounds.map((r) => r.idle.p99));
    const busyP99 = median(rounds.map((r) => r.busy.p99));
    const loadedRate = median(rounds.map((r) => r.job.rowsPerSecond));

    // Explanations: the same job on a smaller asset, without and with explanation columns.
    await upload(explainInput, 'explain.csv', EXPLAIN_ROWS);
    const plain = await runJob('explain-off.csv', false, { asset: 'explain.csv', rows: EXPLAIN_ROWS, explanations: false });
    const explained = await runJob('explain-on.csv', false, { asset: 'explain.csv', rows: EXPLAIN_ROWS, explanations: true });

    await stopAll();
    const rawAfter = await rawRowsPerSecond(lines);
    const raw = Math.max(rawBefore, rawAfter);
    const ratio = alone.rowsPerSecond / raw;
    const ratioLoaded = loadedRate / raw;
    const benchPeak = procMemory(process.pid, 'VmHWM');
    const date = new Date();
    const mb = (b: number) => (b / MiB).toFixed(0);
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    const peak = Math.max(alone.peakRss, ...rounds.map((r) => r.job.peakRss));
    const p99Ratio = busyP99 / idleP99;
    const ms = (x: number) => x.toFixed(1);
    const report = `# Batch scoring bench

${machine(date, ROOT)}
- input: breast_cancer.csv repeated to ${ROWS.toLocaleString('en-US')} rows (${mb(Buffer.byteLength(header) + lines.join('\n').length * (ROWS / lines.length))} MiB), model rf_breast_cancer.onnx (100 trees), chunks of ${CHUNK} rows, 1 intra-op thread
- machine load (1-minute load average, 2 cores shared with other work) at the start / end of the bench: ${loadAtStart.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}
- server: \`plinth serve\` in a child process, ${SERVER === 'build' ? 'compiled with tsc (as in production)' : 'from the sources under tsx (BENCH_BATCH_SERVER=tsx)'}; the reference and the load generator run in the bench process
- job: submitted over HTTP on the uploaded asset, until the output CSV is written and the job \`completed\` (rows/s over the whole job: worker start, scoring, commits, output assembly, polling)

| measurement | value |
|---|---:|
| raw batched session.run on pre-built Float32Arrays, ${BATCH} rows a run (same run: before / after the jobs) | ${n(rawBefore)} / ${n(rawAfter)} rows/s |
| Plinth batch job, asset -> CSV, alone | ${n(alone.rowsPerSecond)} rows/s (${alone.seconds.toFixed(2)} s) |
| ratio to the faster raw run (target >= 0.5x) | ${ratio.toFixed(2)}x |
| Plinth batch job while the online route is under load (median of ${ROUNDS}: ${rounds.map((r) => n(r.job.rowsPerSecond)).join(', ')}) | ${n(loadedRate)} rows/s, ${ratioLoaded.toFixed(2)}x |
| peak RSS of the server process during a job (VmHWM: event loop + scoring threads; target < 300 MB = 286 MiB), alone / largest under load | ${mb(alone.peakRss)} / ${mb(Math.max(...rounds.map((r) => r.job.peakRss)))} MiB (${(alone.peakRss / 1e6).toFixed(0)} / ${(Math.max(...rounds.map((r) => r.job.peakRss)) / 1e6).toFixed(0)} MB) |
| server RSS: idle after start / just before the job / largest 20 ms sample during it | ${mb(rssIdle)} / ${mb(alone.rssBefore)} / ${mb(alone.sampledRss)} MiB |
| server peak RSS during the upload (not part of the target) | ${mb(uploadPeak)} MiB |
| peak RSS of the bench process (reference arrays, load generator, output check; not the server) | ${mb(benchPeak)} MiB |
| upload of the asset (stream + analysis) | ${uploadSeconds.toFixed(2)} s |
| online records route p99, idle (200 req/s over 2 connections, 5 s), by round | ${rounds.map((r) => ms(r.idle.p99)).join(' / ')} ms (p50 ${rounds.map((r) => ms(r.idle.p50)).join(' / ')}) |
| online records route p99 while a job runs (the same load from its submission until it completes), by round | ${rounds.map((r) => ms(r.busy.p99)).join(' / ')} ms (p50 ${rounds.map((r) => ms(r.busy.p50)).join(' / ')}; max ${rounds.map((r) => ms(r.busy.max)).join(' / ')}) |
| p99 while a job runs / idle, medians of the rounds (target <= 2x) | ${ms(busyP99)} / ${ms(idleP99)} ms = ${p99Ratio.toFixed(2)}x |
| ${n(EXPLAIN_ROWS)} rows with \`explanations: true\` (shap_base + 30 shap_<feature> columns, path-dependent tree SHAP), alone | ${n(explained.rowsPerSecond)} rows/s (${explained.seconds.toFixed(2)} s) |
| the same ${n(EXPLAIN_ROWS)} rows without explanations / ratio with to without | ${n(plain.rowsPerSecond)} rows/s (${plain.seconds.toFixed(2)} s) / ${(explained.rowsPerSecond / plain.rowsPerSecond).toFixed(3)}x |
| peak RSS of the server process (VmHWM) during those ${n(EXPLAIN_ROWS)} rows, with / without explanations | ${mb(explained.peakRss)} / ${mb(plain.peakRss)} MiB |

- targets: ratio ${ratio >= 0.5 ? 'met' : '**NOT met**'} (under load: ${ratioLoaded >= 0.5 ? 'met' : '**NOT met**'}); peak RSS ${peak < 300 * 1e6 ? 'met' : '**NOT met**'}; online p99 ${p99Ratio <= 2 ? 'met' : '**NOT met**'}
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
