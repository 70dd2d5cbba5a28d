import fs from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import type { RegisterEndpointInput } from '../registry/endpoint.schema.js';
import type { CliContext } from './context.js';

type Ctx = () => CliContext;

/** `a:float,b:string,c` (type float by default) as the endpoint's features. */
function parseFeatures(text: string): { name: string; type: 'float' | 'string' }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [name = '', type = 'float'] = item.split(':').map((x) => x.trim());
      if (!name || (type !== 'float' && type !== 'string'))
        throw new ValidationError(`--features: '${item}' must be <name>[:float|string]`, {
          field: '--features',
        });
      return { name, type };
    });
}

function readJsonFile(file: string, flag: string): unknown {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile())
    throw new ValidationError(`${flag}: '${file}' is not a readable file`, { field: flag });
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new ValidationError(`${flag}: '${file}' is not JSON (${(err as Error).message})`, { field: flag });
  }
}

function int(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new ValidationError(`${flag}: '${v}' is not a whole number`, { field: flag });
    return n;
  };
}

interface Options {
  endpoint: string;
  protocol: string;
  upstreamModel?: string;
  mapping?: string;
  features: string;
  task: string;
  classes?: string;
  target?: string;
  dataset?: string;
  artifact?: string;
  timeoutMs?: number;
  retries?: number;
  breakerFailures?: number;
  breakerResetMs?: number;
  description?: string;
}

/** `sextant models register-endpoint <name>`: an external model server as the next version. */
export function registerEndpointCommand(models: Command, ctx: Ctx): void {
  models
    .command('register-endpoint <name>')
    .description(
      'register an external model server (MLflow /invocations, Open Inference Protocol, or JSON with a mapping) as the next version; the gateway serves it',
    )
    .requiredOption(
      '--endpoint <url>',
      'the model server: MLflow scoring server, OIP base URL, or the JSON endpoint (--url names the Sextant server)',
    )
    .requiredOption('--protocol <mlflow|oip|json>', 'how to talk to it')
    .requiredOption('--features <list>', "the model's features in order: name[:float|string],...")
    .option('--task <classification|regression>', 'what the model predicts', 'classification')
    .option('--classes <list>', "class labels in the order of the server's probabilities (classification)")
    .option('--upstream-model <name>', "OIP: the model's name on the server (default: the registered name)")
    .option(
      '--mapping <file>',
      'json: the request/response mapping (JSON: recordsAt, recordShape, predictionsAt, prediction, probabilities)',
    )
    .option('--target <column>', "the training target (monitoring's reference scores)")
    .option('--dataset <name@n>', 'training / reference data (explanation background, monitoring reference)')
    .option('--artifact <file>', 'the model file the server runs: its sha256 is the identity')
    .option('--timeout-ms <n>', 'per-attempt timeout (default 5000)', int('--timeout-ms'))
    .option(
      '--retries <n>',
      'retries after a refused connection or 502/503/504 (default 2)',
      int('--retries'),
    )
    .option(
      '--breaker-failures <n>',
      'consecutive failures that open the circuit (default 5)',
      int('--breaker-failures'),
    )
    .option(
      '--breaker-reset-ms <n>',
      'how long the circuit stays open (default 10000)',
      int('--breaker-reset-ms'),
    )
    .option('-d, --description <text>')
    .action(async (name: string, o: Options) => {
      if (o.protocol !== 'mlflow' && o.protocol !== 'oip' && o.protocol !== 'json')
        throw new ValidationError(`--protocol: '${o.protocol}' must be mlflow, oip or json`, {
          field: '--protocol',
        });
      if (o.task !== 'classification' && o.task !== 'regression')
        throw new ValidationError(`--task: '${o.task}' must be classification or regression`, {
          field: '--task',
        });
      if (o.protocol === 'json' && o.mapping === undefined)
        throw new ValidationError('--mapping: the json protocol needs a mapping file', {
          field: '--mapping',
        });
      if (o.artifact !== undefined && !(fs.existsSync(o.artifact) && fs.statSync(o.artifact).isFile()))
        throw new ValidationError(`--artifact: '${o.artifact}' is not a readable file`, {
          field: '--artifact',
        });
      const resilience = {
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
        ...(o.retries !== undefined ? { retries: o.retries } : {}),
        ...(o.breakerFailures !== undefined ? { breakerFailures: o.breakerFailures } : {}),
        ...(o.breakerResetMs !== undefined ? { breakerResetMs: o.breakerResetMs } : {}),
      };
      const input: RegisterEndpointInput = {
        url: o.endpoint,
        protocol: o.protocol,
        features: parseFeatures(o.features),
        task: o.task,
        ...(o.classes ? { classes: o.classes.split(',').map((c) => c.trim()) } : {}),
        ...(o.upstreamModel ? { upstreamModel: o.upstreamModel } : {}),
        ...(o.mapping
          ? { mapping: readJsonFile(o.mapping, '--mapping') as RegisterEndpointInput['mapping'] }
          : {}),
        ...(Object.keys(resilience).length > 0 ? { resilience } : {}),
        ...(o.target ? { target: o.target } : {}),
        ...(o.dataset ? { dataset: o.dataset } : {}),
        ...(o.artifact ? { artifactSha256: sha256Hex(fs.readFileSync(o.artifact)) } : {}),
        ...(o.description ? { description: o.description } : {}),
      };
      const c = ctx();
      const v = await (await c.api()).models.registerEndpoint(name, input);
      c.output.out(
        c.json
          ? JSON.stringify(v, null, 2)
          : `registered ${v.model}@${v.version} (endpoint ${v.source}, ${o.protocol}, sha256 ${v.sha256.slice(0, 12)})`,
      );
    });
}
