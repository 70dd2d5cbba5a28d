import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('commits the first item alone, then what arrived meanwhile as one group; after a failure, abandons the rest', async () => {
    const committed: number[][] = [];
    const abandoned: number[][] = [];
    let release!: () => void;
    const groups = new GroupCommit<number>(
      async (items) => {
        committed.push(items);
        if (committed.length === 1) await new Promise<void>((r) => (release = r));
        if (committed.length === 2) throw new Error('commit failed');
      },
      async (items) => {
        abandoned.push(items);
      },
    );
    const first = groups.add(1);
    const waiting = [groups.add(2), groups.add(3)];
    expect(committed).toEqual([[1]]);
    release();
    await first;
    await expect(Promise.all(waiting)).rejects.toThrow('commit failed');
    expect(committed).toEqual([[1], [2, 3]]);
    // Nothing is committed after the failure: later items are handed back and rejected with it.
    await expect(groups.add(4)).rejects.toThrow('commit failed');
    expect(abandoned).toEqual([[4]]);
    expect(committed).toHaveLength(2);
  });
});
