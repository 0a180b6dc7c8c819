import { createWriteStream, openAsBlob } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { callApi, jsonBody, withCredential } from './api-client.js';

interface Common {
  url: string;
}

interface AssetView {
  id: string;
  name: string;
  format: string;
  status: string;
  size: number;
  rowCount: number | null;
  sha256: string | null;
  createdAt: string;
}

interface JobView {
  id: string;
  status: string;
  deployment: { name: string };
  model: string | null;
  output: { name: string; url: string | null };
  rows: { total: number; done: number; scored: number; failed: number };
  rowsPerSecond: number | null;
  attempt: number;
  maxAttempts: number;
  error: string | null;
  errorsUrl: string | null;
  createdAt: string;
  finishedAt: string | null;
}

const api = (url: string, path: string) => new URL(path, url);
const FINISHED = new Set(['completed', 'failed', 'canceled']);
const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
};
const fmt = (n: number) => n.toLocaleString('en-US');

/** Uploads a file as a data asset (streamed from disk); a taken name gets a timestamp suffix. */
export async function uploadAsset(base: string, path: string, options: { name?: string; space?: string } = {}): Promise<AssetView> {
  await stat(path).catch(() => {
    throw new Error(`cannot read '${path}'`);
  });
  const send = async (name: string) => {
    const form = new FormData();
    form.append('file', await openAsBlob(path), basename(path));
    const query = new URLSearchParams({ name, ...(options.space && { space: options.space }) });
    return callApi(api(base, `/api/v1/assets?${query}`), { method: 'POST', body: form }) as Promise<AssetView>;
  };
  let name = options.name ?? basename(path);
  if (!options.name) {
    // A taken name gets a timestamp: asked first, since the server refuses a taken name before reading the upload.
    const query = options.space ? `?space=${encodeURIComponent(options.space)}` : '';
    const taken = await callApi(api(base, `/api/v1/assets/${encodeURIComponent(name)}${query}`)).then(() => true, (err: Error) => {
      if (/^404:/.test(err.message)) return false;
      throw err;
    });
    if (taken) {
      const ext = extname(name);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
      name = `${name.slice(0, name.length - ext.length)}-${stamp}${ext}`;
    }
  }
  return send(name);
}

