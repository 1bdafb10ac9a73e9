/**
 * Who holds the reservations made here: this replica, which renews them every third of the lease
 * time while it runs (ReplicaLeaseKeeper). A replica that dies leaves them to expire after `leaseMs`.
 */
export interface ReservationHolder {
  replicaId: string;
  leaseMs: number;
}
