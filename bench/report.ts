/** Turns measurements into the markdown written to bench/results/ (see bench/README.md for how to read it). */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';

export interface Row {
  server: string;
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Server CPU time per request, µs. */
  cpuUsPerRequest: number;
}

export interface Report {
  date: Date;
  durationS: number;
  rounds: number;
  rows: Row[];
  sessionRunPerSec: number;
  /** Which server every ratio divides by, and the two it is compared with. */
  reference: string;
  compared: { label: string; server: string }[];
}

/** Targets from bench/README.md: what Plinth must keep of the bare server at 16 connections. */
const TARGET_CONNECTIONS = 16;
const MIN_RATIO = 0.8;
const MAX_P99_MS = 5;

const fixed = (n: number, digits: number) => n.toFixed(digits);

function gitCommit(cwd: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Date, Node and ORT versions, CPU and commit: the header every bench report starts with. */
export function machine(date: Date, root: string): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  return [
    `- date: ${date.toISOString()}`,
    `- node ${process.version}, onnxruntime-node ${ort.env.versions.node}, ${process.platform}/${process.arch}`,
    `- cpu: ${cpu}, ${availableParallelism()} cores, ${fixed(totalmem() / 2 ** 30, 1)} GiB RAM`,
    `- commit: ${gitCommit(root)}`,
  ].join('\n');
}

export function renderReport(r: Report, root: string): string {
  const find = (server: string, c: number) => r.rows.find((row) => row.server === server && row.connections === c)!;
  const ratio = (server: string, c: number) => find(server, c).reqPerSec / find(r.reference, c).reqPerSec;
  /** The reference's CPU per request over the server's: the share of the bare server's efficiency kept. */
  const cpuRatio = (server: string, c: number) => find(r.reference, c).cpuUsPerRequest / find(server, c).cpuUsPerRequest;
  const connections = [...new Set(r.rows.map((row) => row.connections))];

  const results = r.rows.map((row) =>
    `| ${row.connections} | ${row.server} | ${fixed(row.reqPerSec, 0)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${fixed(row.cpuUsPerRequest, 0)} | ${row.errors} | ${row.non2xx} | ${fixed(ratio(row.server, row.connections), 2)} |`);
  const ratios = connections.map((c) =>
    `| ${c} | ${r.compared.map((t) => fixed(ratio(t.server, c), 2)).join(' | ')} | ${r.compared.map((t) => fixed(cpuRatio(t.server, c), 2)).join(' | ')} |`);
  const mark = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  const targets = r.compared.flatMap((t) => {
    const q = ratio(t.server, TARGET_CONNECTIONS);
    const p99 = find(t.server, TARGET_CONNECTIONS).p99Ms;
    return [
      `- ${t.label} throughput >= ${MIN_RATIO}x reference at ${TARGET_CONNECTIONS} connections: ${fixed(q, 2)}x, ${mark(q >= MIN_RATIO)}`,
      `- ${t.label} p99 < ${MAX_P99_MS} ms at ${TARGET_CONNECTIONS} connections: ${fixed(p99, 2)} ms, ${mark(p99 < MAX_P99_MS)}`,
    ];
  });
  const failed = r.rows.filter((row) => row.errors || row.non2xx);

  return `# Prediction benchmark, ${r.date.toISOString().slice(0, 10)}

${machine(r.date, root)}
- load: autocannon in the bench process on the same machine, ${r.durationS} s per scenario in ${r.rounds} alternating rounds

## Single-record POSTs

| connections | server | req/s | p50 ms | p99 ms | server CPU µs/req | errors | non-2xx | vs reference |
| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results.join('\n')}

## Ratios to the reference (same run)

Throughput: Plinth's req/s over the reference's. CPU efficiency: the reference's CPU per request
over Plinth's, which does not depend on how the load generator shares the cores.

| connections | ${r.compared.map((t) => `${t.label} throughput`).join(' | ')} | ${r.compared.map((t) => `${t.label} CPU efficiency`).join(' | ')} |
| ---: | ${[...r.compared, ...r.compared].map(() => '---:').join(' | ')} |
${ratios.join('\n')}

## Targets

${targets.join('\n')}
- errors and non-2xx responses: ${failed.length ? `**${failed.length} scenario(s) had some**` : 'none'}

## In-process ceiling

session.run on one record in a tight loop, no HTTP: ${fixed(r.sessionRunPerSec, 0)} calls/s (${fixed(1e6 / r.sessionRunPerSec, 1)} µs a call).
`;
}
