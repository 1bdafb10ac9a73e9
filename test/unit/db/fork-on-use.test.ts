import type { EntityManager } from '@mikro-orm/postgresql';
import { ForkOnUse } from '../../../src/db/fork-on-use';

const countingRoot = () => {
  const forks: object[] = [];
  const root = {
    fork: () => {
      const fork = { n: forks.length };
      forks.push(fork);
      return fork;
    },
  } as unknown as EntityManager;
  return { root, forks };
};

describe('ForkOnUse', () => {
  test('forks nothing until em is read', () => {
    const { root, forks } = countingRoot();
    new ForkOnUse(root);
    expect(forks).toHaveLength(0);
  });

  test('forks once, at the first read, and hands out that fork from then on', () => {
    const { root, forks } = countingRoot();
    const scope = new ForkOnUse(root);
    const first = scope.em;
    expect(forks).toEqual([first]);
    expect(scope.em).toBe(first);
    expect(forks).toHaveLength(1);
  });

  test('each operation has its own fork', () => {
    const { root } = countingRoot();
    expect(new ForkOnUse(root).em).not.toBe(new ForkOnUse(root).em);
  });
});
