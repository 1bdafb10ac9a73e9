import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelCatalog } from '../../../src/catalog/model-catalog';

/** An operator's catalog (KEYWARD_MODELS_FILE) is refused at load with every fault named by its place. */
function loadError(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-catalog-'));
  try {
    const file = join(dir, 'models.json');
    writeFileSync(file, JSON.stringify(content));
    try {
      ModelCatalog.load(file);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the catalog was accepted');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('each faulty field of a model is named, with what it must be', () => {
  const message = loadError({
    models: [{ id: 'X', provider: 'NOPE', displayName: '', inputUsdPerMTok: '1', outputUsdPerMTok: -1 }],
  });
  expect(message).toMatch(/^Invalid model catalog in .*models\.json: /);
  expect(message.slice(message.indexOf('.json: ') + '.json: '.length).split('; ')).toEqual([
    'models.0.id must be a lower-case model id',
    'models.0.provider must be one of ANTHROPIC, OPENAI, OPENROUTER, GITHUB, LINEAR',
    'models.0.displayName must not be empty',
    'models.0.inputUsdPerMTok must be a number',
    'models.0.outputUsdPerMTok must not be negative',
  ]);
});

test('a catalog without models, or not an object at all, is refused', () => {
  expect(loadError({ models: [] })).toMatch(/: models must list at least one model$/);
  expect(loadError({})).toMatch(/: models is not valid$/);
  expect(loadError('models')).toMatch(/: the catalog is not valid$/);
});
