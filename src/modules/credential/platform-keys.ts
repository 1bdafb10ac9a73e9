import type { Provider } from './provider';

/** The operator's keys from the environment, per provider. */
export class PlatformKeys {
  constructor(private readonly keys: Partial<Record<Provider, string>>) {}

  has(provider: Provider): boolean {
    return Boolean(this.keys[provider]);
  }

  get(provider: Provider): string | undefined {
    return this.keys[provider];
  }
}