/** Streams a server path to a file (written beside it first, renamed when complete). */
export async function download(base: string, path: string, target: string): Promise<void> {
  const response = await fetch(api(base, path), withCredential({})).catch((err: Error) => {
    throw new Error(`cannot reach the server at ${new URL(base).origin}: ${(err.cause as { code?: string })?.code ?? err.message}`);
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // as it came
    }
    throw new Error(`${response.status}: ${message}`);
  }
  const partial = `${target}.part`;
  try {
    await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(partial));
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

/** One progress line: bar, rows, rows/s and ETA. */
function progressLine(job: JobView): string {
  const { total, done, failed } = job.rows;
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const width = 24;
  const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
  const rate = job.rowsPerSecond ?? 0;
  const eta = rate > 0 && done < total ? `ETA ${Math.ceil((total - done) / rate)} s` : '';
  const errors = failed ? `  ${fmt(failed)} invalid` : '';
  return `[${bar}] ${(share * 100).toFixed(0).padStart(3)}%  ${fmt(done)}/${fmt(total)} rows  ${rate ? `${fmt(Math.round(rate))} rows/s` : ''}  ${eta}${errors}  ${job.status}`;
}

/** Polls the job until it finishes, drawing progress on stderr (one line, redrawn on a terminal). */
export async function waitForJob(base: string, id: string, quiet = false): Promise<JobView> {
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  for (;;) {
    const job = (await callApi(api(base, `/api/v1/jobs/${encodeURIComponent(id)}`))) as JobView;
    if (!quiet) {
      const line = progressLine(job);
      if (tty) process.stderr.write(`\r${line.padEnd(100)}`);
      else if (FINISHED.has(job.status) || Date.now() - lastPrinted > 2000) {
        process.stderr.write(`${line}\n`);
        lastPrinted = Date.now();
      }
    }
    if (FINISHED.has(job.status)) {
      if (!quiet && tty) process.stderr.write('\n');
      return job;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** `plinth jobs ...` and `plinth assets ...` against a running server. */
export function registerJobCommands(program: Command, defaultUrl: string): void {
  const url = (c: Command) => c.option('-u, --url <url>', 'server address (or PLINTH_URL)', defaultUrl);
  const jobs = program.command('jobs').description('batch scoring jobs on a running server');

  url(
    jobs
      .command('submit')
      .description('score a file with a deployment: upload it, submit a job, (--wait) show progress and download the result')
      .requiredOption('-d, --deployment <name>', 'deployment name or id')
      .option('-i, --input <file>', 'a CSV, NDJSON or JSON file to upload and score')
      .option('-a, --asset <name>', 'score a data asset already on the server instead')
      .option('-o, --output <file>', 'where to write the result (needs --wait)')
      .option('--output-name <name>', 'name of the output asset on the server')
      .option('--format <format>', 'output format: csv or ndjson', 'csv')
      .option('--carry <columns>', 'input columns to copy into the output, comma-separated (e.g. id)')
      .option('--no-probabilities', 'leave out the probability columns')
      .option('--explain', 'add SHAP explanation columns (shap_base, shap_<feature>; NDJSON: an explanation object)')
      .option('--max-error-rate <rate>', 'share of invalid rows (0-1) past which the job fails', Number)
      .option('--chunk-rows <n>', 'rows per committed chunk', positive)
      .option('-s, --space <space>', "the deployment's space")
      .option('-w, --wait', 'wait for the job, showing progress on stderr')
      .option('--json', 'print the job as JSON'),
  ).action(async (o: Common & { deployment: string; input?: string; asset?: string; output?: string; outputName?: string; format: string; carry?: string; probabilities: boolean; explain?: boolean; maxErrorRate?: number; chunkRows?: number; space?: string; wait?: boolean; json?: boolean }) => {
    if ((o.input === undefined) === (o.asset === undefined)) throw new Error('give --input <file> or --asset <name>');
    if (o.output && !o.wait) throw new Error('--output needs --wait (the result exists once the job completes)');
    if (o.format !== 'csv' && o.format !== 'ndjson') throw new Error("--format must be 'csv' or 'ndjson'");
    // The deployment first: a typo should not cost an upload.
    const space = o.space ? `?space=${encodeURIComponent(o.space)}` : '';
    if (!o.space) await callApi(api(o.url, `/api/v1/deployments/${encodeURIComponent(o.deployment)}${space}`));
    let asset = o.asset;
    if (o.input) {
      const uploaded = await uploadAsset(o.url, o.input, { space: o.space });
      if (!o.json) process.stderr.write(`uploaded ${o.input} as data asset '${uploaded.name}' (${fmt(uploaded.rowCount ?? 0)} rows)\n`);
      asset = uploaded.id;
    }
    const body = {
      deployment: o.deployment,
      ...(o.space && { space: o.space }),
      input: { asset },
      output: { format: o.format, ...(o.outputName && { name: o.outputName }) },
      ...(o.carry && { carry: o.carry.split(',').map((c) => c.trim()).filter(Boolean) }),
      probabilities: o.probabilities,
      ...(o.explain && { explanations: true }),
      ...(o.maxErrorRate !== undefined && { maxErrorRate: o.maxErrorRate }),
      ...(o.chunkRows !== undefined && { chunkRows: o.chunkRows }),
    };
    let job = (await callApi(api(o.url, '/api/v1/jobs'), jsonBody('POST', body))) as JobView;
    if (!o.wait) {
      console.log(o.json ? JSON.stringify(job, null, 2) : `job ${job.id} ${job.status}`);
      return;
    }
    job = await waitForJob(o.url, job.id, o.json);
    if (job.status !== 'completed') throw new Error(`job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}`);
    if (o.output && job.output.url) await download(o.url, job.output.url, o.output);
    if (o.json) console.log(JSON.stringify(job, null, 2));
    else {
      console.log(`job ${job.id} completed: ${fmt(job.rows.scored)} rows scored${job.rows.failed ? `, ${fmt(job.rows.failed)} invalid (plinth jobs logs ${job.id} --errors)` : ''}`);
      console.log(o.output ? `wrote ${o.output}` : `output: data asset '${job.output.name}'`);
    }
  });

  url(
    jobs
      .command('list')
      .description('list jobs, newest first')
      .option('--status <list>', 'only these statuses, comma-separated')
      .option('-d, --deployment <name>', 'only this deployment')
      .option('-s, --space <space>', 'only this space')
      .option('-n, --limit <n>', 'at most this many', positive, 20)
      .option('--json', 'print JSON'),
  ).action(async (o: Common & { status?: string; deployment?: string; space?: string; limit: number; json?: boolean }) => {
    const query = new URLSearchParams({ limit: String(Math.min(o.limit, 1000)), ...(o.status && { status: o.status }), ...(o.deployment && { deployment: o.deployment }), ...(o.space && { space: o.space }) });
    const page = (await callApi(api(o.url, `/api/v1/jobs?${query}`))) as { items: JobView[] };
    if (o.json) return console.log(JSON.stringify(page.items, null, 2));
    if (page.items.length === 0) return console.log('no jobs');
    for (const j of page.items) {
      console.log(`${j.id}  ${j.status.padEnd(9)}  ${j.deployment.name}  ${fmt(j.rows.done)}/${fmt(j.rows.total)} rows${j.rows.failed ? ` (${fmt(j.rows.failed)} invalid)` : ''}  ${j.createdAt}${j.error ? `  ${j.error}` : ''}`);
    }
  });

  url(jobs.command('status <id>').description("a job's status and progress").option('--json', 'print JSON').option('-w, --wait', 'wait until it finishes')).action(
    async (id: string, o: Common & { json?: boolean; wait?: boolean }) => {
      const job = o.wait ? await waitForJob(o.url, id, o.json) : ((await callApi(api(o.url, `/api/v1/jobs/${encodeURIComponent(id)}`))) as JobView);
      if (o.json) return console.log(JSON.stringify(job, null, 2));
      console.log(`${job.id}  ${job.status}  deployment ${job.deployment.name}${job.model ? ` (${job.model})` : ''}`);
      console.log(`  rows ${fmt(job.rows.done)}/${fmt(job.rows.total)}: ${fmt(job.rows.scored)} scored, ${fmt(job.rows.failed)} invalid${job.rowsPerSecond ? `, ${fmt(Math.round(job.rowsPerSecond))} rows/s` : ''}`);
      console.log(`  attempt ${job.attempt}/${job.maxAttempts}, output '${job.output.name}'${job.finishedAt ? `, finished ${job.finishedAt}` : ''}`);
      if (job.error) console.log(`  error: ${job.error}`);
    },
  );

  url(jobs.command('cancel <id>').description('cancel a queued or running job (its partial output is removed)')).action(async (id: string, o: Common) => {
    const job = (await callApi(api(o.url, `/api/v1/jobs/${encodeURIComponent(id)}`), { method: 'DELETE' })) as JobView;
    console.log(`job ${job.id} ${job.status}`);
  });

  url(jobs.command('logs <id>').description("a job's log (attempts, retries, outcome); --errors prints its invalid rows").option('--errors', 'print the errors file (row,line,reason)')).action(
    async (id: string, o: Common & { errors?: boolean }) => {
      if (o.errors) {
        const response = await fetch(api(o.url, `/api/v1/jobs/${encodeURIComponent(id)}/errors`), withCredential({}));
        const text = await response.text();
        if (!response.ok) throw new Error(`${response.status}: ${(JSON.parse(text) as { error?: string }).error ?? text}`);
        process.stdout.write(text);
        return;
      }
      let cursor: string | undefined;
      do {
        const query = new URLSearchParams({ limit: '1000', ...(cursor && { cursor }) });
        const page = (await callApi(api(o.url, `/api/v1/jobs/${encodeURIComponent(id)}/events?${query}`))) as { items: { at: string; level: string; message: string }[]; nextCursor?: string };
        for (const e of page.items) console.log(`${e.at}  ${e.level.padEnd(5)}  ${e.message}`);
        cursor = page.nextCursor;
      } while (cursor);
    },
  );

  const assets = program.command('assets').description('data assets (files jobs read and write) on a running server');
  url(assets.command('upload <file>').description('upload a CSV, NDJSON or JSON file').option('-n, --name <name>', 'asset name (default: the file name)').option('-s, --space <space>', 'space')).action(
    async (file: string, o: Common & { name?: string; space?: string }) => {
      const a = await uploadAsset(o.url, file, o);
      console.log(`${a.name}  ${a.format}  ${fmt(a.rowCount ?? 0)} rows  ${fmt(a.size)} bytes  sha256 ${a.sha256}  id ${a.id}`);
    },
  );
  url(assets.command('list').description("list a space's data assets").option('-s, --space <space>', 'space').option('--json', 'print JSON')).action(async (o: Common & { space?: string; json?: boolean }) => {
    const query = new URLSearchParams({ limit: '1000', ...(o.space && { space: o.space }) });
    const page = (await callApi(api(o.url, `/api/v1/assets?${query}`))) as { items: AssetView[] };
    if (o.json) return console.log(JSON.stringify(page.items, null, 2));
    if (page.items.length === 0) return console.log('no data assets');
    for (const a of page.items) console.log(`${a.name}  ${a.format}  ${a.status}  ${fmt(a.rowCount ?? 0)} rows  ${fmt(a.size)} bytes  id ${a.id}`);
  });
  // An asset is found inside one space only (default `default`), by id as by name.
  const inSpace = (o: { space?: string }) => (o.space ? `?space=${encodeURIComponent(o.space)}` : '');
  url(assets.command('download <id-or-name> <file>').description("write a data asset's bytes to a file").option('-s, --space <space>', 'space')).action(async (id: string, file: string, o: Common & { space?: string }) => {
    await download(o.url, `/api/v1/assets/${encodeURIComponent(id)}/content${inSpace(o)}`, file);
    console.log(`wrote ${file}`);
  });
  url(assets.command('delete <id-or-name>').description('delete a data asset').option('-s, --space <space>', 'space')).action(async (id: string, o: Common & { space?: string }) => {
    await callApi(api(o.url, `/api/v1/assets/${encodeURIComponent(id)}${inSpace(o)}`), { method: 'DELETE' });
    console.log(`deleted ${id}`);
  });
}
