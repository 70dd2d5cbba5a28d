/**
 * Group commit: items added while one group commits form the next group, which commits as soon as the
 * previous one ends. A group is as large as what arrived during the commit before it: one item when
 * nothing waits, many when commits are slow. After a commit fails, nothing more is committed: the items
 * waiting, and any added later, go to `abandon` (so the caller can release them) and are rejected with
 * that failure.
 */
export class GroupCommit<T> {
  private waiting: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly abandon: (items: T[]) => Promise<void>,
  ) {}

  /** Resolves once the item's group is committed; rejects when it, or an earlier group, failed. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.running || this.waiting.length === 0) return;
    const group = this.waiting.splice(0);
    const items = group.map((g) => g.item);
    this.running = true;
    const done = this.failure
      ? this.abandon(items).then(
          () => Promise.reject(this.failure!.err),
          (err: unknown) => Promise.reject(this.failure?.err ?? err),
        )
      : this.commit(items).catch((err: unknown) => {
          this.failure ??= { err };
          throw err;
        });
    done
      .then(
        () => {
          for (const g of group) g.resolve();
        },
        (err: unknown) => {
          for (const g of group) g.reject(err);
        },
      )
      .finally(() => {
        this.running = false;
        this.next();
      });
  }
}
