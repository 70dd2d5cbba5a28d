import type { Logger } from '../core/logger.js';
import type { ModelVersion } from '../registry/index.js';
import type { ServingModel } from './model/index.js';

/**
 * One loaded model version and the requests running on it. A request takes the slot it starts on
 * (acquire, synchronously, before its first await) and gives it back when it ends; a swapped-out slot
 * is released only once its last request has given it back, so in-flight requests always finish on
 * the model they started with.
 */
export class ModelSlot {
  inflight = 0;
  private retired = false;
  private released = false;
  /** The version number as a metric label. */
  readonly label: string;

  constructor(
    readonly model: ServingModel,
    readonly version: ModelVersion,
    /** The alias it is served under, when the deployment follows one. */
    readonly alias: string | null,
    private readonly logger: Logger,
  ) {
    this.label = String(version.version);
  }

  acquire(): this {
    this.inflight++;
    return this;
  }

  giveBack(): void {
    this.inflight--;
    if (this.retired && this.inflight === 0) void this.release();
  }

  /** Takes the slot out of service: released now if idle, else by its last request. */
  retire(): void {
    this.retired = true;
    if (this.inflight === 0) void this.release();
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.model.release();
    } catch (err) {
      this.logger.warn({ err, version: this.version.id }, 'releasing a model session failed');
    }
  }
}

/** The alias a ref names, or null for a pinned version number and for `latest`. */
export function aliasOf(ref: string): string | null {
  return /^\d+$/.test(ref) || ref === 'latest' ? null : ref;
}
