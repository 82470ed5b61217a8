import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';

/** What the provider's hooks need of the HTTP request they run in, which oidc-provider does not hand them. */
export interface OidcRequestScope {
  /** The client's address as Fastify sees it (`request.ip`), for the lockout's address count. */
  address: string;
  response: ServerResponse;
}

const scope = new AsyncLocalStorage<OidcRequestScope>();

/** Runs `handle` (the provider's callback) with the request's scope visible to the hooks below it. */
export function inRequestScope<T>(request: OidcRequestScope, handle: () => Promise<T>): Promise<T> {
  return scope.run(request, handle);
}

export function currentRequestScope(): OidcRequestScope | undefined {
  return scope.getStore();
}
