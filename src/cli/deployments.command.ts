import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { callApi, jsonBody } from './api-client.js';

interface Common {
  url: string;
}

interface DeploymentView {
  id: string;
  name: string;
  space: string;
  status: string;
  reason: string | null;
  target: { model: string; canary?: { reference: string; percent: number } };
  endpoints: { protocol: string; url: string }[];
}

const percent = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 99) throw new InvalidArgumentError('expected a whole number from 1 to 99');
  return n;
};

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
};

const api = (url: string, path: string) => new URL(path, url);
const at = (id: string) => `/api/v1/deployments/${encodeURIComponent(id)}`;

/** One line per deployment, then its endpoints: what people copy into their clients. */
function show(d: DeploymentView, base: string): void {
  const canary = d.target.canary ? ` + ${d.target.canary.reference} (${d.target.canary.percent}%)` : '';
  console.log(`${d.name}  ${d.status}${d.reason ? ` (${d.reason})` : ''}  ${d.target.model}${canary}  space ${d.space}  id ${d.id}`);
  for (const e of d.endpoints) console.log(`  ${e.protocol.padEnd(18)} POST ${new URL(e.url, base).href}`);
}

/** Fails the command (non-zero exit) when the deployment came back `failed`. */
function expectReady(d: DeploymentView): void {
  if (d.status === 'failed') throw new Error(`deployment '${d.name}' failed: ${d.reason ?? 'no reason given'}`);
}

/** `plinth deployments ...`: create, list, show, update and delete online deployments on a running server. */
export function registerDeploymentCommands(program: Command, defaultUrl: string): void {
  const group = program.command('deployments').description('online deployments on a running server');
  const url = (c: Command) => c.option('-u, --url <url>', 'server address (or PLINTH_URL)', defaultUrl);

  url(
    group
      .command('create <name>')
      .description("deploy a model reference (iris, iris@production, models:/iris/3); waits until it is ready")
      .requiredOption('-m, --model <reference>', 'the model version to serve')
      .option('-s, --space <space>', 'deployment space', 'default')
      .option('--canary <reference>', 'a second version of the same model taking --percent of the requests')
      .option('--percent <n>', 'the canary share, 1-99', percent)
      .option('--public', 'serve without a token once authentication is on')
      .option('--threads <n>', 'ONNX Runtime intra-op threads for this deployment', positive)
      .option('--max-batch <n>', 'largest number of rows one request may hold', positive)
      .option('-d, --description <text>'),
  ).action(async (name: string, o: Common & { model: string; space: string; canary?: string; percent?: number; public?: boolean; threads?: number; maxBatch?: number; description?: string }) => {
    if ((o.canary === undefined) !== (o.percent === undefined)) throw new Error('--canary and --percent go together');
    const body = {
      name,
      space: o.space,
      target: { model: o.model, ...(o.canary && { canary: { reference: o.canary, percent: o.percent } }) },
      authMode: o.public ? 'public' : 'token',
      runtime: { ...(o.threads !== undefined && { intraOpThreads: o.threads }), ...(o.maxBatch !== undefined && { maxBatchSize: o.maxBatch }) },
      ...(o.description !== undefined && { description: o.description }),
    };
    const d = (await callApi(api(o.url, '/api/v1/deployments'), jsonBody('POST', body))) as DeploymentView;
    show(d, o.url);
    expectReady(d);
  });

  url(group.command('list').description('list deployments').option('-s, --space <space>', 'only this space').option('--json', 'print JSON')).action(
    async (o: Common & { space?: string; json?: boolean }) => {
      const items: DeploymentView[] = [];
      let cursor: string | undefined;
      do {
        const query = new URLSearchParams({ limit: '1000', ...(o.space && { space: o.space }), ...(cursor && { cursor }) });
        const page = (await callApi(api(o.url, `/api/v1/deployments?${query}`))) as { items: DeploymentView[]; nextCursor?: string };
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (o.json) console.log(JSON.stringify(items, null, 2));
      else if (items.length === 0) console.log('no deployments');
      else for (const d of items) show(d, o.url);
    },
  );

  url(group.command('show <id-or-name>').description('status, target, traffic and endpoints of a deployment')).action(async (id: string, o: Common) => {
    console.log(JSON.stringify(await callApi(api(o.url, at(id))), null, 2));
  });

  url(
    group
      .command('update <id-or-name>')
      .description('switch the version (loaded first, then switched atomically) or set the canary split')
      .option('-m, --model <reference>', 'new primary version (drops any canary)')
      .option('--canary <reference>', 'set the canary version (with --percent)')
      .option('--percent <n>', 'the canary share, 1-99', percent)
      .option('--no-canary', 'remove the canary split')
      .option('-d, --description <text>'),
  ).action(async (id: string, o: Common & { model?: string; canary?: string | false; percent?: number; description?: string }) => {
    const patch: Record<string, unknown> = {};
    if (o.model !== undefined) patch.target = { model: o.model };
    if (o.canary === false) patch.canary = null;
    else if (o.canary !== undefined) {
      if (o.percent === undefined) throw new Error('--canary needs --percent');
      patch.canary = { reference: o.canary, percent: o.percent };
    }
    if (o.description !== undefined) patch.description = o.description;
    if (Object.keys(patch).length === 0) throw new Error('nothing to update: give --model, --canary/--percent, --no-canary or --description');
    const d = (await callApi(api(o.url, at(id)), jsonBody('PATCH', patch))) as DeploymentView;
    show(d, o.url);
    expectReady(d);
  });

  url(group.command('delete <id-or-name>').description('delete a deployment')).action(async (id: string, o: Common) => {
    await callApi(api(o.url, at(id)), { method: 'DELETE' });
    console.log(`deleted ${id}`);
  });
}
