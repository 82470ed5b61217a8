import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPER_TENANT_ID } from '../../src/home/layout.js';
import { IdentityHousekeeping } from '../../src/identity/housekeeping.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const GLOBEX: [string, string] = ['admin@globex.com', 'globex-admin-pw'];
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe.each(['sqlite', 'postgres'] as const)('identity housekeeping on %s', (kind) => {
  let t: TestServer;
  let ids: { acme: number; globex: number };
  const db = () => t.server.context.database.db;
  const retention = (domain: string, as: [string, string], body?: unknown) =>
    t.call(body === undefined ? 'GET' : 'PUT', `/api/v1/tenants/${domain}/settings/audit-retention`, {
      as,
      body,
    });

  beforeAll(async () => {
    t = await startTestServer(kind);
    await createTenant(t, 'acme.com', ACME[1]);
    await createTenant(t, 'globex.com', GLOBEX[1]);
    ids = {
      acme: (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id,
      globex: (await t.call('GET', '/api/v1/tenants/globex.com', { as: GLOBEX })).body.id,
    };
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('deletes audit entries past each tenant retention, in batches, once between two nodes', async () => {
    expect((await retention('acme.com', ACME)).body).toEqual({ days: null, source: 'default' });
    const refused = await retention('acme.com', ACME, { days: 0 });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain('days must be an integer from 1 to 36500');
    expect((await retention('carbon.super', SUPER, { days: 30 })).body).toEqual({
      days: 30,
      source: 'server',
    });
    expect((await retention('acme.com', ACME)).body).toEqual({ days: 30, source: 'server' });
    expect((await retention('acme.com', ACME, { days: 7 })).body).toEqual({ days: 7, source: 'tenant' });
    expect((await retention('globex.com', GLOBEX, { days: null })).body).toEqual({
      days: null,
      source: 'tenant',
    });
    // Another tenant's setting is not this admin's to read.
    expect((await retention('globex.com', ACME)).status).toBe(404);

    const now = Date.now();
    const entry = (tenantId: number, ageMs: number, target: string) => ({
      tenant_id: tenantId,
      actor: 'test',
      action: 'test.entry',
      target,
      detail: null,
      created_at: now - ageMs,
    });
    const backlog = Array.from({ length: 2_500 }, (_, i) => entry(ids.acme, 8 * DAY + i, 'acme-backlog'));
    for (let i = 0; i < backlog.length; i += 500)
      await db()
        .insertInto('audit_log')
        .values(backlog.slice(i, i + 500))
        .execute();
    await db()
      .insertInto('audit_log')
      .values([
        entry(ids.acme, 3 * DAY, 'acme-recent'),
        entry(ids.globex, 400 * DAY, 'globex-forever'),
        entry(SUPER_TENANT_ID, 40 * DAY, 'super-old'),
        entry(SUPER_TENANT_ID, 20 * DAY, 'super-recent'),
        // A tenant deleted long ago: the server's retention reaches its rows too.
        entry(9_999, 40 * DAY, 'gone-tenant-old'),
      ])
      .execute();

    // A second node's job at the same moment: between them each row is deleted once.
    const context = t.server.context;
    const otherNode = new IdentityHousekeeping({
      db: db(),
      settings: context.settings,
      retention: context.auditRetention,
      failures: context.lockout.failures,
      logger: context.logger,
      deleted: () => {},
    });
    const runs = await Promise.all([context.housekeeping.runOnce(), otherNode.runOnce()]);
    expect(runs[0].auditEntries + runs[1].auditEntries).toBe(2_502);

    const left = await db()
      .selectFrom('audit_log')
      .select('target')
      .where('action', '=', 'test.entry')
      .orderBy('target')
      .execute();
    expect(left.map((row) => row.target)).toEqual(['acme-recent', 'globex-forever', 'super-recent']);
    // The settings changes themselves stay in the trail.
    const changes = await t.call('GET', '/api/v1/tenants/acme.com/audit?action=settings.audit_retention', {
      as: ACME,
    });
    expect(changes.body.entries.map((e: { detail: unknown }) => e.detail)).toEqual([{ days: 7 }]);
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toContain(
      `tessera_housekeeping_deleted_rows_total{table="audit_log"} ${runs[0].auditEntries}`,
    );
  });

  it('prunes login_failures rows whose window and lock have both passed, and keeps the others', async () => {
    const now = Date.now();
    const row = (subject: string, lastFailureAgo: number, lockedUntilFromNow: number | null) => ({
      kind: 'address',
      subject,
      tenant_id: null,
      failures: 1,
      window_started_at: now - lastFailureAgo,
      lockouts: lockedUntilFromNow === null ? 0 : 1,
      locked_until: lockedUntilFromNow === null ? null : now + lockedUntilFromNow,
      last_failure_at: now - lastFailureAgo,
    });
    await db()
      .insertInto('login_failures')
      .values([
        row('10.0.0.1', 20 * MINUTE, null), // quiet past the 15 min window: gone
        row('10.0.0.2', 5 * MINUTE, null), // in its window: kept
        row('10.0.0.3', 30 * MINUTE, -10 * MINUTE), // its lock ended 10 min ago: its lockout still counts
        row('10.0.0.4', 40 * MINUTE, -20 * MINUTE), // lock and window both passed: gone
        row('10.0.0.5', 30 * MINUTE, 30 * MINUTE), // still locked: kept
      ])
      .execute();
    // In maintenance mode a run deletes nothing: the database is held still for an upgrade's copy.
    const context = t.server.context;
    const inMaintenance = new IdentityHousekeeping({
      db: db(),
      settings: context.settings,
      retention: context.auditRetention,
      failures: context.lockout.failures,
      logger: context.logger,
      deleted: () => {},
      held: () => true,
    });
    expect(await inMaintenance.runOnce()).toEqual({ auditEntries: 0, loginFailures: 0, appSessions: 0 });
    const run = await context.housekeeping.runOnce();
    expect(run.loginFailures).toBe(2);
    const subjects = async () =>
      (await db().selectFrom('login_failures').select('subject').orderBy('subject').execute()).map(
        (r) => r.subject,
      );
    expect(await subjects()).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.5']);

    // A tenant whose window is an hour: a row quiet for 20 minutes may still count there, so it stays.
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: ACME,
      body: { account: { windowSeconds: 3600, maxFailures: 3 } },
    });
    expect(set.status).toBe(200);
    await db()
      .insertInto('login_failures')
      .values({
        ...row(`${ids.acme}/PRIMARY/alice`, 20 * MINUTE, null),
        kind: 'account',
        tenant_id: ids.acme,
      })
      .execute();
    expect((await t.server.context.housekeeping.runOnce()).loginFailures).toBe(0);
    expect(await subjects()).toContain(`${ids.acme}/PRIMARY/alice`);
  });
});
