/**
 * Time from `POST /api/v1/deployments` to its 201 `ready` answer for rf_breast_cancer.onnx
 * (issue 3: "ready in under 500 ms"), against the floor measured in the same run: creating an
 * ONNX Runtime session for the same file in this process. The server runs in this process on a
 * loopback port with a fresh data directory; every deployment has its own name, so each loads its
 * own session. Run with `npm run bench:deploy`; BENCH_DEPLOYMENTS sets how many (default 30).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildApp } from '../src/app.js';
import { adminBearer, BENCH_ADMIN_PASSWORD } from './bench-auth.js';
import { loadConfig } from '../src/config/config.js';
import { machine } from './report.js';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = resolve(ROOT, '../shared/fixtures/rf_breast_cancer.onnx');
const COUNT = Number(process.env.BENCH_DEPLOYMENTS ?? 30);
if (!Number.isInteger(COUNT) || COUNT < 5) throw new Error(`BENCH_DEPLOYMENTS must be an integer >= 5, got '${process.env.BENCH_DEPLOYMENTS}'`);
const TARGET_MS = 500;

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const ms = (n: number) => n.toFixed(1);

async function sessionCreateMs(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const start = performance.now();
    const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    times.push(performance.now() - start);
    await session.release();
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-deploy-bench-'));
  const models = join(dir, 'models');
  await mkdir(models);
  const plinth = await buildApp(loadConfig({ modelsDir: models, dataDir: join(dir, 'data'), logLevel: 'warn', sessionBudgetMb: 0, adminPassword: BENCH_ADMIN_PASSWORD }, {}));
  try {
    const base = await plinth.app.listen({ host: '127.0.0.1', port: 0 });
    const auth = await adminBearer(base, ['deployments:write', 'models:read']);
    await plinth.registry.uploadVersion({ name: 'rf', filename: 'model.onnx', stream: createReadStream(MODEL) });
    // Warm-up: the first deployment also fills the artifact cache, as the first one after an upload does.
    const deploy = async (name: string) => {
      const start = performance.now();
      const r = await fetch(`${base}/api/v1/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ name, target: { model: 'models:/rf/1' }, authMode: 'public' }),
      });
      const body = (await r.json()) as { status: string };
      if (r.status !== 201 || body.status !== 'ready') throw new Error(`deployment ${name}: ${r.status} ${JSON.stringify(body)}`);
      return performance.now() - start;
    };
    const first = await deploy('rf-first');
    const floor = await sessionCreateMs();
    const times: number[] = [];
    for (let i = 0; i < COUNT; i++) times.push(await deploy(`rf-${i}`));
    times.sort((a, b) => a - b);

    const date = new Date();
    const p50 = quantile(times, 0.5);
    const p99 = quantile(times, 0.99);
    const report = `# Deployment readiness bench

${machine(date, ROOT)}
- model: rf_breast_cancer.onnx (100 trees, depth 8, 30 features), ${COUNT} deployments, one at a time

| measurement | p50 ms | p99 ms | max ms |
|---|---:|---:|---:|
| POST /api/v1/deployments -> 201 ready | ${ms(p50)} | ${ms(p99)} | ${ms(times.at(-1)!)} |
| ORT session create, same file, same process (floor) | ${ms(quantile(floor, 0.5))} | ${ms(quantile(floor, 0.99))} | ${ms(floor.at(-1)!)} |

- first deployment after the upload (fills the artifact cache): ${ms(first)} ms
- deployment p50 / session-create p50: ${(p50 / quantile(floor, 0.5)).toFixed(2)}x
- target: ready in under ${TARGET_MS} ms at p99: ${p99 < TARGET_MS && first < TARGET_MS ? 'met' : 'MISSED'}
`;
    const out = join(ROOT, 'bench/results');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, `deploy-${date.toISOString().slice(0, 10)}.md`), report);
    await writeFile(join(out, 'deploy-latest.md'), report);
    console.log(report);
  } finally {
    await plinth.app.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
