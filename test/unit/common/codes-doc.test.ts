import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { codeTableIn, renderCodeTable, type CodeTable } from '../../../src/cli/codes-doc';
import { CODES, type Code } from '../../../src/common/codes';

const apiDoc = readFileSync(resolve(__dirname, '../../../docs/api.md'), 'utf8');

/** The rows of a markdown table as code → cells after the code. */
const rowsOf = (table: string): Map<string, string[]> =>
  new Map(
    table
      .split('\n')
      .filter((line) => /^\| `[A-Z_]+` \|/.test(line))
      .map((line) => {
        const [code, ...rest] = line.slice(2, -2).split(' | ');
        return [code.replace(/`/g, ''), rest];
      }),
  );

describe.each<CodeTable>(['errors', 'chat-failed'])('docs/api.md, %s table', (table) => {
  const documented = codeTableIn(apiDoc, table);

  test('is where the markers say', () => {
    expect(documented).toBeDefined();
  });

  test('lists every code of its kind once, with its meaning and retryable flag', () => {
    const expected = rowsOf(renderCodeTable(table));
    const actual = rowsOf(documented ?? '');
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [code, cells] of actual) {
      const info = CODES[code as Code];
      expect({ code, meaning: cells[0], retryable: cells[1] }).toEqual({
        code,
        meaning: info.meaning,
        retryable: info.retryable ? 'yes' : 'no',
      });
    }
  });

  test('is current: run `npm run docs:codes` after changing src/common/codes.ts', () => {
    expect(documented).toBe(renderCodeTable(table));
  });
});
