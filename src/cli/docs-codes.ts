import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withCurrentCodeTables } from './codes-doc';

const target = resolve(process.argv[2] ?? 'docs/api.md');
writeFileSync(target, withCurrentCodeTables(readFileSync(target, 'utf8')));
console.log(`wrote the code tables of ${target}`);
