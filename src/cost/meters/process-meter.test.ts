import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meterInProcess } from './in-process-meter.js';
import { meterProcess } from './process-meter.js';

const linux = fs.existsSync('/proc/self/stat');

/** Burns `seconds` of this process's CPU time. */
function burn(seconds: number): void {
  const c0 = process.cpuUsage();
  for (;;) {
    const c = process.cpuUsage(c0);
    if ((c.user + c.system) / 1e6 >= seconds) return;
  }
}

/** Runs a node child under the meter and returns what the meter saw. */
async function metered(script: string) {
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const meter = meterProcess(child.pid!, 20);
  await new Promise((resolve) => child.once('close', resolve));
  return meter.stop();
}

describe.runIf(linux)('the process meter (Linux /proc)', () => {
  it('counts the CPU seconds of a busy child (about one second)', async () => {
    // The child burns one second of its own CPU time (not wall time: a loaded machine stretches that).
    const u = await metered(
      'const c0 = process.cpuUsage(); const spent = () => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1e6; }; while (spent() < 1) {}',
    );
    // Loose on purpose: node's start adds some, and the last sample may miss the final few ms.
    expect(u.cpuSeconds).not.toBeNull();
    expect(u.cpuSeconds!).toBeGreaterThan(0.6);
    expect(u.cpuSeconds!).toBeLessThan(3);
  });

  it('sees the peak memory of a child that holds about 100 MB', async () => {
    const u = await metered(
      'const b = Buffer.alloc(100 * 1024 * 1024, 1); let s = 0; for (let i = 0; i < b.length; i += 4096) s += b[i]; setTimeout(() => console.log(s), 400);',
    );
    expect(u.peakRssBytes).not.toBeNull();
    expect(u.peakRssBytes! / 2 ** 20).toBeGreaterThan(100);
    expect(u.peakRssBytes! / 2 ** 20).toBeLessThan(400);
  });

  it('a sleeping child costs almost no CPU', async () => {
    const u = await metered('setTimeout(() => {}, 500)');
    expect(u.cpuSeconds!).toBeLessThan(0.5);
  });
});

describe('the in-process meter', () => {
  it('charges concurrent tasks an even share of the process CPU time, and says so', async () => {
    const a = meterInProcess();
    const b = meterInProcess();
    burn(0.3);
    const ua = a.stop({ jobId: 'job_a' });
    const ub = b.stop({ runId: 'run_b' });
    expect(ua.jobId).toBe('job_a');
    expect(ub.runId).toBe('run_b');
    expect(ua.notes?.some((n) => /shared evenly by 2/.test(n))).toBe(true);
    // Both saw the same ~0.3 s of process CPU, halved.
    expect(ua.cpuSeconds!).toBeGreaterThanOrEqual(0.15);
    expect(ua.cpuSeconds!).toBeLessThan(0.3);
    expect(ua.endedAt).toBeGreaterThanOrEqual(ua.startedAt);
  });

  it('a task alone is charged all of it', () => {
    const m = meterInProcess('run');
    burn(0.2);
    const u = m.stop();
    expect(u.kind).toBe('run');
    expect(u.cpuSeconds!).toBeGreaterThanOrEqual(0.2);
    expect(u.notes?.some((n) => /shared evenly/.test(n))).toBe(false);
  });
});
