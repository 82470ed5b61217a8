import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { DEFAULT_STORE_CONNECT_TIMEOUT_MS } from '../../config/schema.js';
import { parseDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';
import { tenantFolder } from '../../home/layout.js';
import type { Principal } from '../../identity/authenticator.js';
import type { Tenant } from '../../tenants/service.js';
import { validateStoreDefinition } from '../../userstores/definitions/store-file.js';
import { probeStoreDefinition } from '../../userstores/probe.js';
import { isReachFailure } from '../../userstores/reach-errors.js';
import { assertHostAllowed } from '../../userstores/sql/allowed-hosts.js';
import {
  assertSqliteInside,
  databaseIdentityOf,
  serverDatabaseRefusal,
} from '../../userstores/sql/store-database.js';
import { homeRelativeSqliteUrl } from '../../userstores/sql/tenant-sqlite-path.js';
import type { ServerContext } from '../context.js';
import { DomainParams, ErrorBody, errorResponses, StoreBody } from './schemas.js';
import { managedTenant } from './scope.js';

const LdapName = Type.String({ minLength: 1, maxLength: 128 });
const LdapDn = Type.String({ minLength: 1, maxLength: 1024 });

/** An LDAP store's settings: an extension of the store body in README, User stores, ignored for JDBC stores. */
const LdapBody = Type.Object(
  {
    bindDn: LdapDn,
    bindPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    userSearchBase: LdapDn,
    groupSearchBase: LdapDn,
    userObjectClass: Type.Optional(LdapName),
    groupObjectClass: Type.Optional(LdapName),
    userNameAttribute: Type.Optional(LdapName),
    groupNameAttribute: Type.Optional(LdapName),
    memberAttribute: Type.Optional(LdapName),
    /** Claim name -> LDAP attribute. */
    attributes: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 255 }), LdapName)),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000 })),
  },
  { additionalProperties: false },
);

const NewStoreBody = Type.Object({
  domain: Type.String({ minLength: 1, maxLength: 64 }),
  type: Type.Union([Type.Literal('jdbc'), Type.Literal('ldap')]),
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  readOnly: Type.Optional(Type.Boolean()),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  ldap: Type.Optional(LdapBody),
});

function definitionOf(body: Static<typeof NewStoreBody>) {
  return {
    domain: body.domain.toUpperCase(),
    type: body.type,
    url: body.url,
    readOnly: body.readOnly ?? false,
    description: body.description,
    ...(body.type === 'ldap' ? { ldap: body.ldap } : {}),
  };
}

/**
 * The folder a caller's SQLite store files must be in, and their relative paths are relative to: the
 * tenant's own for a tenant admin, anywhere (undefined: relative to the home) for the super tenant's admin.
 * Otherwise a tenant admin could open, probe or write the server's files or another tenant's.
 */
function sqliteFolderFor(context: ServerContext, principal: Principal, tenant: Tenant): string | undefined {
  return principal.isSuperAdmin ? undefined : tenantFolder(context.layout, tenant.id);
}

/** The database hosts a tenant admin may point a JDBC store at (`userstores.allowed_hosts`, none by default). */
function allowedHostsFor(context: ServerContext): readonly string[] {
  return context.config.userstores?.allowedHosts ?? [];
}

function storeConnectTimeoutMs(context: ServerContext): number {
  return context.config.userstores?.connectTimeoutMs ?? DEFAULT_STORE_CONNECT_TIMEOUT_MS;
}

function sleepUntil(time: number): Promise<void> {
  const ms = time - Date.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export const userStoreRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.post(
    '/tenants/:domain/userstores',
    {
      schema: {
        tags: ['userstores'],
        summary: "Add a secondary user store; writes its file under the tenant's userstores/ folder",
        params: DomainParams,
        body: NewStoreBody,
        // 412 DATABASE_MISSING: the store's database does not exist and its role may not create it.
        response: { 201: StoreBody, ...errorResponses, 412: ErrorBody },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const folder = sqliteFolderFor(context, principal, tenant);
      const home = context.layout.root;
      let url = request.body.url;
      if (folder !== undefined && request.body.type === 'jdbc') {
        // Written into the store file in the home-relative form, which files keep whoever wrote them.
        url = homeRelativeSqliteUrl(request.body.url, folder, home);
        const target = parseDatabaseUrl(url, home);
        // The server's own database keeps its own, clearer refusal.
        const ownDatabase = serverDatabaseRefusal(request.body.url, target, context.database.target);
        if (ownDatabase !== undefined) throw ownDatabase;
        assertSqliteInside(request.body.url, target, folder, home);
        await assertHostAllowed(request.body.url, target, allowedHostsFor(context));
      }
      // A failure to reach the database loses its reason for anyone but the super admin (plugins/errors.ts),
      // and answers a tenant admin after the connect timeout whatever the port did, as the probe does.
      const startedAt = Date.now();
      const store = await context.stores
        .createStore(tenant.id, { ...definitionOf(request.body), url })
        .catch(async (error: unknown) => {
          if (!principal.isSuperAdmin && isReachFailure(error))
            await sleepUntil(startedAt + storeConnectTimeoutMs(context));
          throw error;
        });
      await context.audit.record(tenant.id, principal, 'userstore.create', store.domain, {
        type: store.type,
      });
      return reply.status(201).send(store);
    },
  );

  app.post(
    '/tenants/:domain/userstores/test',
    {
      schema: {
        tags: ['userstores'],
        summary:
          'Try a secondary store definition without saving it: the database opens, or the directory binds and has both search bases',
        params: DomainParams,
        body: NewStoreBody,
        response: {
          200: Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      let definition: ReturnType<typeof validateStoreDefinition>;
      try {
        definition = validateStoreDefinition(definitionOf(request.body));
      } catch (error) {
        if (error instanceof TesseraError) return { ok: false, error: error.message };
        throw error;
      }
      return probeStoreDefinition(definition, {
        home: context.layout.root,
        serverDatabase: context.database.target,
        serverIdentity: () => databaseIdentityOf(context.database),
        sqliteFolder: sqliteFolderFor(context, principal, tenant),
        allowedHosts: principal.isSuperAdmin ? undefined : allowedHostsFor(context),
        timeoutMs: storeConnectTimeoutMs(context),
        detailedErrors: principal.isSuperAdmin,
      });
    },
  );

  app.get(
    '/tenants/:domain/userstores',
    {
      schema: {
        tags: ['userstores'],
        params: DomainParams,
        response: { 200: Type.Object({ userstores: Type.Array(StoreBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      return { userstores: context.stores.describe(tenant.id, { detailed: principal.isSuperAdmin }) };
    },
  );

  app.delete(
    '/tenants/:domain/userstores/:store',
    {
      schema: {
        tags: ['userstores'],
        summary: "Remove a secondary store's definition; its database is left as it is",
        params: Type.Object({ domain: Type.String(), store: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const domain = request.params.store.toUpperCase();
      if (!context.stores.describe(tenant.id).some((s) => s.domain === domain && s.type !== 'primary')) {
        throw new TesseraError('NOT_FOUND', `Tenant ${tenant.domain} has no secondary store ${domain}.`);
      }
      await context.stores.deleteStore(tenant.id, domain);
      await context.audit.record(tenant.id, principal, 'userstore.delete', domain);
      return reply.status(204).send(null);
    },
  );
};
