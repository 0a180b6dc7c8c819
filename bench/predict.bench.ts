/**
 * Single-record prediction throughput and latency: Plinth's records and V2 routes against the
 * bare reference server, measured in the same run so the ratios cancel out the machine.
 * Run with `npm run bench` (builds first); BENCH_DURATION sets the seconds per scenario, BENCH_ROUNDS
 * how many alternating slices they are cut into.
 * See bench/README.md.
 */
import autocannon from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURES, MODEL_NAME, MODELS_DIR, openSession, RECORD, ROOT, toInput } from './breast-cancer.js';
import { freePort, startNode, stopAll, waitUntil } from './processes.js';
import { renderReport, type Row } from './report.js';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
if (!(DURATION_S > 0)) throw new Error(`BENCH_DURATION must be a positive number of seconds, got '${process.env.BENCH_DURATION}'`);
/** Each scenario's time is split into rounds run in alternating order (A B C, then C B A), so drift and noise hit every server alike. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got '${process.env.BENCH_ROUNDS}'`);
const CONNECTIONS = [1, 16, 64];
const WARMUP_S = Math.min(3, DURATION_S);
const SESSION_LOOP_S = 3;
/** Extra node flags for the Plinth process only, e.g. BENCH_PLINTH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const PLINTH_NODE_ARGS = (process.env.BENCH_PLINTH_NODE_ARGS ?? '').split(' ').filter(Boolean);

interface Target {
  server: string;
  url: string;
  body: string;
  child: ChildProcess;
}

interface Slice {
  requests: number;
  seconds: number;
  /** Every response time in ms: autocannon's own histogram rounds to whole ms, too coarse here. */
  latencies: number[];
  errors: number;
  non2xx: number;
  /** CPU time the server process used during the slice, in µs (Linux /proc; NaN elsewhere). */
  cpuUs: number;
}

/**
 * A process's user + system CPU time in µs from /proc/<pid>/stat (clock ticks, 100 per second on
 * Linux). CPU per request does not depend on how the 2 cores are shared with the load generator,
 * so it is the steadier measure of what each server's code costs.
 */
function cpuTimeUs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

