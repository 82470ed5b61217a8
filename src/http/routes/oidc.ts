import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const Uris = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), { maxItems: 20, description });

const ClientRegistration = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  redirectUris: Uris('Where codes may be sent: https, or http to localhost, 127.0.0.1 or [::1]; no fragment'),
  postLogoutRedirectUris: Type.Optional(Uris('Where the end-session endpoint may send the user back to')),
  type: Type.Union([Type.Literal('confidential'), Type.Literal('public')], {
    description: 'confidential: a generated secret, shown once; public: no secret, PKCE (S256) required',
  }),
  tokenEndpointAuthMethod: Type.Optional(
    Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post')]),
  ),
  firstParty: Type.Optional(
    Type.Boolean({ description: "The tenant's own app: its users are not asked for consent" }),
  ),
});

const ClientBody = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('confidential'), Type.Literal('public')]),
  tokenEndpointAuthMethod: Type.String(),
  redirectUris: Type.Array(Type.String()),
  postLogoutRedirectUris: Type.Array(Type.String()),
  firstParty: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const CreatedClient = Type.Object({
  ...ClientBody.properties,
  clientSecret: Type.Optional(
    Type.String({ description: "A confidential client's secret: shown in this answer only, stored hashed" }),
  ),
});

const KeyBody = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  status: Type.Union([Type.Literal('signing'), Type.Literal('retiring')]),
  createdAt: Type.String({ format: 'date-time' }),
  retiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it leaves the JWKS' })),
  publicJwk: Type.Record(Type.String(), Type.String()),
});

const ClientParams = Type.Object({
  domain: DomainParams.properties.domain,
  clientId: Type.String({ minLength: 1, maxLength: 64 }),
});

/** A tenant's OpenID Connect clients and signing keys (README, OpenID Connect), for its admins. */
export const oidcRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (app, { context }) => {
  const { clients } = context.oidc;

  app.post(
    '/tenants/:domain/oidc/clients',
    {
      schema: {
        tags: ['oidc'],
        summary:
          "Register a client of the tenant's issuer; a confidential client's secret is in this answer only",
        params: DomainParams,
        body: ClientRegistration,
        response: { 201: CreatedClient, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const created = await clients.create(tenant.id, request.body, principal.qualifiedName);
      await context.audit.record(tenant.id, principal, 'oidc.client.create', created.client.clientId, {
        name: created.client.name,
        type: created.client.type,
        redirectUris: created.client.redirectUris,
      });
      return reply
        .status(201)
        .send({ ...created.client, ...(created.clientSecret ? { clientSecret: created.clientSecret } : {}) });
    },
  );

  app.get(
    '/tenants/:domain/oidc/clients',
    {
      schema: {
        tags: ['oidc'],
        summary: "The tenant's registered clients (never their secrets)",
        params: DomainParams,
        response: { 200: Type.Array(ClientBody), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return clients.list(tenant.id);
    },
  );

  app.get(
    '/tenants/:domain/oidc/clients/:clientId',
    {
      schema: {
        tags: ['oidc'],
        summary: 'One registered client',
        params: ClientParams,
        response: { 200: ClientBody, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return clients.get(tenant.id, request.params.clientId);
    },
  );

  app.put(
    '/tenants/:domain/oidc/clients/:clientId',
    {
      schema: {
        tags: ['oidc'],
        summary: "Replace a client's name, URIs and first-party flag (its type and secret stay)",
        params: ClientParams,
        body: ClientRegistration,
        response: { 200: ClientBody, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const client = await clients.update(tenant.id, request.params.clientId, request.body);
      await context.audit.record(tenant.id, principal, 'oidc.client.update', client.clientId, {
        name: client.name,
        redirectUris: client.redirectUris,
        firstParty: client.firstParty,
      });
      return client;
    },
  );

  app.delete(
    '/tenants/:domain/oidc/clients/:clientId',
    {
      schema: {
        tags: ['oidc'],
        summary: 'Remove a client, and the grants and tokens issued to it',
        params: ClientParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      await clients.delete(tenant.id, request.params.clientId);
      await context.audit.record(tenant.id, principal, 'oidc.client.delete', request.params.clientId);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/tenants/:domain/oidc/keys',
    {
      schema: {
        tags: ['oidc'],
        summary: "The issuer's signing keys: public parts, the one signing and those retiring",
        params: DomainParams,
        response: { 200: Type.Array(KeyBody), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      await context.oidc.keys.forTenant(tenant.id);
      return context.oidc.keys.list(tenant.id);
    },
  );

  app.post(
    '/tenants/:domain/oidc/keys/rotate',
    {
      schema: {
        tags: ['oidc'],
        summary:
          'Add a new signing key; the previous one stays in the JWKS until the ID tokens it signed have expired',
        params: DomainParams,
        response: { 200: Type.Array(KeyBody), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      await context.oidc.keys.forTenant(tenant.id);
      const rotated = await context.oidc.rotate(tenant.id);
      await context.audit.record(tenant.id, principal, 'oidc.keys.rotate', rotated.kid, {
        retiring: rotated.retiring,
      });
      return context.oidc.keys.list(tenant.id);
    },
  );
};
