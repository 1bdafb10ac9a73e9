import type { Config } from '../../config';
import type { Logger } from '../../common/logger';
import type { Keyring } from './keyring';
import { Keyrings } from './keyrings';
import { LocalKeyring } from './local.keyring';
import { loadLocalMasterKey } from './local-master-key';

/**
 * `aws-kms` when KEYWARD_KMS_KEY_ID is set, else `local`. With KMS on, a configured
 * KEYWARD_MASTER_KEY stays available for unwrapping, so tenants can be moved by rewrapDataKeys.
 */
export async function createKeyrings(config: Config, log: Logger): Promise<Keyrings> {
  const local = async (): Promise<LocalKeyring> => {
    const master = await loadLocalMasterKey({
      configured: config.masterKey,
      dataDir: config.dataDir,
      production: config.production,
      log: { warn: (message) => log.warn(message) },
    });
    const previous = config.previousMasterKeys.map((key) => Buffer.from(key, 'base64'));
    try {
      return new LocalKeyring(master, { previous });
    } finally {
      master.fill(0);
      previous.forEach((key) => key.fill(0));
    }
  };
  if (!config.kmsKeyId) return new Keyrings(await local());
  // Imported only here: the AWS SDK is several MB of heap that a gateway on a local key never uses.
  const { AwsKmsKeyring } = await import('./aws-kms.keyring.js');
  const kms: Keyring = await AwsKmsKeyring.create({ keyId: config.kmsKeyId, endpoint: config.kmsEndpoint });
  const canUnwrapLocal = config.masterKey || config.previousMasterKeys.length > 0;
  return new Keyrings(kms, canUnwrapLocal ? [await local()] : []);
}
