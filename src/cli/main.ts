import { processOutput } from './output.js';
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), process.env, processOutput(process.env));
process.exitCode = code;
