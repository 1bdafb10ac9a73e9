/** The bearer token lives in sessionStorage only: it is gone when the tab closes. */
const TOKEN_KEY = 'keyward.token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearSession(): void {
  sessionStorage.clear();
}

/** Small JSON values kept for this tab only (the model choice). */
export function sessionValue<T>(key: string): T | null {
  try {
    const raw = sessionStorage.getItem(`keyward.${key}`);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

export function setSessionValue(key: string, value: unknown): void {
  if (value === null) sessionStorage.removeItem(`keyward.${key}`);
  else sessionStorage.setItem(`keyward.${key}`, JSON.stringify(value));
}
