import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { ALLOW_LOCAL_STORE_HOSTS, createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

describe.each(DATABASE_KINDS)('refusals a tenant admin reads, on %s', (kind) => {
  let t: TestServer | undefined;
  let staff: ScratchDatabase | undefined;
  afterEach(async () => {
    await t?.stop();
    await staff?.drop();
  });

  it('name the user as typed (STAFF/dave) and the tenant by its domain, never its id', async () => {
    t = await startTestServer(kind, ALLOW_LOCAL_STORE_HOSTS);
    await createTenant(t, 'acme.com', ACME[1]);
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    staff = kind === 'sqlite' ? undefined : await scratchDatabase(kind, 'staff');
    const store = {
      domain: 'STAFF',
      type: 'jdbc',
      url: staff?.url ?? `sqlite:repository/tenants/${acmeId}/acme-staff.db`,
      readOnly: false,
    };
    expect(
      (await t.call('POST', '/api/v1/tenants/acme.com/userstores', { as: ACME, body: store })).status,
    ).toBe(201);

    const again = await t.call('POST', '/api/v1/tenants/acme.com/userstores', { as: ACME, body: store });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: 'CONFLICT',
      message: 'Tenant acme.com already has a user store STAFF.',
    });
    const gone = await t.call('DELETE', '/api/v1/tenants/acme.com/userstores/NOPE', { as: ACME });
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe('Tenant acme.com has no secondary store NOPE.');

    const dave = { username: 'STAFF/dave', password: 'dave-password-1', roles: [], attributes: {} };
    expect((await t.call('POST', '/api/v1/tenants/acme.com/users', { as: ACME, body: dave })).status).toBe(
      201,
    );
    const twice = await t.call('POST', '/api/v1/tenants/acme.com/users', { as: ACME, body: dave });
    expect(twice.status).toBe(409);
    expect(twice.body).toEqual({ error: 'CONFLICT', message: 'A user named STAFF/dave already exists.' });
    const primary = { ...dave, username: 'dave' };
    expect((await t.call('POST', '/api/v1/tenants/acme.com/users', { as: ACME, body: primary })).status).toBe(
      201,
    );
    const primaryTwice = await t.call('POST', '/api/v1/tenants/acme.com/users', { as: ACME, body: primary });
    expect(primaryTwice.body.message).toBe('A user named dave already exists.');

    const role = { name: 'STAFF/crew' };
    expect((await t.call('POST', '/api/v1/tenants/acme.com/roles', { as: ACME, body: role })).status).toBe(
      201,
    );
    const roleTwice = await t.call('POST', '/api/v1/tenants/acme.com/roles', { as: ACME, body: role });
    expect(roleTwice.body).toEqual({ error: 'CONFLICT', message: 'A role named STAFF/crew already exists.' });
  });
});

describe('a body of the wrong media type', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE naming the type the route takes', async () => {
    t = await startTestServer('sqlite');
    const server = t.server;
    const send = async (route: string, headers: Record<string, string>, body: string) => {
      const response = await fetch(`${server.url}${route}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(SUPER.join(':')).toString('base64')}`, ...headers },
        body,
      });
      return { status: response.status, body: (await response.json()) as { error: string; message: string } };
    };
    const xml = await send('/api/v1/tenants', { 'content-type': 'application/xml' }, '<tenant/>');
    expect(xml).toEqual({
      status: 415,
      body: {
        error: 'UNSUPPORTED_MEDIA_TYPE',
        message:
          'POST /api/v1/tenants takes application/json, not a body of type application/xml: send the body with Content-Type: application/json.',
      },
    });
    const form = await send(
      '/api/v1/tenants',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'domain=x',
    );
    expect(form.status).toBe(415);
    expect(form.body.message).toContain('not a body of type application/x-www-form-urlencoded');
    const upload = await send(
      '/api/v1/tenants/carbon.super/webapps?name=shop',
      { 'content-type': 'text/html' },
      '<p/>',
    );
    expect(upload.status).toBe(415);
    expect(upload.body).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(upload.body.message).toContain('takes application/zip');
  });
});
