import { isAppError, NotFoundError, UnavailableError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { DeploymentService } from './deployment.service.js';
import type { DeploymentRuntime, PredictOptions, PredictResult } from './deployment-runtime.js';
import { addCounts, noRequests } from './request-counts.js';
import { type Deployment, HEARTBEAT_INTERVAL_MS, type RequestCounts } from './serving.schema.js';
import type { ServingMetrics } from './serving-metrics.js';

interface Entry {
  /** The runtime being opened (first request) or reopened (the deployment changed). */
  opening: Promise<DeploymentRuntime>;
  current: DeploymentRuntime | undefined;
  updatedAt: string;
  /** This process's heartbeat row for the deployment, once it has beaten. */
  runtimeId?: string;
  /** The beat in flight, so that `stopped` is written after it, never before. */
  beat?: Promise<void>;
  /** When it last started or ended a request (or opened): what the idle unload measures from. */
  lastUsedAt: number;
  /** Requests running on it now: a deployment with one is never idle. */
  inflight: number;
  /** The request counts of the runtimes it replaced (reloads): the heartbeat row counts the process's whole stay. */
  carried: RequestCounts;
}

/** Unloading deployments nobody calls: the model's session is freed, and the next request loads it again. */
export interface IdleUnloadOptions {
  /** Unload after this long without a request (ms). */
  afterMs: number;
  /** How often to look (default: a quarter of afterMs, at most 30 s). */
  checkEveryMs?: number;
  /** Told of each unload (the reaper records it, audited). */
  onUnload?: (e: { deployment: string; idleMs: number }) => void;
  /** Told when a request wakes an unloaded deployment: the cold start it paid (load time, ms). */
  onWake?: (e: { deployment: string; coldStartMs: number }) => void;
}

/** Where a serving process answers, as `deployments ls` shows it. */
export interface ServingProcess {
  host: string;
  pid: number;
  address: string;
}

export interface DeploymentHostOptions {
  deployments: Pick<DeploymentService, 'get' | 'find' | 'onChange' | 'heartbeat' | 'stopped'>;
  /** Opens a runtime (with its own ledger) for a deployment. */
  openRuntime: (deployment: Deployment) => Promise<DeploymentRuntime>;
  /** How often open deployments are re-read, so a change made through another replica reaches this one (default 2000; 0: off). */
  pollIntervalMs?: number;
  logger?: Logger;
  /** Counts requests refused because the deployment's model cannot load. */
  metrics?: Pick<ServingMetrics, 'requests' | 'errors'>;
  /** How often each hosted deployment's heartbeat is written, once started (default HEARTBEAT_INTERVAL_MS). */
  heartbeatIntervalMs?: number;
  /** Unload deployments with no traffic (the idle reaper's policy); unset: never. */
  idleUnload?: IdleUnloadOptions;
  /** The time source of the idle unload (default Date.now). */
  now?: () => number;
}

/**
 * The server-managed deployments of one process: a runtime per deployment name, opened on its first
 * request, reopened when the deployment changes (the new one loads fully before it takes over; the old
 * one drains), closed when it is deleted and when the host closes.
 */
export function createDeploymentHost(opts: DeploymentHostOptions) {
  const logger = opts.logger ?? silentLogger;
  const entries = new Map<string, Entry>();
  const now = opts.now ?? Date.now;
  /** Deployments unloaded for idleness: the next open of one is a wake, and its load time a cold start. */
  const unloaded = new Set<string>();
  let closed = false;

  /** A runtime for the deployment; a model that cannot load is the server's trouble (503), not the caller's input. */
  function openRuntime(d: Deployment): Promise<DeploymentRuntime> {
    return opts.openRuntime(d).catch((err: unknown) => {
      logger.error({ err, deployment: d.name }, 'the deployment could not load its model');
      throw new UnavailableError(
        `deployment '${d.name}' cannot load ${d.model}@${d.ref}: ${String((err as Error)?.message ?? err)}`,
        { deployment: d.name },
      );
    });
  }

  function open(d: Deployment): Entry {
    const started = now();
    const opening = openRuntime(d);
    const entry: Entry = {
      opening,
      current: undefined,
      updatedAt: d.updatedAt,
      lastUsedAt: started,
      inflight: 0,
      carried: noRequests(),
    };
    if (unloaded.delete(d.name))
      opening.then(
        () => opts.idleUnload?.onWake?.({ deployment: d.name, coldStartMs: now() - started }),
        () => {},
      );
    opening.then(
      (rt) => {
        // A reload that finished first (the deployment changed while this opened) wins.
        if (entry.opening === opening && !closed) {
          entry.current = rt;
          void beat(d.name, entry);
        } else void rt.close();
      },
      () => {
        // A failed open is not cached: the next request tries again (and gets the error itself).
        if (entries.get(d.name) === entry) entries.delete(d.name);
      },
    );
    return entry;
  }

  /** Replaces a deployment's runtime with one for its new definition; requests keep going meanwhile. */
  async function reload(d: Deployment): Promise<void> {
    const entry = entries.get(d.name);
    if (!entry || closed || entry.updatedAt === d.updatedAt) return;
    entry.updatedAt = d.updatedAt;
    let next: DeploymentRuntime;
    try {
      next = await openRuntime(d);
    } catch (err) {
      logger.error(
        { err, deployment: d.name },
        'reloading the deployment failed; the previous runtime keeps serving',
      );
      return;
    }
    if (closed || entries.get(d.name) !== entry) {
      await next.close();
      return;
    }
    const old = entry.current;
    entry.current = next;
    entry.opening = Promise.resolve(next);
    await old?.close();
    // Counted once drained: its last requests are in.
    if (old) entry.carried = addCounts(entry.carried, old.counts());
  }

  async function drop(name: string): Promise<void> {
    const entry = entries.get(name);
    if (!entry) return;
    entries.delete(name);
    const rt = await entry.opening.catch(() => undefined);
    await rt?.close();
    await entry.beat;
    if (entry.runtimeId)
      await opts.deployments
        .stopped(entry.runtimeId, rt ? addCounts(entry.carried, rt.counts()) : entry.carried)
        .catch((err: unknown) => logger.warn({ err, deployment: name }, 'recording the stop failed'));
  }

  /*
   * Heartbeats, as `sextant serve` writes them: `deployments ls` shows each hosted deployment running
   * at this process's address. A timer and not a job: it says that this process is alive. Nothing
   * beats until the process says where it serves (startHeartbeats), so a CLI command never does.
   */
  let serving: ServingProcess | undefined;
  let beating: NodeJS.Timeout | undefined;

  /** Writes one deployment's heartbeat; a beat that fails (the database busy) is tried at the next. */
  function beat(name: string, entry: Entry): Promise<void> {
    if (!serving || !entry.current || entry.beat || closed) return entry.beat ?? Promise.resolve();
    const where = serving;
    const counts = addCounts(entry.carried, entry.current.counts());
    entry.beat = opts.deployments
      .heartbeat({
        ...(entry.runtimeId ? { runtimeId: entry.runtimeId } : {}),
        deployment: name,
        ...where,
        counts,
      })
      .then(
        (id) => {
          entry.runtimeId = id;
        },
        (err: unknown) => logger.warn({ err, deployment: name }, 'the deployment heartbeat failed'),
      )
      .finally(() => {
        entry.beat = undefined;
      });
    return entry.beat;
  }

  function beatAll(): Promise<void> {
    return Promise.all([...entries].map(([name, entry]) => beat(name, entry))).then(() => {});
  }

  const stopListening = opts.deployments.onChange((d, change) => {
    if (change === 'deleted') void drop(d.name);
    else void reload(d);
  });

  /**
   * Unloads every open deployment idle for afterMs: its runtime drains and closes (the ONNX sessions
   * are released) and its entry goes, so the next request opens it again. A request that took the
   * runtime just before it began draining is handed to the successor by predict(), so none fails.
   */
  async function unloadIdle(afterMs = opts.idleUnload?.afterMs): Promise<string[]> {
    const policy = opts.idleUnload;
    if (afterMs === undefined || closed) return [];
    const t = now();
    const idle = [...entries].filter(([, e]) => e.current && e.inflight === 0 && t - e.lastUsedAt >= afterMs);
    await Promise.all(
      idle.map(async ([name, e]) => {
        unloaded.add(name);
        await drop(name);
        policy?.onUnload?.({ deployment: name, idleMs: t - e.lastUsedAt });
      }),
    );
    return idle.map(([name]) => name);
  }

  let idleTimer: NodeJS.Timeout | undefined;
  /** Per process, like the heartbeats: only the process holding a model can free it. */
  function startIdleTimer(): void {
    const policy = opts.idleUnload;
    if (idleTimer || !policy || policy.afterMs <= 0 || closed) return;
    const every = policy.checkEveryMs ?? Math.min(30_000, Math.max(50, Math.floor(policy.afterMs / 4)));
    idleTimer = setInterval(() => {
      unloadIdle().catch((err: unknown) => logger.warn({ err }, 'unloading idle deployments failed'));
    }, every);
    idleTimer.unref();
  }

  const interval = opts.pollIntervalMs ?? 2000;
  let poll: NodeJS.Timeout | undefined;
  /**
   * Started with the first runtime: a process that serves nothing (a CLI command) polls nothing. A poll
   * and not a job for the reason the runtime gives: every serving process must see every change.
   */
  function startPolling(): void {
    if (poll || interval <= 0 || closed) return;
    poll = setInterval(() => {
      for (const [name, entry] of entries) {
        if (!entry.current) continue;
        opts.deployments
          .find(entry.current.deployment.id)
          .then((d) => (d && d.deletedAt === null ? reload(d) : drop(name)))
          .catch((err: unknown) => logger.warn({ err, deployment: name }, 'checking the deployment failed'));
      }
    }, interval);
    poll.unref();
  }

  /** The runtime of a live deployment, opened on first use; NotFoundError for an unknown name. */
  function get(name: string): Promise<DeploymentRuntime> {
    const entry = entries.get(name);
    if (entry) return entry.current ? Promise.resolve(entry.current) : entry.opening;
    if (closed) return Promise.reject(new UnavailableError('the server is shutting down'));
    return opts.deployments.get(name).then((d) => {
      if (d.deletedAt !== null) throw new NotFoundError('deployment', name);
      // Asked by id: keep one runtime per deployment, under its name.
      if (d.name !== name) return get(d.name);
      const raced = entries.get(name);
      if (raced) return raced.opening;
      const fresh = open(d);
      entries.set(name, fresh);
      startPolling();
      startIdleTimer();
      return fresh.opening;
    });
  }

  return {
    get,
    /**
     * Predicts on a deployment. A runtime that began draining between the lookup and the call (the
     * deployment was just updated) hands the request to its successor instead of failing it.
     */
    async predict(name: string, body: unknown, popts?: PredictOptions): Promise<PredictResult> {
      for (let attempt = 0; ; attempt++) {
        let rt: DeploymentRuntime;
        try {
          rt = await get(name);
        } catch (err) {
          // A deployment that exists but cannot serve is counted; unknown names are not (unbounded labels).
          if (isAppError(err) && err.code === 'UNAVAILABLE' && opts.metrics) {
            opts.metrics.requests.labels(name, '503').inc();
            opts.metrics.errors.labels(name, 'UNAVAILABLE').inc();
          }
          throw err;
        }
        if (rt.ready() || attempt >= 3) {
          const entry = entries.get(name);
          if (!entry) return rt.predict(body, popts);
          entry.inflight++;
          entry.lastUsedAt = now();
          try {
            return await rt.predict(body, popts);
          } finally {
            entry.inflight--;
            entry.lastUsedAt = now();
          }
        }
      }
    },
    /** Unloads the deployments idle past the policy (or past `afterMs`) now; the timer does it on its own. */
    unloadIdle,
    /** The runtimes open now. */
    open(): DeploymentRuntime[] {
      return [...entries.values()].flatMap((e) => (e.current ? [e.current] : []));
    },
    /** Flushes every open runtime's ledger (feedback looks predictions up right after). */
    async flush(): Promise<void> {
      await Promise.all([...entries.values()].map((e) => e.current?.flush()));
    },
    /**
     * Starts the heartbeats of the deployments this process hosts, now and every interval, as served
     * at `where` (the server calls it once it listens). Returns once the open ones have beaten.
     */
    startHeartbeats(where: ServingProcess): Promise<void> {
      serving = where;
      if (!beating && !closed) {
        beating = setInterval(() => void beatAll(), opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
        beating.unref();
      }
      return beatAll();
    },
    /** Drains and closes every runtime (each hosted deployment's heartbeat records the stop). */
    async close(): Promise<void> {
      closed = true;
      if (poll) clearInterval(poll);
      if (beating) clearInterval(beating);
      if (idleTimer) clearInterval(idleTimer);
      stopListening();
      await Promise.all([...entries.keys()].map(drop));
    },
  };
}

export type DeploymentHost = ReturnType<typeof createDeploymentHost>;
