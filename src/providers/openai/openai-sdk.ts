/**
 * The OpenAI SDK, for createOpenAiClient to load on first use. Through this module rather than
 * `import('openai')`, which would load the package's ES module build: a second copy of its error
 * classes, which `instanceof` against 'openai/error' (CommonJS) would not recognise.
 */
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- this module is the one import()ed
import OpenAISdk from 'openai';

// A plain assignment, which Node's import() of this CommonJS module sees as a named export.
export const OpenAI = OpenAISdk;
