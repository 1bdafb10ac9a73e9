const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IDs are UUIDs; anything else cannot name a row, so callers answer NOT_FOUND without a query. */
export const isUuid = (value: string): boolean => UUID.test(value);
