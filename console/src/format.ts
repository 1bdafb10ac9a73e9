export const PROVIDERS = ['ANTHROPIC', 'OPENAI', 'OPENROUTER', 'GITHUB', 'LINEAR'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const PROVIDER_NAMES: Record<ProviderName, string> = {
  ANTHROPIC: 'Anthropic',
  OPENAI: 'OpenAI',
  OPENROUTER: 'OpenRouter',
  GITHUB: 'GitHub',
  LINEAR: 'Linear',
};

/** The shapes the gateway accepts (src/modules/credential/provider-key-format.ts), checked before sending. */
export const KEY_FORMATS: Record<ProviderName, { prefixes: string[]; hint: string }> = {
  ANTHROPIC: { prefixes: ['sk-ant-'], hint: 'Starts with sk-ant-' },
  OPENAI: { prefixes: ['sk-'], hint: 'Starts with sk-' },
  OPENROUTER: { prefixes: ['sk-or-'], hint: 'Starts with sk-or-' },
  GITHUB: { prefixes: ['ghp_', 'github_pat_'], hint: 'Starts with ghp_ or github_pat_' },
  LINEAR: { prefixes: ['lin_api_'], hint: 'Starts with lin_api_' },
};

/** A reason the key cannot be right, or null. */
export function keyFormatProblem(provider: ProviderName, key: string): string | null {
  const format = KEY_FORMATS[provider];
  if (/\s/.test(key)) return 'The key contains spaces or line breaks: paste it again without them.';
  const prefix = format.prefixes.find((candidate) => key.startsWith(candidate));
  if (!prefix)
    return `This does not look like a ${PROVIDER_NAMES[provider]} key: it should start with ${format.prefixes.join(' or ')}.`;
  if (key.length - prefix.length < 16) return `This is too short for a ${PROVIDER_NAMES[provider]} key.`;
  return null;
}

export const KEY_SOURCE_WORDS: Record<string, string> = {
  PERSONAL: 'personal key',
  TENANT: 'tenant key',
  PLATFORM: 'platform key',
  AUTO: 'best available key',
};

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", "yesterday"… */
export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const steps: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['second', 60],
    ['minute', 60],
    ['hour', 24],
    ['day', 30],
    ['month', 12],
    ['year', Infinity],
  ];
  let value = seconds;
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return new Date(iso).toLocaleString();
}

export const dateTime = (iso: string | null | undefined) =>
  iso ? `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '–';

export const usd = (value: number) => `$${value < 0.01 && value > 0 ? value.toFixed(6) : value.toFixed(2)}`;

export const integer = (value: number) => value.toLocaleString('en');
