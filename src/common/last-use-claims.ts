/** lastUsedAt is for people: written at most once a minute per row and process. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Bound on the rows remembered; the oldest claims go first. */
const MAX_REMEMBERED = 10_000;

/**
 * Which lastUsedAt writes are due, claimed at the moment one is found due: every request that
 * uses a token or key inside the same minute sees the claim and skips the write, so a burst of
 * requests when the minute turns costs one UPDATE, not one each queued on the row's lock.
 */
export class LastUseClaims {
  /** When this process claimed each row's write (ms since the epoch), oldest first. */
  private readonly claimed = new Map<string, number>();

  /** True (and claimed) when neither the stored value nor this process's last claim is recent. */
  claim(id: string, stored: Date | null, now: number): boolean {
    const last = Math.max(stored?.getTime() ?? 0, this.claimed.get(id) ?? 0);
    if (now - last <= LAST_USED_RESOLUTION_MS) return false;
    this.claimed.delete(id);
    this.claimed.set(id, now);
    for (const [oldest, at] of this.claimed) {
      if (now - at <= LAST_USED_RESOLUTION_MS && this.claimed.size <= MAX_REMEMBERED) break;
      this.claimed.delete(oldest);
    }
    return true;
  }

  /** The claimed write failed: the next use may try again. */
  forget(id: string): void {
    this.claimed.delete(id);
  }
}
