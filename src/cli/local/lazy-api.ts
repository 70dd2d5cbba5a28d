/*
 * A part of the in-process API whose implementation is built on its first call. Every member of
 * SextantApi is an async function or a group of them, so a call can wait for the load: a light
 * command never opens the floors it does not use (the registry, serving, governance and the job
 * queue stay unloaded for `runs ls`), and the first call of a heavier one builds them once.
 */

/**
 * T, checked to be async functions all the way down (a sync member could not wait for the load),
 * with no member named like a property of functions (`call`, `name`, `toString`...): the stand-ins
 * are functions, and those names answer as a function's own.
 */
export type AsyncMembers<T> = {
  [K in keyof T]: K extends keyof typeof Function.prototype
    ? never
    : T[K] extends (...args: infer _A) => infer R
      ? R extends Promise<unknown>
        ? T[K]
        : never
      : AsyncMembers<T[K]>;
};

/** An object shaped like T whose calls load T first: `lazyApi(async () => modelsLocalApi(await full(), actor))`. */
export function lazyApi<T extends AsyncMembers<T>>(load: () => Promise<T>): T {
  let loaded: Promise<T> | undefined;
  const loadOnce = () => {
    loaded ??= load();
    return loaded;
  };
  const members = new Map<string, unknown>();
  // A callable stand-in per member path (one each, so `api.x === api.x`): reading a property walks
  // down, calling it loads the implementation and forwards the call.
  const member = (path: readonly string[]): unknown => {
    const id = path.join('.');
    let stand = members.get(id);
    if (stand) return stand;
    stand = new Proxy(() => {}, {
      get: (target, key) =>
        // `then` stays undefined so that awaiting a group does not take it for a promise; the
        // properties of functions (toString, name...) are the stand-in's own, so printing it loads nothing.
        typeof key !== 'string' || key === 'then' || key in Function.prototype
          ? Reflect.get(target, key)
          : member([...path, key]),
      apply: async (_target, _this, args: unknown[]) => {
        let owner = (await loadOnce()) as Record<string, unknown>;
        for (const key of path.slice(0, -1)) owner = (owner?.[key] ?? {}) as Record<string, unknown>;
        const method = path.at(-1);
        const fn = method === undefined ? undefined : owner[method];
        if (typeof fn !== 'function') throw new TypeError(`not an API method: ${id}`);
        return fn.apply(owner, args);
      },
    });
    members.set(id, stand);
    return stand;
  };
  return member([]) as T;
}
