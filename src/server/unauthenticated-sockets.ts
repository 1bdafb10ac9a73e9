export interface UnauthenticatedSocketLimits {
  perIp: number;
  total: number;
}

/**
 * Counts WebSockets that have not (yet) presented a valid token, per client address and in all,
 * so that clients without credentials can hold only a bounded number of sockets.
 */
export class UnauthenticatedSockets {
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: UnauthenticatedSocketLimits) {}

  /** Takes a slot for a new socket from `ip`; the returned release (idempotent) frees it, or null when full. */
  admit(ip: string): (() => void) | null {
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.limits.perIp || this.total >= this.limits.total) return null;
    this.perIp.set(ip, fromIp + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left === 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    };
  }
}
