/** Label for a request whose document did not parse or validate, or named no operation to run. */
export const INVALID_OPERATION = 'invalid';
/** Label for any operation sent without valid credentials, whatever it is named. */
export const UNAUTHENTICATED_OPERATION = 'unauthenticated';
/** Label for an unnamed operation. */
export const ANONYMOUS_OPERATION = 'anonymous';
/** Label for names beyond the length or count bound. */
export const OTHER_OPERATION = 'other';

export interface OperationLabelLimits {
  /** Longest operation name used as a label. */
  maxLength: number;
  /** Distinct operation names used as labels per process; later new names count as `other`. */
  maxNames: number;
}

export const DEFAULT_OPERATION_LABEL_LIMITS: OperationLabelLimits = { maxLength: 64, maxNames: 200 };

/**
 * The `operation` label of the request metrics, from a bounded set: each label value is a time
 * series kept for the life of the process, so a client must not be able to mint them. Only
 * authenticated callers' valid documents contribute their names, within the limits.
 */
export class OperationLabels {
  private readonly names = new Set<string>();

  constructor(private readonly limits: OperationLabelLimits = DEFAULT_OPERATION_LABEL_LIMITS) {}

  labelFor(operation: { resolved: boolean; authenticated: boolean; name: string | null }): string {
    if (!operation.resolved) return INVALID_OPERATION;
    if (!operation.authenticated) return UNAUTHENTICATED_OPERATION;
    if (operation.name === null) return ANONYMOUS_OPERATION;
    if (operation.name.length > this.limits.maxLength) return OTHER_OPERATION;
    if (this.names.has(operation.name)) return operation.name;
    if (this.names.size >= this.limits.maxNames) return OTHER_OPERATION;
    this.names.add(operation.name);
    return operation.name;
  }
}
