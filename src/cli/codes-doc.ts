import { CODES, codesArising, type Code } from '../common/codes';

/** A generated table sits between these two lines in docs/api.md. */
const START = (table: CodeTable) =>
  `<!-- codes:${table} (generated from src/common/codes.ts by npm run docs:codes) -->`;
const END = (table: CodeTable) => `<!-- /codes:${table} -->`;

export type CodeTable = 'errors' | 'chat-failed';

const yesNo = (value: boolean | undefined) => (value ? 'yes' : 'no');

const row = (cells: string[]) => `| ${cells.join(' | ')} |`;

const where = (code: Code): string => {
  const arises: readonly string[] = CODES[code].arises;
  if (arises.includes('request')) return 'before any resolver';
  return arises.includes('stream') ? 'a resolver; also `ChatFailed`' : 'a resolver';
};

const errorsTable = (): string[] => {
  const codes = [
    ...codesArising('resolver'),
    ...codesArising('request').filter((code) => !codesArising('resolver').includes(code)),
  ];
  return [
    row(['`extensions.code`', 'meaning', 'retryable', 'from']),
    row(['---', '---', '---', '---']),
    ...codes.map((code) => row([`\`${code}\``, CODES[code].meaning, yesNo(CODES[code].retryable), where(code)])),
  ];
};

const chatFailedTable = (): string[] => [
  row(['`ChatFailed.code`', 'cause', '`retryable`', 'retried by the gateway before the first token']),
  row(['---', '---', '---', '---']),
  ...codesArising('stream').map((code) => {
    const info: { meaning: string; retryable: boolean; autoRetried?: true } = CODES[code];
    return row([`\`${code}\``, info.meaning, yesNo(info.retryable), yesNo(info.autoRetried)]);
  }),
];

export const renderCodeTable = (table: CodeTable): string =>
  [START(table), ...(table === 'errors' ? errorsTable() : chatFailedTable()), END(table)].join('\n');

/** The text between a table's markers (markers included), or undefined if they are missing. */
export function codeTableIn(markdown: string, table: CodeTable): string | undefined {
  const start = markdown.indexOf(START(table));
  const end = markdown.indexOf(END(table));
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start, end + END(table).length);
}

/** Rewrites every code table in `markdown` from the catalogue. */
export function withCurrentCodeTables(markdown: string): string {
  let result = markdown;
  for (const table of ['errors', 'chat-failed'] as const) {
    const current = codeTableIn(result, table);
    if (current === undefined) throw new Error(`docs: the markers of the ${table} code table are missing`);
    result = result.replace(current, () => renderCodeTable(table));
  }
  return result;
}
