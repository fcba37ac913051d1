// The bytes a socket has not yet taken, written on drain, and the senders waiting for the queue to shrink.
import type { Socket } from "bun";
import type { FleetError } from "../errors";

/** Consecutive small parts are merged into one write of at most this many bytes while draining. */
const COALESCE_BYTES = 64 * 1024;
const RESOLVED = Promise.resolve();

interface Waiter {
  resolve(): void;
  reject(error: FleetError): void;
}

/**
 * Outgoing bytes of one socket, in order. Parts are views of the caller's buffers (a large
 * payload is never copied); only small parts are merged while draining, to save syscalls.
 */
export class WriteQueue {
  private parts: Uint8Array[] = [];
  private head = 0;
  private queued = 0;
  private waiters: Waiter[] = [];
  /** Bytes ever accepted, and ever taken by the socket: `taken` reaching a write's end offset means it left. */
  private accepted = 0;
  private taken = 0;
  private watchers: { end: number; notify(): void }[] = [];

  constructor(private readonly limit: number) {}

  /** Bytes accepted and not yet taken by the socket. */
  get bytes(): number {
    return this.queued;
  }

  /**
   * Writes `parts` after whatever is queued: straight to the socket while it takes them,
   * the rest queued. Resolves at once while the queue is within the limit, else once
   * draining has brought it back within. `onTaken`, when given, is called once the socket
   * has taken the last byte of `parts` (handed to the kernel: the send half of a transfer).
   */
  write(socket: Socket<unknown>, parts: Uint8Array[], onTaken?: () => void): Promise<void> {
    for (const part of parts) {
      this.accepted += part.length;
      if (this.queued === 0) {
        const written = Math.max(socket.write(part), 0);
        this.taken += written;
        if (written === part.length) continue;
        this.push(written === 0 ? part : part.subarray(written));
      } else this.push(part);
    }
    if (onTaken) {
      if (this.taken >= this.accepted) onTaken();
      else this.watchers.push({ end: this.accepted, notify: onTaken });
    }
    if (this.queued <= this.limit) return RESOLVED;
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Writes queued bytes until the socket refuses more; true once the queue is empty. */
  flush(socket: Socket<unknown>): boolean {
    while (this.head < this.parts.length) {
      const part = this.merge();
      const written = Math.max(socket.write(part), 0);
      this.queued -= written;
      this.taken += written;
      if (written < part.length) {
        this.parts[this.head] = part.subarray(written);
        break;
      }
      this.head += 1;
    }
    if (this.head === this.parts.length) {
      this.parts = [];
      this.head = 0;
    } else if (this.head >= 64) {
      this.parts = this.parts.slice(this.head);
      this.head = 0;
    }
    if (this.queued <= this.limit) for (const waiter of this.waiters.splice(0)) waiter.resolve();
    let left = 0;
    while (left < this.watchers.length && this.watchers[left]!.end <= this.taken) this.watchers[left++]!.notify();
    if (left > 0) this.watchers.splice(0, left);
    return this.queued === 0;
  }

  /** Rejects every waiting sender with `error`; queued bytes stay queued. */
  failWaiters(error: FleetError): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Drops the queued bytes (the socket is gone). */
  clear(): void {
    this.watchers = [];
    this.parts = [];
    this.head = 0;
    this.queued = 0;
  }

  private push(part: Uint8Array): void {
    this.parts.push(part);
    this.queued += part.length;
  }

  /** The head part, merged with the small parts after it into one buffer when that saves writes. */
  private merge(): Uint8Array {
    const first = this.parts[this.head]!;
    let end = this.head + 1;
    let total = first.length;
    while (end < this.parts.length && total + this.parts[end]!.length <= COALESCE_BYTES) total += this.parts[end++]!.length;
    if (end === this.head + 1) return first;
    const merged = new Uint8Array(total);
    let at = 0;
    for (let i = this.head; i < end; i++) {
      merged.set(this.parts[i]!, at);
      at += this.parts[i]!.length;
    }
    this.parts.splice(this.head, end - this.head, merged);
    return merged;
  }
}
