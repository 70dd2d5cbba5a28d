import { expect, it } from 'vitest';
import { type SealPacing, untilQuiet } from './seal-pacing.js';

const pacing: SealPacing = { checkMs: 40, busyShare: 0.5, maxWaiting: 3, maxWaitMs: 60_000 };

/** Keeps the event loop busy (blocks of 20 ms, a turn between them) until `stop()` holds. */
async function busyUntil(stop: () => boolean): Promise<void> {
  while (!stop()) {
    const until = Date.now() + 20;
    while (Date.now() < until) {
      // Spin: the event loop is busy.
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

it('a seal waits while the event loop is busy and starts once it is quiet', async () => {
  let started = false;
  const quiet = untilQuiet(pacing, { waiting: () => 1, closed: new AbortController().signal }).then(() => {
    started = true;
  });
  // Busy for at least 10 checks: the seal must not start meanwhile.
  let turns = 0;
  await busyUntil(() => ++turns > 25);
  expect(started).toBe(false);
  // Quiet: it starts within a check or two.
  await quiet;
  expect(started).toBe(true);
});

it('past maxWaiting closed segments, or when the writer closes, a seal starts however busy the loop is', async () => {
  // Already more waiting than allowed: at once, no check taken.
  let waiting = 4;
  let started = false;
  void untilQuiet(pacing, { waiting: () => waiting, closed: new AbortController().signal }).then(() => {
    started = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.resolve();
  expect(started).toBe(true);

  // Busy, then the backlog grows past the bound: it starts while the loop is still busy.
  waiting = 1;
  started = false;
  void untilQuiet(pacing, { waiting: () => waiting, closed: new AbortController().signal }).then(() => {
    started = true;
  });
  let turns = 0;
  await busyUntil(() => {
    turns++;
    if (turns === 10) waiting = 4;
    return started || turns > 200;
  });
  expect(started).toBe(true);
  expect(turns).toBeLessThan(200);

  // Busy, then the writer closes: its check is aborted and it starts at once.
  const closing = new AbortController();
  started = false;
  void untilQuiet(pacing, { waiting: () => 1, closed: closing.signal }).then(() => {
    started = true;
  });
  turns = 0;
  await busyUntil(() => {
    turns++;
    if (turns === 10) closing.abort();
    return started || turns > 200;
  });
  expect(started).toBe(true);
  expect(turns).toBeLessThan(200);
});

it('a seal waits at most maxWaitMs however busy the loop stays, and a close aborts the check under way', async () => {
  let started = false;
  const t0 = Date.now();
  void untilQuiet(
    { ...pacing, maxWaitMs: 300 },
    { waiting: () => 1, closed: new AbortController().signal },
  ).then(() => {
    started = true;
  });
  let turns = 0;
  await busyUntil(() => started || ++turns > 400);
  expect(started).toBe(true);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(300);

  // A long check, aborted by the writer's close: the seal starts without waiting for the check's end.
  const abort = new AbortController();
  started = false;
  const t1 = Date.now();
  const done = untilQuiet({ ...pacing, checkMs: 30_000 }, { waiting: () => 1, closed: abort.signal }).then(
    () => {
      started = true;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(started).toBe(false);
  abort.abort();
  await done;
  expect(Date.now() - t1).toBeLessThan(10_000);
});
