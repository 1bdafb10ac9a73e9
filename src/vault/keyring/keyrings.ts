import { KeyringError, type Keyring, type KeyringKind } from './keyring';

/**
 * The keyring new data keys are wrapped with, plus any others still needed to unwrap keys
 * wrapped before a move (for example `local` while tenants move to `aws-kms`).
 */
export class Keyrings {
  private readonly byKind: Map<KeyringKind, Keyring>;

  constructor(
    readonly current: Keyring,
    private readonly others: Keyring[] = [],
  ) {
    this.byKind = new Map([...others, current].map((keyring) => [keyring.kind, keyring]));
  }

  /** The same keyrings, each wrapped (e.g. to meter calls). */
  decorate(wrap: (keyring: Keyring) => Keyring): Keyrings {
    return new Keyrings(wrap(this.current), this.others.map(wrap));
  }

  forKind(kind: KeyringKind): Keyring {
    const keyring = this.byKind.get(kind);
    if (!keyring) throw new KeyringError('unavailable', `No ${kind} keyring is configured on this gateway`);
    return keyring;
  }

  /** True when a key wrapped this way should be re-wrapped by `rewrapDataKeys`. */
  isStale(kind: KeyringKind, masterKeyId: string): boolean {
    return kind !== this.current.kind || masterKeyId !== this.current.masterKeyId;
  }
}
