import { ErrorCode } from '../../../../src/common/errors';
import {
  availableKeySources,
  chooseKeySource,
  platformKeyAvailable,
  type KeyChoice,
  type KeyFacts,
} from '../../../../src/modules/credential/key-selection-rules';
import { KeySource } from '../../../../src/modules/credential/key-source';
import { Provider } from '../../../../src/modules/credential/provider';

/**
 * The key-source table (docs/api.md), walked whole: every requested source against every
 * combination of stored keys, the operator's switch, the tenant's policy and a configured
 * platform key. The expectations are written out here, independently of the implementation.
 *
 *   keySource  uses                                                     when absent
 *   AUTO       personal, else tenant, else platform if allowed          NO_CREDENTIAL
 *   PERSONAL   the caller's personal key                                PERSONAL_KEY_MISSING
 *   TENANT     the tenant's shared key                                  TENANT_KEY_MISSING
 *   PLATFORM   the operator's key                                       PLATFORM_KEY_DISABLED if the
 *                                                                       operator or the tenant forbids
 *                                                                       it, else NO_CREDENTIAL
 */

interface Situation {
  personal: boolean;
  tenantKey: boolean;
  /** The operator's switch for the tenant (platformKeyEnabled). */
  operatorOn: boolean;
  /** The tenant's own policy (allowPlatformKey). */
  tenantAllows: boolean;
  /** ANTHROPIC_API_KEY (or the provider's) is set. */
  configured: boolean;
}

const facts = (s: Situation, provider: Provider = Provider.ANTHROPIC): KeyFacts => ({
  provider,
  hasPersonal: s.personal,
  hasTenant: s.tenantKey,
  tenant: { platformKeyEnabled: s.operatorOn, allowPlatformKey: s.tenantAllows },
  platformConfigured: s.configured,
});

const SITUATIONS: Situation[] = [];
for (const personal of [false, true])
  for (const tenantKey of [false, true])
    for (const operatorOn of [false, true])
      for (const tenantAllows of [false, true])
        for (const configured of [false, true])
          SITUATIONS.push({ personal, tenantKey, operatorOn, tenantAllows, configured });

const describeSituation = (s: Situation): string =>
  [
    s.personal ? 'personal key' : 'no personal key',
    s.tenantKey ? 'tenant key' : 'no tenant key',
    s.operatorOn ? 'operator on' : 'operator off',
    s.tenantAllows ? 'tenant allows platform' : 'tenant forbids platform',
    s.configured ? 'platform key configured' : 'no platform key configured',
  ].join(', ');

const use = (source: KeySource): KeyChoice => ({ source: source as Exclude<KeySource, KeySource.AUTO> });
const refuse = (code: ErrorCode): { refused: ErrorCode } => ({ refused: code });

function expected(requested: KeySource, s: Situation): KeyChoice | { refused: ErrorCode } {
  const platformUsable = s.operatorOn && s.tenantAllows && s.configured;
  switch (requested) {
    case KeySource.PERSONAL:
      return s.personal ? use(KeySource.PERSONAL) : refuse(ErrorCode.PERSONAL_KEY_MISSING);
    case KeySource.TENANT:
      return s.tenantKey ? use(KeySource.TENANT) : refuse(ErrorCode.TENANT_KEY_MISSING);
    case KeySource.PLATFORM:
      if (!s.operatorOn || !s.tenantAllows) return refuse(ErrorCode.PLATFORM_KEY_DISABLED);
      return s.configured ? use(KeySource.PLATFORM) : refuse(ErrorCode.NO_CREDENTIAL);
    case KeySource.AUTO:
      if (s.personal) return use(KeySource.PERSONAL);
      if (s.tenantKey) return use(KeySource.TENANT);
      return platformUsable ? use(KeySource.PLATFORM) : refuse(ErrorCode.NO_CREDENTIAL);
  }
}

describe('chooseKeySource: the whole table', () => {
  for (const requested of Object.values(KeySource)) {
    describe(requested, () => {
      test.each(SITUATIONS.map((s) => [describeSituation(s), s] as const))('%s', (_, situation) => {
        expect(chooseKeySource(requested, facts(situation))).toMatchObject(expected(requested, situation));
      });
    });
  }
});

