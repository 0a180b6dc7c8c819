/**
 * A slow model under load must not take the server with it (issue 12): while the slow MatMul
 * model (test/fixtures/slow-model.builder.ts, 50 MatMuls of 512x512 per row) serves 64
 * connections, `/v2/health/live` p99 stays under 20 ms and the breast-cancer forest's p99 at 16
 * connections stays within 2x of its idle p99. Measured twice in the same run: with Plinth's
 * default execution (auto: the slow model runs in an instance group thread, the forest inline)
 * and with PLINTH_EXECUTION=inline (every session on the event loop, as before instance groups),
 * the reference the ratios are read against. Run with `npm run bench:slow`; BENCH_DURATION sets
 * the seconds per phase.
 */
import autocannon from 'autocannon';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSlowModel, SLOW_INPUT_WIDTH } from '../test/fixtures/slow-model.builder.js';
import { MODEL_NAME, MODELS_DIR, RECORD, ROOT } from './breast-cancer.js';
import { freePort, startNode, stopAll, waitUntil } from './processes.js';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
if (!(DURATION_S > 0)) throw new Error(`BENCH_DURATION must be a positive number of seconds, got '${process.env.BENCH_DURATION}'`);
/** Rows per slow request: about 20 ms of compute each on one core. */
const SLOW_ROWS = 16;
const HEALTH_P99_MAX_MS = 20;
const FAST_P99_MAX_RATIO = 2;

interface Load {
  requests: number;
  seconds: number;
  latencies: number[];
  errors: number;
  statuses: Map<number, number>;
}

function load(url: string, connections: number, seconds: number, body?: string): Promise<Load> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  return new Promise((done, fail) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        ...(body !== undefined && { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
      },
      (err, result) => (err ? fail(err) : done({ requests: result.requests.total, seconds: result.duration, latencies, errors: result.errors, statuses })),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });
}

/** A latency for the table; an empty phase got no answer at all (every request waited out the phase). */
const ms = (values: number[], p: number) => (values.length ? percentile(values, p).toFixed(2) : 'no answer');
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
};
const merged = (a: Map<number, number>, b: Map<number, number>) => {
  const all = new Map(a);
  for (const [s, n] of b) all.set(s, (all.get(s) ?? 0) + n);
  return all;
};
const statusText = (l: Load) => [...l.statuses].map(([s, n]) => `${s}: ${n}`).join(', ') + (l.errors ? `, errors: ${l.errors}` : '');

interface Phase {
  execution: string;
  fastIdle: Load;
  healthIdle: Load;
  /** Under the slow model's load: liveness alone, then the forest alone (each beside the slow load). */
  health: Load;
  fast: Load;
  slow: Load;
}

async function phase(modelsDir: string, execution: 'auto' | 'inline'): Promise<Phase> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = startNode(
    [join(ROOT, 'dist/src/cli/main.js'), 'serve', '--models', modelsDir, '--host', '127.0.0.1', '--port', String(port), '--public-models', '*'],
    ROOT,
    { PLINTH_LOG_LEVEL: 'warn', PLINTH_DATA_DIR: join(modelsDir, `.data-${execution}`), PLINTH_EXECUTION: execution, PLINTH_MAX_QUEUE_SIZE: '128' },
  );
  const fastUrl = `${base}/models/${MODEL_NAME}/predict`;
  const record = JSON.stringify(RECORD);
  const slowBody = JSON.stringify({ inputs: [{ name: 'x', shape: [SLOW_ROWS, SLOW_INPUT_WIDTH], datatype: 'FP32', data: new Array(SLOW_ROWS * SLOW_INPUT_WIDTH).fill(1) }] });
  await waitUntil(`plinth (${execution})`, child, async () => (await fetch(fastUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: record })).ok);
  await load(fastUrl, 16, 2, record); // warm-up
  const slowUrl = `${base}/v2/models/slow/infer`;
  const liveUrl = `${base}/v2/health/live`;
  process.stderr.write(`  ${execution}: idle\n`);
  const healthIdle = await load(liveUrl, 1, DURATION_S);
  const fastIdle = await load(fastUrl, 16, DURATION_S, record);
  process.stderr.write(`  ${execution}: slow model at 64 connections\n`);
  const [slowWithHealth, health] = await Promise.all([load(slowUrl, 64, DURATION_S, slowBody), load(liveUrl, 1, DURATION_S)]);
  const [slowWithFast, fast] = await Promise.all([load(slowUrl, 64, DURATION_S, slowBody), load(fastUrl, 16, DURATION_S, record)]);
  await stopAll();
  const slow = { ...slowWithHealth, requests: slowWithHealth.requests + slowWithFast.requests, seconds: slowWithHealth.seconds + slowWithFast.seconds, latencies: [...slowWithHealth.latencies, ...slowWithFast.latencies], errors: slowWithHealth.errors + slowWithFast.errors, statuses: merged(slowWithHealth.statuses, slowWithFast.statuses) };
  return { execution, fastIdle, healthIdle, fast, health, slow };
}

