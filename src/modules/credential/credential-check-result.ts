/** What a live check of a stored key with its provider found. */
export enum CredentialCheckResult {
  VALID = 'VALID',
  REJECTED = 'REJECTED',
  UNREACHABLE = 'UNREACHABLE',
  NO_LIVE_CHECK = 'NO_LIVE_CHECK',
}