describe('chooseKeySource: the rules in words', () => {
  const none: Situation = {
    personal: false,
    tenantKey: false,
    operatorOn: true,
    tenantAllows: true,
    configured: false,
  };
  const everything: Situation = {
    personal: true,
    tenantKey: true,
    operatorOn: true,
    tenantAllows: true,
    configured: true,
  };

  test('AUTO prefers the personal key, then the tenant key, then the platform key', () => {
    expect(chooseKeySource(KeySource.AUTO, facts(everything))).toEqual({ source: KeySource.PERSONAL });
    expect(chooseKeySource(KeySource.AUTO, facts({ ...everything, personal: false }))).toEqual({
      source: KeySource.TENANT,
    });
    expect(chooseKeySource(KeySource.AUTO, facts({ ...everything, personal: false, tenantKey: false }))).toEqual({
      source: KeySource.PLATFORM,
    });
  });

  test('an explicit source never falls back to another one', () => {
    const onlyPlatform = { ...everything, personal: false, tenantKey: false };
    expect(chooseKeySource(KeySource.PERSONAL, facts(onlyPlatform))).toMatchObject(
      refuse(ErrorCode.PERSONAL_KEY_MISSING),
    );
    expect(chooseKeySource(KeySource.TENANT, facts(onlyPlatform))).toMatchObject(refuse(ErrorCode.TENANT_KEY_MISSING));
    const onlyStored = { ...everything, configured: false };
    expect(chooseKeySource(KeySource.PLATFORM, facts(onlyStored))).toMatchObject(refuse(ErrorCode.NO_CREDENTIAL));
  });

  test("the operator's switch wins over the tenant's policy, and each says who forbade it", () => {
    const operatorOff = chooseKeySource(
      KeySource.PLATFORM,
      facts({ ...everything, operatorOn: false, tenantAllows: true }),
    );
    const bothOff = chooseKeySource(
      KeySource.PLATFORM,
      facts({ ...everything, operatorOn: false, tenantAllows: false }),
    );
    const tenantOff = chooseKeySource(KeySource.PLATFORM, facts({ ...everything, tenantAllows: false }));
    expect(operatorOff).toEqual({
      refused: ErrorCode.PLATFORM_KEY_DISABLED,
      message: 'The operator has switched off the platform key for your tenant',
    });
    expect(bothOff).toEqual(operatorOff);
    expect(tenantOff).toEqual({
      refused: ErrorCode.PLATFORM_KEY_DISABLED,
      message: "Your tenant's policy does not allow the platform key",
    });
  });

  test('AUTO does not use a forbidden platform key; it has no key at all then', () => {
    for (const forbidden of [{ operatorOn: false }, { tenantAllows: false }, { configured: false }]) {
      expect(
        chooseKeySource(KeySource.AUTO, facts({ ...everything, personal: false, tenantKey: false, ...forbidden })),
      ).toEqual({
        refused: ErrorCode.NO_CREDENTIAL,
        message: 'No ANTHROPIC key is available to you (personal, tenant or platform)',
      });
    }
  });

  test('messages name the provider', () => {
    expect(chooseKeySource(KeySource.PERSONAL, facts(none, Provider.OPENAI))).toEqual({
      refused: ErrorCode.PERSONAL_KEY_MISSING,
      message: 'You have no personal OPENAI key',
    });
    expect(chooseKeySource(KeySource.TENANT, facts(none, Provider.OPENAI))).toEqual({
      refused: ErrorCode.TENANT_KEY_MISSING,
      message: 'Your tenant has no shared OPENAI key',
    });
    expect(chooseKeySource(KeySource.PLATFORM, facts(none, Provider.OPENAI))).toEqual({
      refused: ErrorCode.NO_CREDENTIAL,
      message: 'The operator has configured no platform OPENAI key',
    });
  });
});

describe('availableKeySources and platformKeyAvailable', () => {
  test.each(SITUATIONS.map((s) => [describeSituation(s), s] as const))('%s', (_, s) => {
    const platform = s.operatorOn && s.tenantAllows && s.configured;
    const sources = [
      ...(s.personal ? [KeySource.PERSONAL] : []),
      ...(s.tenantKey ? [KeySource.TENANT] : []),
      ...(platform ? [KeySource.PLATFORM] : []),
    ];
    expect(availableKeySources(facts(s))).toEqual(sources);
    expect(platformKeyAvailable(facts(s))).toBe(platform);
  });

  test('AUTO picks the first available source, in the same order', () => {
    for (const s of SITUATIONS) {
      const [first] = availableKeySources(facts(s));
      expect(chooseKeySource(KeySource.AUTO, facts(s))).toMatchObject(
        first ? { source: first } : refuse(ErrorCode.NO_CREDENTIAL),
      );
    }
  });
});
