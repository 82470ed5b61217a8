import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';

/** What oidc-provider stores of one model instance (a code, a token, a session, ...): JSON it reads back. */
export type AdapterPayload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

/** The adapter interface of oidc-provider (its `Adapter` type), as this module implements it. */
export interface ProviderAdapter {
  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** Reads a registered client's metadata for oidc-provider (clients live in their own table, clients.ts). */
export type ClientMetadataSource = (
  tenantId: number,
  clientId: string,
) => Promise<AdapterPayload | undefined>;

/**
 * oidc-provider's storage for one tenant, on the server database so that every node sees each code, token,
 * session and interaction: an authorization begun on one node finishes on another. One row per instance in
 * `oidc_payloads`, keyed by tenant, model and id; the grant, session uid and user code in columns of their own
 * because the provider looks instances up by them. An expired row is never returned, and `pruneExpired`
 * removes it. Clients are the exception: the admin API keeps them in `oidc_clients`.
 */
export class PayloadAdapter implements ProviderAdapter {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly tenantId: number,
    private readonly model: string,
    private readonly clients: ClientMetadataSource,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const row = {
      tenant_id: this.tenantId,
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      uid: payload.uid ?? null,
      user_code: payload.userCode ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
      consumed_at: null,
    };
    // Delete then insert in one transaction: one statement on every engine, no dialect's upsert syntax.
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('oidc_payloads')
        .where('tenant_id', '=', this.tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .execute();
      await trx.insertInto('oidc_payloads').values(row).execute();
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') return this.clients(this.tenantId, id);
    return this.read(this.select().where('id', '=', id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.read(this.select().where('uid', '=', uid));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.read(this.select().where('user_code', '=', userCode));
  }

  async consume(id: string): Promise<void> {
    const row = await this.select().where('id', '=', id).executeTakeFirst();
    if (!row) return;
    const now = Date.now();
    // The provider reads `consumed` from the payload (a reused code revokes its grant), so it goes in there too.
    const payload = { ...(JSON.parse(row.payload) as AdapterPayload), consumed: Math.floor(now / 1000) };
    await this.db
      .updateTable('oidc_payloads')
      .set({ payload: JSON.stringify(payload), consumed_at: now })
      .where('tenant_id', '=', this.tenantId)
      .where('model', '=', this.model)
      .where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.db
      .deleteFrom('oidc_payloads')
      .where('tenant_id', '=', this.tenantId)
      .where('model', '=', this.model)
      .where('id', '=', id)
      .execute();
  }

  /** Every token and code of the grant, whatever its model (a revoked grant takes all of them). */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db
      .deleteFrom('oidc_payloads')
      .where('tenant_id', '=', this.tenantId)
      .where('grant_id', '=', grantId)
      .execute();
  }

  private select() {
    return this.db
      .selectFrom('oidc_payloads')
      .select(['payload', 'expires_at'])
      .where('tenant_id', '=', this.tenantId)
      .where('model', '=', this.model);
  }

  private async read(query: ReturnType<PayloadAdapter['select']>): Promise<AdapterPayload | undefined> {
    const row = await query.executeTakeFirst();
    if (!row || (row.expires_at !== null && Number(row.expires_at) <= Date.now())) return undefined;
    return JSON.parse(row.payload) as AdapterPayload;
  }
}

/** Removes the rows whose time is up, every tenant's; the count removed. */
export async function pruneExpired(db: Kysely<Schema>, now = Date.now()): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
