/**
 * The part of oidc-provider 9 that Tessera uses, typed here because the package ships no declarations (the
 * DefinitelyTyped ones stop at 8). Kept to what src/identity/oidc and the HTTP plugin call.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface InteractionPrompt {
    name: 'login' | 'consent' | string;
    reasons: string[];
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  }

  export interface InteractionDetails {
    uid: string;
    prompt: InteractionPrompt;
    params: Record<string, unknown> & { client_id?: string; scope?: string };
    session?: { accountId: string };
    grantId?: string;
    returnTo: string;
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean };
    consent?: { grantId: string };
    error?: string;
    error_description?: string;
  }

  export interface ProviderClient {
    clientId: string;
    clientName?: string;
    clientSecret?: string;
    [metadata: string]: unknown;
  }

  export interface ProviderGrant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    proxy: boolean;
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    Client: {
      find(id: string): Promise<ProviderClient | undefined>;
      prototype: { compareClientSecret(this: ProviderClient, actual: string): Promise<boolean> };
    };
    Grant: {
      new (properties: { accountId: string; clientId: string }): ProviderGrant;
      find(id: string): Promise<ProviderGrant | undefined>;
    };
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export const errors: {
    OIDCProviderError: new (
      status: number,
      message: string,
    ) => Error & { error_description?: string; expose: boolean };
  };

  export default Provider;
}
