import { ApiError } from './api';

/** What went wrong, in words, and where to go next. */
export interface Explained {
  text: string;
  code: string;
  next?: { label: string; href: string };
}

const TO_KEYS = { label: 'Open API Keys', href: '/settings/keys' };
const TO_MODELS = { label: 'Open Model Selection', href: '/settings/models' };

const WORDS: Record<string, (message: string, extensions: Record<string, unknown>) => Omit<Explained, 'code'>> = {
  UNAUTHENTICATED: () => ({ text: 'Your token was not accepted: it may be mistyped, revoked or expired.' }),
  FORBIDDEN: (message) => ({ text: `Not allowed for your role: ${message}.` }),
  NOT_FOUND: (message) => ({ text: `${message}.` }),
  BAD_USER_INPUT: (message) => ({ text: `Please correct the input: ${message}.` }),
  PERSONAL_KEY_MISSING: () => ({
    text: 'You have no personal key for this provider yet. Add one, or pick another key source.',
    next: TO_KEYS,
  }),
  TENANT_KEY_MISSING: () => ({
    text: 'Your tenant has no shared key for this provider. Ask a tenant admin to add one, or pick another key source.',
    next: TO_MODELS,
  }),
  NO_CREDENTIAL: () => ({
    text: 'No key can serve this model: add your own key, or ask a tenant admin for a tenant key.',
    next: TO_KEYS,
  }),
  PLATFORM_KEY_DISABLED: () => ({
    text: 'Your tenant does not allow the platform key. Use your own key or the tenant key.',
    next: TO_MODELS,
  }),
  UNKNOWN_MODEL: () => ({ text: 'That model is not in the catalog any more. Pick another model.', next: TO_MODELS }),
  MODEL_NOT_ALLOWED: () => ({
    text: "Your tenant's policy does not allow that model. Pick another model.",
    next: TO_MODELS,
  }),
  INVALID_PROVIDER_KEY: () => ({ text: 'The provider rejected the key. Replace it with a valid key.', next: TO_KEYS }),
  RATE_LIMITED: (_message, extensions) => ({
    text: `Too many requests. Wait ${Number(extensions.retryAfterSeconds ?? 60)} seconds, then send again.`,
  }),
  BUDGET_EXCEEDED: () => ({
    text: "Your tenant's monthly budget is used up. A tenant admin can raise it under Admin → Policy.",
  }),
  KEY_UNAVAILABLE: () => ({
    text: 'The stored key cannot be decrypted right now. Try again later, or tell your operator.',
  }),
  UPSTREAM_RATE_LIMITED: () => ({ text: 'The provider is rate-limiting this key. Wait a minute and send again.' }),
  UPSTREAM_OVERLOADED: () => ({ text: 'The provider is overloaded. Wait a moment and send again.' }),
  UPSTREAM_BAD_REQUEST: (message) => ({ text: `The provider refused the request: ${message}.` }),
  UPSTREAM_ERROR: () => ({ text: 'The provider failed while answering. Send the message again.' }),
  UPSTREAM_UNREACHABLE: () => ({ text: 'The provider could not be reached. Check the network and send again.' }),
  TOOL_STEPS_EXCEEDED: () => ({
    text: "The model kept calling tools past the tenant's limit of model calls per chat. A tenant admin can raise it under Admin → Policy.",
  }),
  TOOL_RESULT_TIMEOUT: () => ({
    text: 'No tool result arrived in time, so the chat ended. Send the message again and answer the tool calls sooner.',
  }),
  SHUTTING_DOWN: () => ({ text: 'The gateway is restarting. Send the message again in a moment.' }),
  NETWORK: (message) => ({ text: message }),
  CONNECTION_CLOSED: (message) => ({ text: message }),
};

export function explain(code: string, message: string, extensions: Record<string, unknown> = {}): Explained {
  const words = WORDS[code];
  return { code, ...(words ? words(message, extensions) : { text: message.endsWith('.') ? message : `${message}.` }) };
}

export function explainError(error: unknown): Explained {
  if (error instanceof ApiError) return explain(error.code, error.message, error.extensions);
  return explain('ERROR', error instanceof Error ? error.message : String(error));
}
