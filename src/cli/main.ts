#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { PLINTH_VERSION } from '../version.js';
import { SERVER_URL } from './api-client.js';
import { registerDeploymentCommands } from './deployments.command.js';
import { registerJobCommands } from './jobs.command.js';
import { inspect } from './inspect.command.js';
import { listModels, pushModel } from './models.command.js';
import { predict } from './predict.command.js';
import { serve } from './serve.command.js';

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
};

const program = new Command()
  .name('plinth')
  .description('Serve ONNX models over the Open Inference Protocol, MLflow, Watson ML and records protocols.')
  .version(PLINTH_VERSION)
  .showHelpAfterError();

program
  .command('serve')
  .description('start the server (PLINTH_* environment variables set the same options)')
  .option('-m, --models <dir>', 'model repository folder (default: examples/models, or PLINTH_MODELS)')
  .option('-p, --port <port>', 'port to listen on (default: 8080)', integer)
  .option('-H, --host <host>', 'address to bind (default: 0.0.0.0)')
  .option('--threads <n>', 'ONNX Runtime intra-op threads per model (default: 1; 0 = one per core)', integer)
  .option('--public-models <names>', "models served without a credential: comma-separated, or '*' (or PLINTH_PUBLIC_MODELS)")
  .action((o: { models?: string; port?: number; host?: string; threads?: number; publicModels?: string }) =>
    serve({ modelsDir: o.models, port: o.port, host: o.host, intraOpThreads: o.threads, publicModels: o.publicModels }));

program
  .command('inspect <model.onnx>')
  .description("print a model's inputs, outputs, task, classes and features")
  .option('--manifest <model.yaml>', 'apply a manifest, as the server would')
  .option('--json', 'print JSON')
  .action((file: string, o: { manifest?: string; json?: boolean }) => inspect(file, o));

program
  .command('predict <name>')
  .description('send records from a JSON or CSV file to a running server')
  .requiredOption('-d, --data <file>', 'records: a .json file (a record or a list) or a .csv file with a header row')
  .option('-u, --url <url>', 'server address (or PLINTH_URL)', SERVER_URL)
  .option('--proba', 'return class probabilities')
  .action((name: string, o: { data: string; url: string; proba?: boolean }) => predict(name, o));

registerDeploymentCommands(program, SERVER_URL);
registerJobCommands(program, SERVER_URL);

const models = program.command('models').description("manage a running server's model registry");

models
  .command('push <path>')
  .description('upload a model folder (packed as .tar.gz) or a single .onnx / archive as the next version of a model')
  .requiredOption('-n, --name <name>', 'model name (created by its first upload)')
  .option('-s, --space <space>', 'space (default: default)')
  .option('-d, --description <text>', "the model's description, when this upload creates it")
  .option('-t, --tags <a,b>', "the new version's tags, comma-separated")
  .option('-u, --url <url>', 'server address (or PLINTH_URL)', SERVER_URL)
  .option('--json', 'print the registered version as JSON')
  .action((path: string, o: { name: string; space?: string; description?: string; tags?: string; url: string; json?: boolean }) => pushModel(path, o));

models
  .command('list')
  .description("list a space's models")
  .option('-s, --space <space>', 'space (default: default)')
  .option('--name <prefix>', 'only models whose name starts with this')
  .option('--tag <tag>', 'only models carrying this tag')
  .option('-u, --url <url>', 'server address (or PLINTH_URL)', SERVER_URL)
  .option('--json', 'print JSON')
  .action((o: { space?: string; name?: string; tag?: string; url: string; json?: boolean }) => listModels(o));

program.parseAsync().catch((err: Error) => {
  console.error(`plinth: ${err.message}`);
  process.exit(1);
});
