import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, KeywardError } from '../common/errors';
import type { EventChannel, InterruptReason } from './event-channel';
import type { StreamStop, StreamStopReason } from '../cache/stream-stop';
import type { StreamLimits } from '../limits/stream-limits';
import type { Lease } from '../limits/stream-leases';

export type { StreamLimits } from '../limits/stream-limits';

export interface StreamTicket {
  tenantId: string;
  userId: string;
  /** The token the stream was opened with. */
  tokenId?: string;
  /** The stored key it uses (null: the platform key; unset: not chosen yet). */
  credentialId?: string | null;
  channel?: Pick<EventChannel<unknown>, 'interrupt'>;
  /** Its place among the streams of every replica (StreamLeases); unset until admitted there. */
  lease?: Lease;
  /** A stop that came while the stream was still being planned (no channel yet). */
  pendingStop?: StreamStop;
}

const shuttingDown = () =>
  new KeywardError(ErrorCode.SHUTTING_DOWN, 'This gateway replica is shutting down; reconnect and retry');

const tooMany = (message: string) => new KeywardError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: 1 });

/**
 * Open chat streams of this process: admission against per-user and per-tenant limits, the
 * open-stream count for metrics, and draining at shutdown.
 */
export class StreamRegistry {
  private readonly open = new Set<StreamTicket>();
  private readonly perUser = new Map<string, number>();
  private readonly perTenant = new Map<string, number>();
  private draining = false;
  private hurried = false;

  constructor(private readonly limits: StreamLimits) {}

  get size(): number {
    return this.open.size;
  }

  /** The leases (StreamLeases) of the open streams admitted across replicas. */
  openLeases(): Lease[] {
    const leases: Lease[] = [];
    for (const ticket of this.open) if (ticket.lease) leases.push(ticket.lease);
    return leases;
  }

  /** A snapshot of the open streams' tickets. */
  openTickets(): StreamTicket[] {
    return [...this.open];
  }

  /**
   * Ends at once, with a ChatFailed whose code is the stop's reason, every open stream of the
   * tenant that the stop concerns: all of them when the tenant was deleted, those using a deleted
   * credential, those opened with a revoked token. Returns how many were stopped.
   */
  stop(tenantId: string, stop: StreamStop): number {
    const matches = (ticket: StreamTicket): boolean => {
      switch (stop.reason) {
        case 'TENANT_DELETED':
          return ticket.tenantId === tenantId;
        case 'CREDENTIAL_DELETED':
          return ticket.credentialId === stop.credentialId;
        case 'TOKEN_REVOKED':
          return ticket.tokenId === stop.tokenId;
      }
    };
    let stopped = 0;
    for (const ticket of this.open) {
      if (!matches(ticket)) continue;
      if (ticket.channel) ticket.channel.interrupt(interruptionFor(stop));
      else ticket.pendingStop ??= stop;
      stopped++;
    }
    return stopped;
  }

  /** Attaches the stream's channel; a stop that came while it was planned takes effect now. */
  attach(ticket: StreamTicket, channel: Pick<EventChannel<unknown>, 'interrupt'>): void {
    ticket.channel = channel;
    if (ticket.pendingStop) channel.interrupt(interruptionFor(ticket.pendingStop));
  }

  admit(tenantId: string, userId: string): StreamTicket {
    if (this.draining) throw shuttingDown();
    if ((this.perUser.get(userId) ?? 0) >= this.limits.perUser) {
      throw tooMany(`At most ${this.limits.perUser} concurrent chat streams per user`);
    }
    if ((this.perTenant.get(tenantId) ?? 0) >= this.limits.perTenant) {
      throw tooMany(`At most ${this.limits.perTenant} concurrent chat streams per tenant`);
    }
    const ticket: StreamTicket = { tenantId, userId };
    this.open.add(ticket);
    bump(this.perUser, userId, 1);
    bump(this.perTenant, tenantId, 1);
    return ticket;
  }

  release(ticket: StreamTicket): void {
    if (!this.open.delete(ticket)) return;
    bump(this.perUser, ticket.userId, -1);
    bump(this.perTenant, ticket.tenantId, -1);
  }

  /**
   * Refuses new streams, lets open ones finish for up to `graceMs`, then interrupts the rest
   * (they end with a retryable ChatFailed and their usage recorded) and waits for them to settle.
   */
  async drain(graceMs: number, settleMs = 5_000): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + graceMs;
    while (this.open.size > 0 && Date.now() < deadline && !this.hurried) await sleep(25);
    for (const ticket of this.open) ticket.channel?.interrupt();
    const settleBy = Date.now() + settleMs;
    while (this.open.size > 0 && Date.now() < settleBy) await sleep(10);
  }

  /** Ends a drain's grace period now: open streams are interrupted at once, and still recorded. */
  hurry(): void {
    this.hurried = true;
  }
}

const STREAM_STOP_MESSAGES: Record<StreamStopReason, string> = {
  TENANT_DELETED: 'Your tenant was deleted; the request was stopped',
  CREDENTIAL_DELETED: 'The key this request used was deleted; the request was stopped',
  TOKEN_REVOKED: 'The token that started this request was revoked; the request was stopped',
};

const interruptionFor = (stop: StreamStop): InterruptReason => ({
  code: stop.reason,
  message: STREAM_STOP_MESSAGES[stop.reason],
});

function bump(counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
