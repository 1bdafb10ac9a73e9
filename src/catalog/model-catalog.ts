import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { Provider } from '../modules/credential/provider';
import shippedCatalog from './models.json';

/** YYYY-MM-DD naming a day that exists (2026-02-30 does not). */
function isCalendarDay(day: string): boolean {
  const start = Date.parse(`${day}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(start) && new Date(start).toISOString().startsWith(day);
}

const calendarDay = v.pipe(v.string(), v.check(isCalendarDay, 'must be a date, YYYY-MM-DD'));

const price = v.pipe(v.number('must be a number'), v.finite('must be finite'), v.minValue(0, 'must not be negative'));

const CatalogSchema = v.object({
  models: v.pipe(
    v.array(
      v.object({
        // OpenRouter's ids are `vendor/model`.
        id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._:/-]{0,99}$/, 'must be a lower-case model id')),
        provider: v.enum(Provider, `must be one of ${Object.values(Provider).join(', ')}`),
        displayName: v.pipe(
          v.string(),
          v.minLength(1, 'must not be empty'),
          v.maxLength(200, 'must be at most 200 characters'),
        ),
        inputUsdPerMTok: price,
        outputUsdPerMTok: price,
        /** The provider's announced end of life (UTC day, YYYY-MM-DD): from its start the model is retired. */
        endOfLife: v.optional(calendarDay),
      }),
    ),
    v.minLength(1, 'must list at least one model'),
  ),
});

export type CatalogModel = v.InferOutput<typeof CatalogSchema>['models'][number];

export class ModelCatalog {
  private readonly byId: Map<string, CatalogModel>;

  constructor(models: CatalogModel[]) {
    this.byId = new Map(models.map((model) => [model.id, model]));
    if (this.byId.size !== models.length) throw new Error('Model catalog lists a model id twice');
  }

  /** The shipped catalog, or the operator's file (KEYWARD_MODELS_FILE), validated. */
  static load(file?: string): ModelCatalog {
    const raw: unknown = file ? JSON.parse(readFileSync(file, 'utf8')) : shippedCatalog;
    const parsed = v.safeParse(CatalogSchema, raw, { message: 'is not valid' });
    if (!parsed.success) {
      const where = file ?? 'the shipped catalog';
      throw new Error(
        `Invalid model catalog in ${where}: ${parsed.issues.map((i) => `${v.getDotPath(i) ?? 'the catalog'} ${i.message}`).join('; ')}`,
      );
    }
    return new ModelCatalog(parsed.output.models);
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
