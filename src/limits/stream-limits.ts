/** The most chat streams one user, and one tenant, may have open at once (across all replicas). */
export interface StreamLimits {
  perUser: number;
  perTenant: number;
}
