import { afterEach, describe, expect, it } from 'vitest';
import type { JournalData } from '../../src/upgrade/journal.js';
import { redactJournal } from '../../src/upgrade/journal.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('GET /api/v1/upgrade/report', () => {
  it('answers 204 (no upgrade, not an error) on a home no upgrade made, and only to the super tenant admin', async () => {
    t = await startTestServer('sqlite');
    const none = await t.call('GET', '/api/v1/upgrade/report', { as: ['admin', ADMIN_PASSWORD] });
    // A browser logs every 4xx answer as a console error; "no upgrade yet" is a normal state.
    expect(none.status).toBe(204);
    expect(none.body).toBeUndefined();
    const openapi = await t.call('GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths['/api/v1/upgrade/report'].get.responses)).toContain('204');
    await t.call('POST', '/api/v1/tenants', {
      as: ['admin', ADMIN_PASSWORD],
      body: { domain: 'acme.com', adminPassword: 'acme-admin-pw' },
    });
    expect(
      (await t.call('GET', '/api/v1/upgrade/report', { as: ['admin@acme.com', 'acme-admin-pw'] })).status,
    ).toBe(403);
    expect((await t.call('GET', '/api/v1/upgrade/report')).status).toBe(401);
  });

  it('takes database passwords out of the journal it answers with, wherever a step put them', () => {
    const plan = {
      productionUrl: 'postgres://u:secret@db:5432/prod',
      stagingUrl: 'postgres://u@db:5432/staging?password=secret',
    };
    const journal = {
      command: { fromHome: '/a', home: '/b', stagingUrl: 'postgres://u:secret@db:5432/staging' },
      plan,
      // The plan step records the plan among its facts; errors and events may quote a URL.
      steps: {
        plan: { status: 'done', details: { ...plan } },
        stage: {
          status: 'failed',
          error: { code: 'DB_CONNECT_FAILED', message: 'cannot reach postgres://u:secret@db:5432/staging' },
        },
      },
      events: [{ step: 'stage', message: 'failed: cannot reach postgres://u:secret@db:5432/staging' }],
    } as unknown as JournalData;
    const text = JSON.stringify(redactJournal(journal));
    expect(text).not.toContain('secret');
    expect(text).toContain('u:***@db:5432/prod');
    expect(redactJournal(journal).steps.plan?.details?.stagingUrl).toBe(
      'postgres://u@db:5432/staging?password=***',
    );
    expect(journal.plan.productionUrl).toContain('secret'); // the journal in memory keeps what a run needs
  });
});
