export enum CredentialScope {
  PERSONAL = 'PERSONAL',
  TENANT = 'TENANT',
}
