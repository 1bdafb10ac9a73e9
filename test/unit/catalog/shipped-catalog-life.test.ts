import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelCatalog } from '../../../src/catalog/model-catalog';
import { ModelSelectionRules } from '../../../src/catalog/model-selection-rules';
import { DEFAULT_MODEL } from '../../../src/modules/tenant/tenant.entity';

/**
 * The shipped catalog's end-of-life dates are the Anthropic SDK's (@anthropic-ai/sdk 1.13.0,
 * internal/data/deprecated-models.js), and the default model is a current one.
 */
const catalog = ModelCatalog.load();

test('end-of-life dates follow the SDK deprecation table', () => {
  const dates = Object.fromEntries(catalog.all().map((model) => [model.id, model.endOfLife ?? null]));
  expect(dates['claude-sonnet-4-5']).toBe('2026-11-30');
  expect(dates['claude-opus-4-5']).toBe('2027-01-22');
  expect(dates['claude-haiku-4-5']).toBeNull();
});

test('the default model has no announced end of life, and newer models are offered', () => {
  expect(catalog.get(DEFAULT_MODEL)!.endOfLife).toBeUndefined();
  for (const id of ['claude-sonnet-5-5', 'claude-opus-5-5']) {
    expect(catalog.get(id)).toMatchObject({ provider: 'ANTHROPIC' });
    expect(catalog.get(id)!.endOfLife).toBeUndefined();
  }
});

test('a model retires at the start of its end-of-life day (UTC), and only then is it refused', () => {
  const rules = new ModelSelectionRules(catalog);
  const sonnet = catalog.get('claude-sonnet-4-5')!;
  expect(catalog.isRetired(sonnet, new Date('2026-11-29T23:59:59.999Z'))).toBe(false);
  expect(catalog.isRetired(sonnet, new Date('2026-11-30T00:00:00Z'))).toBe(true);
  expect(() => rules.assertCurrent('claude-sonnet-4-5', new Date('2026-11-29T12:00:00Z'))).not.toThrow();
  expect(() => rules.assertCurrent('claude-sonnet-4-5', new Date('2026-12-01T00:00:00Z'))).toThrow(
    expect.objectContaining({ code: 'MODEL_RETIRED' }) as Error,
  );
  expect(() => rules.assertCurrent(DEFAULT_MODEL, new Date('2999-01-01T00:00:00Z'))).not.toThrow();
});

test('an operator catalog with a malformed or non-existent end-of-life date is refused at load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-catalog-'));
  try {
    const file = join(dir, 'models.json');
    const model = { id: 'x', provider: 'ANTHROPIC', displayName: 'X', inputUsdPerMTok: 1, outputUsdPerMTok: 1 };
    writeFileSync(file, JSON.stringify({ models: [{ ...model, endOfLife: '30/11/2026' }] }));
    expect(() => ModelCatalog.load(file)).toThrow(/models\.0\.endOfLife must be a date, YYYY-MM-DD/);
    writeFileSync(file, JSON.stringify({ models: [{ ...model, endOfLife: '2026-02-30' }] }));
    expect(() => ModelCatalog.load(file)).toThrow(/models\.0\.endOfLife must be a date, YYYY-MM-DD/);
    writeFileSync(file, JSON.stringify({ models: [{ ...model, endOfLife: '2026-11-30' }] }));
    expect(ModelCatalog.load(file).get('x')!.endOfLife).toBe('2026-11-30');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
