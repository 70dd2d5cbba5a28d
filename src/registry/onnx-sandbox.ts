import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/*
 * Opens an untrusted ONNX file in a child process under a memory cap. Opening a model is not cheap by
 * nature: onnxruntime folds constant subgraphs while it loads, so a 200-byte file (ConstantOfShape over
 * a constant 16000x16000 shape) makes it allocate gigabytes before anything is served. A worker thread's
 * resourceLimits would not help: they bound the V8 heap, and onnxruntime allocates natively. So the
 * session is created in a child node process whose address space is capped (RLIMIT_AS, through the
 * shell's `ulimit -v`) at what the runtime itself takes plus an allowance for the model; an allocation
 * past it fails inside the child, and the server only reads the child's verdict. Elsewhere than Linux
 * the child still isolates the server (a crash or an abort is the child's) but runs uncapped.
 */

const MiB = 1024 * 1024;

/** How long opening one model may take before the child is killed and the model refused. */
export const ONNX_OPEN_TIMEOUT_MS = 60_000;

/** What a model may take beyond the runtime itself: 512 MiB, or four times its size when larger. */
export function onnxMemoryAllowanceMiB(modelBytes: number): number {
  return Math.max(512, Math.ceil((4 * modelBytes) / MiB));
}

export type SandboxVerdict =
  | { kind: 'opened'; inputs: TensorSpec[]; outputs: TensorSpec[] }
  | { kind: 'refused'; reason: string }
  | { kind: 'out-of-memory'; allowanceMiB: number }
  | { kind: 'timed-out'; afterMs: number };

export interface TensorSpec {
  name: string;
  type: string;
  shape?: (number | string)[];
}

// The child: ESM run with `node --input-type=module -e`, so it needs no file of its own in the build.
const CHILD = `
import fs from 'node:fs';
const ort = await import(process.env.SEXTANT_ORT_URL);
const say = (o) => process.stdout.write(JSON.stringify(o));
if (process.argv[1] === 'baseline') {
  let vmKb = 0;
  try { vmKb = Number(/VmSize:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0); } catch {}
  say({ vmKb });
} else {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  try {
    const s = await ort.InferenceSession.create(Buffer.concat(chunks), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const spec = (m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor' });
    const out = { ok: true, inputs: s.inputMetadata.map(spec), outputs: s.outputMetadata.map(spec) };
    await s.release();
    say(out);
  } catch (e) {
    say({ ok: false, error: String(e?.message ?? e).split('\\n')[0].slice(0, 300) });
  }
}
`;

const ORT_URL = pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
const CAPPED = process.platform === 'linux';
// onnxruntime reports an allocation it could not make (and then skips folding) on stderr.
const OUT_OF_MEMORY = /bad_alloc|failed to allocate|out of memory/i;

interface ChildResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

function runChild(
  args: string[],
  input: Uint8Array | undefined,
  capKb: number | undefined,
  timeoutMs: number,
) {
  return new Promise<ChildResult>((resolve, reject) => {
    const node = [process.execPath, '--input-type=module', '-e', CHILD, ...args];
    // `ulimit -v` caps the child alone; exec keeps the pid, so a kill on timeout reaches node itself.
    const child =
      capKb === undefined
        ? spawn(node[0]!, node.slice(1), { stdio: 'pipe', env: { ...process.env, SEXTANT_ORT_URL: ORT_URL } })
        : spawn('/bin/sh', ['-c', `ulimit -v ${capKb} && exec "$@"`, 'sh', ...node], {
            stdio: 'pipe',
            env: { ...process.env, SEXTANT_ORT_URL: ORT_URL },
          });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => {
      if (stdout.length < 1_000_000) stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 100_000) stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal, timedOut });
    });
    // A child that dies before reading all of its input closes the pipe: that is its verdict, not ours.
    child.stdin.on('error', () => {});
    child.stdin.end(input === undefined ? undefined : Buffer.from(input));
  });
}

let baseline: Promise<number> | undefined;

/** The address space node and onnxruntime take before any model (measured once per process). */
function runtimeBaselineKb(): Promise<number> {
  baseline ??= runChild(['baseline'], undefined, undefined, ONNX_OPEN_TIMEOUT_MS).then((r) => {
    const vmKb = Number((JSON.parse(r.stdout || '{}') as { vmKb?: number }).vmKb ?? 0);
    // Slack for the session's own arenas and threads, which the bare import does not show yet.
    return vmKb > 0 ? vmKb + 128 * 1024 : 0;
  });
  return baseline;
}

// Models already opened, by content: a key names one content forever, so its verdict cannot change.
const opened = new Map<string, SandboxVerdict>();
const OPENED_KEPT = 256;
// The same content being opened right now: its callers share the one child.
const inflight = new Map<string, Promise<SandboxVerdict>>();
// Children at once: each is a node process with onnxruntime (about 100 MB before any model), so a
// burst of registrations queues here instead of starting a process per request.
const MAX_CHILDREN = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withChildSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await fn();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

/** Opens `bytes` in onnxruntime in a capped child process and says what happened. */
export async function openOnnxInSandbox(
  bytes: Uint8Array,
  opts: { allowanceMiB?: number; timeoutMs?: number } = {},
): Promise<SandboxVerdict> {
  const key = createHash('sha256').update(bytes).digest('hex');
  const known = opened.get(key);
  if (known) return known;
  const pending = inflight.get(key);
  if (pending) return pending;
  const run = withChildSlot(() => openUncached(bytes, opts)).then((verdict) => {
    if (verdict.kind === 'opened') {
      if (opened.size >= OPENED_KEPT) opened.delete(opened.keys().next().value as string);
      opened.set(key, verdict);
    }
    return verdict;
  });
  inflight.set(key, run);
  try {
    return await run;
  } finally {
    inflight.delete(key);
  }
}

async function openUncached(
  bytes: Uint8Array,
  opts: { allowanceMiB?: number; timeoutMs?: number },
): Promise<SandboxVerdict> {
  const allowanceMiB = opts.allowanceMiB ?? onnxMemoryAllowanceMiB(bytes.length);
  const timeoutMs = opts.timeoutMs ?? ONNX_OPEN_TIMEOUT_MS;
  const base = CAPPED ? await runtimeBaselineKb() : 0;
  const capKb = base > 0 ? base + allowanceMiB * 1024 : undefined;
  const r = await runChild(['open'], bytes, capKb, timeoutMs);
  if (r.timedOut) return { kind: 'timed-out', afterMs: timeoutMs };
  if (OUT_OF_MEMORY.test(r.stderr)) return { kind: 'out-of-memory', allowanceMiB };
  let reply: { ok?: boolean; error?: string; inputs?: TensorSpec[]; outputs?: TensorSpec[] } | undefined;
  try {
    reply = JSON.parse(r.stdout) as typeof reply;
  } catch {
    reply = undefined;
  }
  if (reply?.ok && reply.inputs && reply.outputs)
    return { kind: 'opened', inputs: reply.inputs, outputs: reply.outputs };
  if (reply && reply.ok === false) {
    if (OUT_OF_MEMORY.test(reply.error ?? '')) return { kind: 'out-of-memory', allowanceMiB };
    return { kind: 'refused', reason: reply.error ?? 'unknown error' };
  }
  // No verdict: the child died (an abort on a failed allocation, or a signal).
  if (capKb !== undefined) return { kind: 'out-of-memory', allowanceMiB };
  return {
    kind: 'refused',
    reason: `onnxruntime exited while opening it (${r.signal ?? `exit code ${r.code}`})`,
  };
}