function render(phases: Phase[], date: Date): string {
  const rows = phases.map((p) => {
    const ratio = percentile(p.fast.latencies, 0.99) / percentile(p.fastIdle.latencies, 0.99);
    return `| ${p.execution} | ${ms(p.healthIdle.latencies, 0.99)} | ${ms(p.health.latencies, 0.99)} | ${ms(p.fastIdle.latencies, 0.99)} | ${ms(p.fast.latencies, 0.99)} | ${Number.isNaN(ratio) ? '-' : `${ratio.toFixed(2)}x`} | ${(p.slow.requests / p.slow.seconds).toFixed(1)} | ${percentile(p.slow.latencies, 0.5).toFixed(0)} | ${statusText(p.slow)} |`;
  });
  const auto = phases.find((p) => p.execution === 'auto')!;
  const healthP99 = percentile(auto.health.latencies, 0.99);
  const fastRatio = percentile(auto.fast.latencies, 0.99) / percentile(auto.fastIdle.latencies, 0.99);
  return `# Slow-model benchmark, ${date.toISOString().slice(0, 10)}

- date: ${date.toISOString()}
- node ${process.version}, ${DURATION_S} s per phase; autocannon in the bench process on the same 2-core machine
- slow model: 50 MatMuls of 512x512 per row, ${SLOW_ROWS} rows per request (test/fixtures/slow-model.builder.ts); fast model: the breast-cancer forest, one record per request

Idle: liveness over 1 connection, then the forest over 16. Under load: while the slow model serves 64 connections,
liveness over 1 connection, then (with the slow load again) the forest over 16. \`no answer\`: not one request answered in the phase.
\`inline\` is every session on the event loop (PLINTH_EXECUTION=inline, as before instance groups); \`auto\` is the default
(the slow model in one instance-group thread, the forest inline).

| execution | health p99 idle ms | health p99 under load ms | forest p99 idle ms | forest p99 under load ms | forest p99 ratio | slow req/s | slow p50 ms | slow answers |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}

Targets (auto): health p99 under load < ${HEALTH_P99_MAX_MS} ms: ${healthP99.toFixed(2)} ms, ${healthP99 < HEALTH_P99_MAX_MS ? 'met' : '**NOT met**'};
forest p99 under load within ${FAST_P99_MAX_RATIO}x of idle: ${fastRatio.toFixed(2)}x, ${fastRatio <= FAST_P99_MAX_RATIO ? 'met' : '**NOT met**'}.
`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-slow-bench-'));
  try {
    await mkdir(join(dir, 'slow', '1'), { recursive: true });
    await writeFile(join(dir, 'slow', '1', 'model.onnx'), buildSlowModel());
    await mkdir(join(dir, MODEL_NAME, '1'), { recursive: true });
    for (const file of ['model.onnx', 'model.yaml']) await copyFile(join(MODELS_DIR, MODEL_NAME, '1', file), join(dir, MODEL_NAME, '1', file));
    const phases = [await phase(dir, 'inline'), await phase(dir, 'auto')];
    const date = new Date();
    const report = render(phases, date);
    const results = join(ROOT, 'bench/results');
    await writeFile(join(results, `slow-model-${date.toISOString().slice(0, 10)}.md`), report);
    await writeFile(join(results, 'slow-model-latest.md'), report);
    console.log(report);
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
