import type { CatalogModel } from '../../catalog/model-catalog';
import type { Caller } from '../../auth/caller';
import type { KeySelector } from '../credential/key-selector';
import type { ConcreteKeySource } from '../credential/key-source';
import type { Provider } from '../credential/provider';
import type { ModelSelectionRules } from '../../catalog/model-selection-rules';
import { TenantEntity } from '../tenant/tenant.entity';

export interface ModelAvailability {
  model: CatalogModel;
  keySources: ConcreteKeySource[];
  endOfLife: Date | null;
  retired: boolean;
}

export class ModelService {
  constructor(
    private readonly rules: ModelSelectionRules,
    private readonly keys: KeySelector,
  ) {}

  /** Every catalog model with the sources that would serve it for the caller now (none if the policy forbids it). */
  async list(caller: Caller): Promise<ModelAvailability[]> {
    const tenant = await caller.em.findOneOrFail(TenantEntity, { id: caller.principal.tenantId });
    const byProvider = new Map<Provider, Promise<ConcreteKeySource[]>>();
    const sourcesFor = (provider: Provider) => {
      if (!byProvider.has(provider))
        byProvider.set(provider, this.keys.availableSources(caller.em, caller.principal, tenant, provider));
      return byProvider.get(provider)!;
    };
    const { catalog } = this.rules;
    const now = new Date();
    return Promise.all(
      catalog.all().map(async (model) => ({
        model,
        keySources: this.rules.isAllowed(tenant, model.id) ? await sourcesFor(model.provider as Provider) : [],
        endOfLife: catalog.endOfLife(model),
        retired: catalog.isRetired(model, now),
      })),
    );
  }
}
