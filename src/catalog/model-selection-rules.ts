import { ErrorCode, KeywardError } from '../common/errors';
import { redactSecrets } from '../common/logger';
import type { ModelCatalog } from './model-catalog';

/** What the rules read of a tenant: its allow-list of model ids (null: every catalog model). */
export interface ModelPolicy {
  readonly allowedModels: readonly string[] | null;
}

/** Model ids are short; a longer value, or one shaped like a key, may be a secret pasted in the wrong field. */
const MAX_ECHOED_MODEL_LENGTH = 48;

const echoable = (model: string): boolean =>
  model.length <= MAX_ECHOED_MODEL_LENGTH && /^[\x21-\x7e]+$/.test(model) && redactSecrets(model) === model;

/** Whether a model id names a catalog model and the tenant's policy allows it. */
export class ModelSelectionRules {
  constructor(readonly catalog: ModelCatalog) {}

  assertKnown(model: string): void {
    if (!this.catalog.has(model)) {
      if (!echoable(model))
        throw new KeywardError(ErrorCode.UNKNOWN_MODEL, 'Unknown model (the id sent is not repeated)');
      throw new KeywardError(ErrorCode.UNKNOWN_MODEL, `Unknown model "${model}"`, { model });
    }
  }

  isAllowed(tenant: ModelPolicy, model: string): boolean {
    return tenant.allowedModels === null || tenant.allowedModels.includes(model);
  }

  assertUsable(tenant: ModelPolicy, model: string): void {
    this.assertKnown(model);
    if (!this.isAllowed(tenant, model)) {
      throw new KeywardError(ErrorCode.MODEL_NOT_ALLOWED, `Model "${model}" is not allowed by this tenant's policy`, {
        model,
      });
    }
  }
}
