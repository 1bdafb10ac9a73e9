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

  /**
   * Refuses a model past its end of life (MODEL_RETIRED): the provider no longer serves it, so
   * a request would only fail upstream. Checked where a model is chosen — a chat, an agent, a
   * preferred or default model — not on the catalog listing, which shows retired models too.
   */
  assertCurrent(model: string, now: Date = new Date()): void {
    const entry = this.catalog.get(model);
    if (!entry || !this.catalog.isRetired(entry, now)) return;
    throw new KeywardError(
      ErrorCode.MODEL_RETIRED,
      `Model "${model}" reached its end of life on ${entry.endOfLife}; choose a current model`,
      { model, endOfLife: entry.endOfLife },
    );
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