/** One autocannon run of `seconds` against one target: the only place load is generated. */
function runLoad(target: Target, connections: number, seconds: number): Promise<Slice> {
  const latencies: number[] = [];
  const cpuBefore = cpuTimeUs(target.child.pid);
  return new Promise((done, fail) => {
    const instance = autocannon({
      url: target.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: target.body,
      connections,
      pipelining: 1,
      duration: seconds,
    }, (err, result) => {
      if (err) return fail(err);
      const cpuUs = cpuTimeUs(target.child.pid) - cpuBefore;
      done({ requests: result.requests.total, seconds: result.duration, latencies, errors: result.errors, non2xx: result.non2xx, cpuUs });
    });
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;

function toRow(server: string, connections: number, slices: Slice[]): Row {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const sum = (f: (s: Slice) => number) => slices.reduce((acc, s) => acc + f(s), 0);
  return {
    server,
    connections,
    reqPerSec: sum((s) => s.requests) / sum((s) => s.seconds),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors: sum((s) => s.errors),
    non2xx: sum((s) => s.non2xx),
    cpuUsPerRequest: sum((s) => s.cpuUs) / sum((s) => s.requests),
  };
}

/** Every target at every connection count, rounds interleaved; rows ordered by connections then target. */
async function measure(targets: Target[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const connections of CONNECTIONS) {
    const slices = new Map<Target, Slice[]>(targets.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...targets].reverse() : targets;
      for (const target of order) {
        process.stderr.write(`  ${connections} conn, round ${round + 1}/${ROUNDS}: ${target.server}\n`);
        slices.get(target)!.push(await runLoad(target, connections, DURATION_S / ROUNDS));
      }
    }
    for (const target of targets) rows.push(toRow(target.server, connections, slices.get(target)!));
  }
  return rows;
}

/** The ceiling with no HTTP at all: session.run on one record, back to back, on an otherwise idle process. */
async function sessionRunRate(seconds: number): Promise<number> {
  const session = await openSession();
  try {
    const feeds = { input: toInput(RECORD) };
    for (let i = 0; i < 500; i++) await session.run(feeds); // warm-up
    let calls = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      await session.run(feeds);
      calls++;
    }
    return calls / ((performance.now() - start) / 1000);
  } finally {
    await session.release();
  }
}

/** One text through the Pega route and the TF-IDF + linear intent model (issue 5's bench). */
const PEGA_BODY = JSON.stringify({ modelIdentifier: 'intents-tfidf', text: "where is my order? it's late and I need it for friday" });
const PEGA_MIN_RATIO = 0.7;

/** The Pega text route against the records route on the forest, at 16 connections, same run. */
function pegaSection(rows: Row[]): string {
  const at = (server: string) => rows.find((r) => r.server === server && r.connections === 16)!;
  const ratio = at('plinth pega').reqPerSec / at('plinth records').reqPerSec;
  return `
## Pega text route

Single texts to \`POST /noauth/predict\` (intents-tfidf: TF-IDF + linear model in one ONNX graph) against single
records to the records route on the breast-cancer forest, 16 connections, same run: ${at('plinth pega').reqPerSec.toFixed(0)} vs
${at('plinth records').reqPerSec.toFixed(0)} req/s = ${ratio.toFixed(2)}x (target >= ${PEGA_MIN_RATIO}x: ${ratio >= PEGA_MIN_RATIO ? 'met' : '**NOT met**'}), p99 ${at('plinth pega').p99Ms.toFixed(2)} ms.
`;
}

async function startTargets(): Promise<Target[]> {
  const [plinthPort, referencePort] = await Promise.all([freePort(), freePort()]);
  const plinth = startNode(
    // Public models: the bench measures serving, not token checks; a fresh data directory per run.
    [...PLINTH_NODE_ARGS, join(ROOT, 'dist/src/cli/main.js'), 'serve', '--models', MODELS_DIR, '--host', '127.0.0.1', '--port', String(plinthPort), '--public-models', '*'],
    ROOT,
    { PLINTH_LOG_LEVEL: process.env.PLINTH_LOG_LEVEL ?? 'warn', PLINTH_DATA_DIR: join(tmpdir(), `plinth-bench-${process.pid}`) },
  );
  const reference = startNode(['--import', 'tsx', join(ROOT, 'bench/reference-server.ts'), String(referencePort)], ROOT);
  const record = JSON.stringify(RECORD);
  const tensor = JSON.stringify({ inputs: [{ name: 'input', shape: [1, FEATURES.length], datatype: 'FP32', data: FEATURES.map((f) => RECORD[f]) }] });
  const plinthUrl = `http://127.0.0.1:${plinthPort}`;
  return [
    { server: 'reference', url: `http://127.0.0.1:${referencePort}/predict`, body: record, child: reference },
    { server: 'plinth records', url: `${plinthUrl}/models/${MODEL_NAME}/predict`, body: record, child: plinth },
    { server: 'plinth v2', url: `${plinthUrl}/v2/models/${MODEL_NAME}/infer`, body: tensor, child: plinth },
    { server: 'plinth pega', url: `${plinthUrl}/noauth/predict`, body: PEGA_BODY, child: plinth },
  ];
}

/** Ready means the real request succeeds: the port is open, the model loaded and the body accepted. */
async function waitReady(target: Target): Promise<void> {
  const post = () => fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: target.body, signal: AbortSignal.timeout(5_000) });
  await waitUntil(target.server, target.child, async () => (await post()).ok);
  process.stderr.write(`${target.server} ready: ${(await (await post()).text()).slice(0, 120)}\n`);
}

async function main(): Promise<void> {
  // First, while nothing else runs, so the ceiling is not disturbed by the servers.
  const sessionRunPerSec = await sessionRunRate(SESSION_LOOP_S);
  const targets = await startTargets();
  for (const target of targets) await waitReady(target);
  for (const target of targets) await runLoad(target, 16, WARMUP_S); // JIT, ORT arenas, sockets
  const rows = await measure(targets);

  const date = new Date();
  const report = renderReport({
    date,
    durationS: DURATION_S,
    rounds: ROUNDS,
    rows,
    sessionRunPerSec,
    reference: 'reference',
    compared: [{ label: 'records', server: 'plinth records' }, { label: 'V2', server: 'plinth v2' }],
  }, ROOT);
  const dir = join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const full = report + pegaSection(rows);
  await writeFile(join(dir, `predict-${date.toISOString().slice(0, 10)}.md`), full);
  await writeFile(join(dir, 'latest.md'), full);
  console.log(full);
  // Errors make the numbers meaningless: fail the run (the report still says which scenario).
  if (rows.some((row) => row.errors || row.non2xx)) process.exitCode = 1;
}

try {
  await main();
} finally {
  await stopAll();
}
