import type { Provider } from 'oidc-provider';

export interface ProviderLibrary {
  Provider: typeof Provider;
  /** The token endpoint's answer to a locked client: 429 `too_many_attempts`. */
  TooManyAttempts: new (
    retryAfterSeconds: number,
  ) => Error;
}

let loaded: Promise<ProviderLibrary> | undefined;

/**
 * oidc-provider, imported on the first OpenID Connect request rather than at start (it brings koa and its
 * router, which a node that serves no issuer never needs). Its import prints "Unsupported runtime" on Node 20:
 * it asks for Node 22 by its LTS name only, declares no `engines`, and the tests run every flow Tessera uses on
 * Node 20.20, so that one line is kept out of the server's stderr.
 */
export function loadProviderLibrary(): Promise<ProviderLibrary> {
  loaded ??= importQuietly();
  return loaded;
}

async function importQuietly(): Promise<ProviderLibrary> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime'))
      return;
    warn(...args);
  };
  try {
    const library = await import('oidc-provider');
    class TooManyAttempts extends library.errors.OIDCProviderError {
      constructor(retryAfterSeconds: number) {
        super(429, 'too_many_attempts');
        this.error_description = `too many failed attempts: try again in ${retryAfterSeconds} s`;
      }
    }
    return { Provider: library.default, TooManyAttempts };
  } finally {
    console.warn = warn;
  }
}
