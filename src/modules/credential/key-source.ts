export enum KeySource {
  AUTO = 'AUTO',
  PERSONAL = 'PERSONAL',
  TENANT = 'TENANT',
  PLATFORM = 'PLATFORM',
}

/** The sources a request can actually be served from (AUTO resolves to one of these). */
export type ConcreteKeySource = Exclude<KeySource, KeySource.AUTO>;
