import { randomUUID } from 'node:crypto';
import { ErrorCode, KeywardError } from '../common/errors';
import type { Lease, LeaseAdmission, LeaseRequest, StreamLeases } from '../limits/stream-leases';
import type { StreamLimits } from '../limits/stream-limits';
import type { Logger } from '../common/logger';

/** The error a refused admission is, or null when the chat was admitted. */
export function admissionError(admission: LeaseAdmission, limits: StreamLimits): KeywardError | null {
  switch (admission.outcome) {
    case 'admitted':
      return null;
    case 'user_cap':
      return new KeywardError(ErrorCode.RATE_LIMITED, `At most ${limits.perUser} concurrent chat streams per user`, {
        retryAfterSeconds: 1,
      });
    case 'tenant_cap':
      return new KeywardError(
        ErrorCode.RATE_LIMITED,
        `At most ${limits.perTenant} concurrent chat streams per tenant`,
        { retryAfterSeconds: 1 },
      );
    case 'duplicate':
      return new KeywardError(
        ErrorCode.DUPLICATE_REQUEST,
        `A chat with this clientRequestId already ran or is running: request ${admission.originalRequestId}`,
        { requestId: admission.originalRequestId },
      );
  }
}

/**
 * A chat's place across all replicas: asked for beside the planning (so the first token waits for
 * no extra round trip), then kept, released when the chat ends, or withdrawn when it never starts.
 */
export class ChatAdmission {
  constructor(
    private readonly leases: StreamLeases,
    private readonly limits: StreamLimits,
    private readonly log: Logger,
  ) {}

  /** Leases live in the database the usage goes to: a chat's is deleted by the statement that records its end. */
  get releasedWithUsage(): boolean {
    return this.leases.inDatabase;
  }

  request(tenantId: string, userId: string, requestId: string, clientRequestId?: string | null): LeaseRequest {
    return { leaseId: randomUUID(), tenantId, userId, requestId, clientRequestId };
  }

  /** Resolves with the refusal (an error to throw) or null when admitted; rejects when the store failed. */
  async admit(request: LeaseRequest): Promise<KeywardError | null> {
    return admissionError(await this.leases.admit(request), this.limits);
  }

  release(lease: Lease): void {
    const { leaseId } = lease;
    this.leases.release(lease).catch((error: unknown) => {
      // No longer renewed (its stream is gone): it expires after the lease time.
      this.log.warn({ err: error, leaseId }, 'could not release a stream lease');
    });
  }

  withdraw(request: LeaseRequest): void {
    this.leases.withdraw(request).catch((error: unknown) => {
      this.log.warn({ err: error, leaseId: request.leaseId }, 'could not withdraw a refused chat admission');
    });
  }
}
