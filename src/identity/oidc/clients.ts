import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { OidcClientsTable, Schema } from '../../db/schema.js';
import { TesseraError } from '../../errors.js';
import type { AdapterPayload } from './adapter.js';
import {
  type ClientRegistration,
  checkRegistration,
  hashSecret,
  type StoredMetadata,
} from './client-metadata.js';

/** A client as the API shows it: never its secret. */
export interface ClientView {
  clientId: string;
  name: string;
  type: 'confidential' | 'public';
  tokenEndpointAuthMethod: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  firstParty: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

type ClientRow = OidcClientsTable;

/**
 * Each tenant's registered OpenID Connect clients (`oidc_clients`), written through the admin API and read by
 * the tenant's provider (`metadataFor`). A confidential client's secret is generated here, returned once by
 * `create`, and stored only as its hash.
 */
export class OidcClients {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(
    tenantId: number,
    registration: ClientRegistration,
    createdBy: string,
  ): Promise<{ client: ClientView; clientSecret?: string }> {
    const metadata = checkRegistration(registration);
    const clientId = randomBytes(16).toString('base64url');
    const clientSecret =
      metadata.token_endpoint_auth_method === 'none' ? undefined : randomBytes(32).toString('base64url');
    const now = Date.now();
    const row: ClientRow = {
      tenant_id: tenantId,
      client_id: clientId,
      metadata: JSON.stringify(metadata),
      secret_hash: clientSecret === undefined ? null : hashSecret(clientSecret),
      created_by: createdBy,
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('oidc_clients').values(row).execute();
    return { client: view(row), ...(clientSecret === undefined ? {} : { clientSecret }) };
  }

  async list(tenantId: number): Promise<ClientView[]> {
    const rows = await this.db
      .selectFrom('oidc_clients')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('client_id')
      .execute();
    return rows.map(view);
  }

  async get(tenantId: number, clientId: string): Promise<ClientView> {
    return view(await this.row(tenantId, clientId));
  }

  /** Replaces name, URIs and first-party flag; the type (and so the secret) stays what it was. */
  async update(tenantId: number, clientId: string, registration: ClientRegistration): Promise<ClientView> {
    const row = await this.row(tenantId, clientId);
    const stored = JSON.parse(row.metadata) as StoredMetadata;
    const wasPublic = stored.token_endpoint_auth_method === 'none';
    if ((registration.type === 'public') !== wasPublic)
      throw new TesseraError(
        'CONFLICT',
        `Client ${clientId} is ${wasPublic ? 'public' : 'confidential'}: register a new client to change its type.`,
      );
    const metadata = checkRegistration(registration);
    const updated = { ...row, metadata: JSON.stringify(metadata), updated_at: Date.now() };
    await this.db
      .updateTable('oidc_clients')
      .set({ metadata: updated.metadata, updated_at: updated.updated_at })
      .where('tenant_id', '=', tenantId)
      .where('client_id', '=', clientId)
      .execute();
    return view(updated);
  }

  /** Removes the client and everything the provider stored for it (its tokens, codes and grants). */
  async delete(tenantId: number, clientId: string): Promise<void> {
    await this.row(tenantId, clientId);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('oidc_clients')
        .where('tenant_id', '=', tenantId)
        .where('client_id', '=', clientId)
        .execute();
      // Payloads name their client inside the JSON only; grants name it too, and take their tokens along.
      const grants = await trx
        .selectFrom('oidc_payloads')
        .select(['id', 'payload'])
        .where('tenant_id', '=', tenantId)
        .where('model', '=', 'Grant')
        .execute();
      const ofClient = grants
        .filter((grant) => (JSON.parse(grant.payload) as AdapterPayload).clientId === clientId)
        .map((grant) => grant.id);
      if (ofClient.length > 0)
        await trx
          .deleteFrom('oidc_payloads')
          .where('tenant_id', '=', tenantId)
          .where((eb) =>
            eb.or([
              eb('grant_id', 'in', ofClient),
              eb.and([eb('model', '=', 'Grant'), eb('id', 'in', ofClient)]),
            ]),
          )
          .execute();
    });
  }

  /** The client as oidc-provider reads it (its `Client` model), the secret's hash standing for the secret. */
  async metadataFor(tenantId: number, clientId: string): Promise<AdapterPayload | undefined> {
    const row = await this.db
      .selectFrom('oidc_clients')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (!row) return undefined;
    const metadata = JSON.parse(row.metadata) as StoredMetadata;
    return {
      client_id: row.client_id,
      ...metadata,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(row.secret_hash === null ? {} : { client_secret: row.secret_hash }),
    };
  }

  private async row(tenantId: number, clientId: string): Promise<ClientRow> {
    const row = await this.db
      .selectFrom('oidc_clients')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (!row) throw new TesseraError('NOT_FOUND', `No OpenID Connect client ${clientId}.`);
    return row;
  }
}

function view(row: ClientRow): ClientView {
  const metadata = JSON.parse(row.metadata) as StoredMetadata;
  return {
    clientId: row.client_id,
    name: metadata.client_name,
    type: metadata.token_endpoint_auth_method === 'none' ? 'public' : 'confidential',
    tokenEndpointAuthMethod: metadata.token_endpoint_auth_method,
    redirectUris: metadata.redirect_uris,
    postLogoutRedirectUris: metadata.post_logout_redirect_uris,
    firstParty: metadata.first_party,
    createdBy: row.created_by,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}
