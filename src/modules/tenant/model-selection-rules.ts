import type { ModelCatalog } from '../../chat/model-catalog';
import { ErrorCode, KeywardError } from '../../common/errors';
import type { TenantEntity } from './tenant.entity';

/** Whether a model id names a catalog model and the tenant's policy allows it. */
export class ModelSelectionRules {
  constructor(readonly catalog: ModelCatalog) {}

  assertKnown(model: string): void {
    if (!this.catalog.has(model)) {
      throw new KeywardError(ErrorCode.UNKNOWN_MODEL, `Unknown model "${model.slice(0, 100)}"`, { model: model.slice(0, 100) });
    }
  }

  isAllowed(tenant: Pick<TenantEntity, 'allowedModels'>, model: string): boolean {
    return tenant.allowedModels === null || tenant.allowedModels.includes(model);
  }

  assertUsable(tenant: Pick<TenantEntity, 'allowedModels'>, model: string): void {
    this.assertKnown(model);
    if (!this.isAllowed(tenant, model)) {
      throw new KeywardError(ErrorCode.MODEL_NOT_ALLOWED, `Model "${model}" is not allowed by this tenant's policy`, { model });
    }
  }
}
