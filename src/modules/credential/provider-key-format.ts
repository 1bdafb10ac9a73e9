import { badInput } from '../../common/errors';
import { Provider } from './provider';

export const MAX_API_KEY_LENGTH = 512;

/** Prefixes each provider issues keys with; the rest must be plain key characters. */
const FORMATS: Record<Provider, { prefixes: string[]; example: string }> = {
  [Provider.ANTHROPIC]: { prefixes: ['sk-ant-'], example: 'sk-ant-…' },
  [Provider.OPENAI]: { prefixes: ['sk-'], example: 'sk-…' },
  [Provider.OPENROUTER]: { prefixes: ['sk-or-'], example: 'sk-or-…' },
  [Provider.GITHUB]: { prefixes: ['ghp_', 'github_pat_'], example: 'ghp_… or github_pat_…' },
  [Provider.LINEAR]: { prefixes: ['lin_api_'], example: 'lin_api_…' },
};

const KEY_CHARACTERS = /^[A-Za-z0-9_\-.~+/=]+$/;
const MIN_SECRET_LENGTH = 16;

/**
 * Rejects keys that cannot be valid for the provider before anything is stored or sent.
 * Messages describe the expected shape and never include the submitted value.
 */
export function assertProviderKeyFormat(provider: Provider, apiKey: string): void {
  const format = FORMATS[provider];
  if (apiKey.length === 0) throw badInput('apiKey must not be empty', 'apiKey');
  if (apiKey.length > MAX_API_KEY_LENGTH)
    throw badInput(`apiKey must be at most ${MAX_API_KEY_LENGTH} characters`, 'apiKey');
  if (!KEY_CHARACTERS.test(apiKey)) {
    throw badInput(
      'apiKey contains characters no provider key has (whitespace, control or non-ASCII characters)',
      'apiKey',
    );
  }
  const prefix = format.prefixes.find((candidate) => apiKey.startsWith(candidate));
  if (!prefix) throw badInput(`apiKey does not look like a ${provider} key (expected ${format.example})`, 'apiKey');
  if (apiKey.length - prefix.length < MIN_SECRET_LENGTH)
    throw badInput(`apiKey is too short for a ${provider} key`, 'apiKey');
}

/** The last four characters, the only part of a key ever shown again. */
export const last4Of = (apiKey: string): string => apiKey.slice(-4);
