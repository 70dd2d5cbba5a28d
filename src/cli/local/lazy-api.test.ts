import { describe, expect, it } from 'vitest';
import { lazyApi } from './lazy-api.js';

interface Api {
  list(q: { limit: number }): Promise<number[]>;
  deployments: {
    get(name: string): Promise<string>;
  };
}

/** An Api whose load is counted; `calls` records what each method received and its `this`. */
function counted() {
  const loads: number[] = [];
  const calls: unknown[] = [];
  const api = lazyApi<Api>(async () => {
    loads.push(loads.length + 1);
    const impl: Api = {
      async list(q) {
        calls.push(['list', q, this === impl]);
        return [1, 2, q.limit];
      },
      deployments: {
        async get(name) {
          calls.push(['get', name, this === impl.deployments]);
          return `deployment ${name}`;
        },
      },
    };
    return impl;
  });
  return { api, loads, calls };
}

describe('lazyApi: a group of the local API built on its first call', () => {
  it('loads nothing until a method is called, however its members are reached', async () => {
    const { api, loads } = counted();
    const { deployments } = api;
    expect(typeof api.list).toBe('function');
    expect(typeof deployments.get).toBe('function');
    // Awaiting or printing a group is not a call: it must not look like a promise, nor load to print.
    expect(await api.deployments).toBe(api.deployments);
    expect(String(api.deployments.get)).toContain('function');
    expect(loads).toEqual([]);
  });

  it('forwards calls, nested groups included, to one implementation loaded once', async () => {
    const { api, loads, calls } = counted();
    const [listed, got] = await Promise.all([api.list({ limit: 7 }), api.deployments.get('credit')]);
    expect(listed).toEqual([1, 2, 7]);
    expect(got).toBe('deployment credit');
    expect(await api.list({ limit: 3 })).toEqual([1, 2, 3]);
    expect(loads).toEqual([1]);
    expect(calls).toEqual([
      ['list', { limit: 7 }, true],
      ['get', 'credit', true],
      ['list', { limit: 3 }, true],
    ]);
  });

  it('a failed load fails the call that caused it, as a rejected promise', async () => {
    const api = lazyApi<Api>(async () => {
      throw new Error('database is locked');
    });
    await expect(api.list({ limit: 1 })).rejects.toThrow('database is locked');
  });

  it('a member that is not a method of the implementation is a TypeError naming its path', async () => {
    const api = lazyApi<Api>(async () => ({ list: async () => [], deployments: {} }) as unknown as Api);
    await expect(api.deployments.get('x')).rejects.toThrow('not an API method: deployments.get');
  });

  it('only async members are accepted, under names functions do not already have', () => {
    // @ts-expect-error count() returns a number, not a promise: it could not wait for the load
    lazyApi<{ count(): number }>(async () => ({ count: () => 1 }));
    // @ts-expect-error `call` is a property of every function, so the stand-in could not forward it
    lazyApi<{ call(): Promise<number> }>(async () => ({ call: async () => 1 }));
  });
});
