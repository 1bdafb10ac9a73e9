import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Provider } from '../modules/credential/provider';
import shippedCatalog from './models.json';

const CatalogSchema = z.object({
  models: z
    .array(
      z.object({
        // OpenRouter's ids are `vendor/model`.
        id: z.string().regex(/^[a-z0-9][a-z0-9._:/-]{0,99}$/, 'must be a lower-case model id'),
        provider: z.enum(Provider),
        displayName: z.string().min(1).max(200),
        inputUsdPerMTok: z.number().nonnegative().finite(),
        outputUsdPerMTok: z.number().nonnegative().finite(),
        /** The provider's announced end of life (UTC day, YYYY-MM-DD): from its start the model is retired. */
        endOfLife: z.iso.date('must be a date, YYYY-MM-DD').optional(),
      }),
    )
    .min(1, 'must list at least one model'),
});

export type CatalogModel = z.infer<typeof CatalogSchema>['models'][number];

export class ModelCatalog {
  private readonly byId: Map<string, CatalogModel>;

  constructor(models: CatalogModel[]) {
    this.byId = new Map(models.map((model) => [model.id, model]));
    if (this.byId.size !== models.length) throw new Error('Model catalog lists a model id twice');
  }

  /** The shipped catalog, or the operator's file (KEYWARD_MODELS_FILE), validated. */
  static load(file?: string): ModelCatalog {
    const raw: unknown = file ? JSON.parse(readFileSync(file, 'utf8')) : shippedCatalog;
    const parsed = CatalogSchema.safeParse(raw);
    if (!parsed.success) {
      const where = file ?? 'the shipped catalog';
      throw new Error(
        `Invalid model catalog in ${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      );
    }
    return new ModelCatalog(parsed.data.models);
  }

  get(id: string): CatalogModel | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  all(): CatalogModel[] {
    return [...this.byId.values()];
  }

  /** The instant the model retires (start of its end-of-life day, UTC); null when none is announced. */
  endOfLife(model: CatalogModel): Date | null {
    return model.endOfLife ? new Date(`${model.endOfLife}T00:00:00Z`) : null;
  }

  /** Whether the model is past its end of life at `now`. */
  isRetired(model: CatalogModel, now: Date = new Date()): boolean {
    const end = this.endOfLife(model);
    return end !== null && now.getTime() >= end.getTime();
  }

  /** USD for a request, from the catalog's per-million-token prices. */
  costUsd(model: CatalogModel, inputTokens: number, outputTokens: number): number {
    return (inputTokens * model.inputUsdPerMTok + outputTokens * model.outputUsdPerMTok) / 1_000_000;
  }
}
