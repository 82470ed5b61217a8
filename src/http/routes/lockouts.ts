import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import { SUPER_TENANT_ID } from '../../home/layout.js';
import { accountSubject, assertSuperAdmin } from '../../identity/authenticator.js';
import type { LockoutPolicy } from '../../identity/lockout-policy.js';
import type { EffectiveLockout } from '../../identity/lockout-settings.js';
import type { FailureRow } from '../../identity/login-failures.js';
import { normaliseAddress } from '../../identity/login-guard.js';
import { displayName, parseStoreName } from '../../userstores/names.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const Lock = {
  failures: Type.Integer({ description: 'Failures in the current window' }),
  lockedUntil: Type.String({ format: 'date-time' }),
  lockouts: Type.Integer({
    description: 'Lockouts so far; each doubles the next lock, up to maxLockSeconds',
  }),
};
const AccountLock = Type.Object({ name: Type.String({ description: '`name` or `STORE/name`' }), ...Lock });
const AddressLock = Type.Object({ address: Type.String(), ...Lock });

const Rule = Type.Object({
  maxFailures: Type.Integer(),
  windowSeconds: Type.Integer(),
  lockSeconds: Type.Integer(),
  maxLockSeconds: Type.Integer(),
});
const PartialRule = Type.Partial(Rule);
const LockoutBody = Type.Object({
  account: Rule,
  address: Type.Optional(Type.Object(Rule.properties, { description: "The super tenant's only" })),
  source: Type.Union([Type.Literal('tenant'), Type.Literal('server'), Type.Literal('default')], {
    description: "tenant: its own setting; server: the super tenant's; default: the built-in one",
  }),
});

function lock(row: FailureRow) {
  return {
    failures: row.failures,
    lockedUntil: new Date(row.locked_until ?? 0).toISOString(),
    lockouts: row.lockouts,
  };
}

/** `<tenant id>/<STORE>/<name>` as the API names the account: `name` or `STORE/name`. */
function accountName(subject: string): string {
  const [, store = '', ...name] = subject.split('/');
  return displayName(store, name.join('/'));
}

function settingView(tenantId: number, { policy, source }: EffectiveLockout) {
  return tenantId === SUPER_TENANT_ID ? { ...policy, source } : { account: policy.account, source };
}

/** Login lockout (README, Login lockout): locked accounts and addresses, and each tenant's policy. */
export const lockoutRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const { failures, settings } = context.lockout;

  app.get(
    '/tenants/:domain/lockouts',
    {
      schema: {
        tags: ['lockout'],
        summary: "The tenant's locked accounts (names that exist or not: a lock tells nothing of that)",
        params: DomainParams,
        response: { 200: Type.Array(AccountLock), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const rows = await failures.locked('account', tenant.id);
      return rows.map((row) => ({ name: accountName(row.subject), ...lock(row) }));
    },
  );

  app.delete(
    '/tenants/:domain/lockouts/:username',
    {
      schema: {
        tags: ['lockout'],
        summary: 'Unlock an account and forget its failures (`name` or `STORE/name`)',
        params: Type.Object({
          domain: DomainParams.properties.domain,
          username: Type.String({ minLength: 1 }),
        }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = parseStoreName(request.params.username, tenant.domain);
      if (!(await failures.clear('account', accountSubject(tenant.id, store, name))))
        throw new TesseraError('NOT_FOUND', `No failed logins counted for ${displayName(store, name)}.`);
      await context.audit.record(tenant.id, principal, 'lockout.clear', displayName(store, name));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/tenants/:domain/settings/lockout',
    {
      schema: {
        tags: ['lockout'],
        summary: "The tenant's lockout policy, its own or inherited (the super tenant's holds for addresses)",
        params: DomainParams,
        response: { 200: LockoutBody, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return settingView(tenant.id, await settings.effective(tenant.id));
    },
  );

  app.put(
    '/tenants/:domain/settings/lockout',
    {
      schema: {
        tags: ['lockout'],
        summary:
          'Set the lockout policy (missing fields inherited); at most 100 failed logins an hour per account (OWASP ASVS)',
        params: DomainParams,
        // Checked by parseLockoutSetting, whose refusals name the rule broken; the schema only documents.
        body: Type.Object({ account: Type.Optional(PartialRule), address: Type.Optional(PartialRule) }),
        response: { 200: LockoutBody, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const policy: LockoutPolicy = await settings.write(tenant.id, request.body, principal.qualifiedName);
      await context.audit.record(tenant.id, principal, 'settings.lockout', tenant.domain, policy);
      return settingView(tenant.id, { policy, source: tenant.id === SUPER_TENANT_ID ? 'server' : 'tenant' });
    },
  );

  app.get(
    '/lockouts/addresses',
    {
      schema: {
        tags: ['lockout'],
        summary: 'Locked client addresses, across tenants (super tenant admin only)',
        response: { 200: Type.Array(AddressLock), ...errorResponses },
      },
    },
    async (request) => {
      assertSuperAdmin(principalOf(request));
      const rows = await failures.locked('address', null);
      return rows.map((row) => ({ address: row.subject, ...lock(row) }));
    },
  );

  app.delete(
    '/lockouts/addresses/:ip',
    {
      schema: {
        tags: ['lockout'],
        summary: 'Unlock a client address and forget its failures (super tenant admin only)',
        params: Type.Object({ ip: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      assertSuperAdmin(principal);
      const address = normaliseAddress(request.params.ip);
      if (!(await failures.clear('address', address)))
        throw new TesseraError('NOT_FOUND', `No failed logins counted for address ${address}.`);
      await context.audit.record(SUPER_TENANT_ID, principal, 'lockout.clear', `address:${address}`);
      return reply.status(204).send(null);
    },
  );
};
