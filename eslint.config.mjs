// Lint: typescript-eslint's recommended rules plus the type-aware rules that catch real bugs in
// async code (a promise nobody awaits, a promise where a callback's result is ignored).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A variable assigned once but read by a closure made before the assignment stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Packages a running gateway may never need, loaded only when it does (docs/benchmarks.md,
    // "Start-up memory"). Type imports are free; test/db/start-up-modules.test.ts checks the rest.
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...['@mikro-orm/migrations', 'ioredis', '@aws-sdk/client-kms', 'openai'].map((name) => ({
              name,
              allowTypeImports: true,
              message: 'load it on first use, with import() (see where it is imported now)',
            })),
            {
              name: 'class-validator',
              allowTypeImports: true,
              message: "import from src/common/class-validator.ts: the package's index loads ~3 MB of unused code",
            },
          ],
        },
      ],
    },
  },
  {
    // The browser tests type-check with the DOM library (their own tsconfig).
    files: ['test/console/**/*.ts', 'test/support/browser.ts'],
    languageOptions: { parserOptions: { projectService: false, project: './test/console/tsconfig.json' } },
  },
  {
    // Tests read GraphQL and SQL results loosely typed, as the responses they check.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
