// A counting semaphore: at most N operations in flight, the rest wait in FIFO order.

/** Limits concurrent work to `size` slots; `close()` wakes every waiter with `false`. */
export class Slots {
  private used = 0;
  private readonly waiters: ((granted: boolean) => void)[] = [];
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Slots in use. */
  get inUse(): number {
    return this.used;
  }

  /** Waits for a free slot; resolves false (and takes nothing) once closed. */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.used < this.size) {
      this.used += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Frees a slot, handing it straight to the oldest waiter. */
  release(): void {
    const next = this.waiters.shift();
    if (next) return next(true);
    this.used -= 1;
    if (this.used === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Refuses further acquires and wakes the waiters with false; held slots stay held until released. */
  close(): void {
    this.closed = true;
    for (const resolve of this.waiters.splice(0)) resolve(false);
  }

  /** Resolves when no slot is held. */
  idle(): Promise<void> {
    if (this.used === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
