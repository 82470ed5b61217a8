import path from 'node:path';
import { expect } from 'vitest';
import { getRelease } from '../../src/releases/matrix.js';
import type { Cleanups } from '../helpers/cleanups.js';
import { ensureBuilt } from '../helpers/cluster.js';
import type { ScratchDatabase } from '../helpers/databases.js';
import { type NodeProcess, startNodeProcess } from '../helpers/node-process.js';
import { buildRelease } from '../helpers/release-build.js';
import { initReleaseHome } from '../helpers/release-home.js';
import { callJson, type Reply } from '../helpers/server.js';
import { ALICE, FROM, populateThroughApi, TENANT_ADMIN } from './release-2.0.1.js';

/** A production of real 2.0.1 nodes, populated through their API, and where its upgrade goes. */
export interface OnlineProduction {
  production: ScratchDatabase;
  staging: ScratchDatabase;
  oldHome: string;
  newHome: string;
  nodes: NodeProcess[];
  urls: string[];
  /** 2.0.1's own CLI (this checkout's refuses the old home's 2.0 config). */
  oldCli: string;
}

/**
 * `count` 2.0.1 nodes (built from the release's recorded commit) on one home and one PostgreSQL
 * production, given their data through the first one's API, and still running.
 */
export async function startOnlineProduction(cleanups: Cleanups, count: number): Promise<OnlineProduction> {
  ensureBuilt();
  const built = buildRelease(FROM, getRelease(FROM).source?.commit ?? '');
  const production = await cleanups.scratch('postgres', 'online');
  const staging = await cleanups.scratch('postgres', 'onlinestaging');
  const oldHome = path.join(production.home, 'old');
  const newHome = path.join(production.home, 'new');
  initReleaseHome(built, oldHome, production.url);
  const nodes: NodeProcess[] = [];
  for (let i = 0; i < count; i++) {
    const node = await startNodeProcess(oldHome, built.cli);
    cleanups.add(() => node.kill());
    nodes.push(node);
    if (i === 0) await populateThroughApi(`http://127.0.0.1:${node.port}`);
  }
  return {
    production,
    staging,
    oldHome,
    newHome,
    nodes,
    urls: nodes.map((n) => `http://127.0.0.1:${n.port}`),
    oldCli: built.cli,
  };
}

/** Alice's login through `url`. */
export function login(url: string): Promise<Reply> {
  return callJson(url, 'POST', '/api/v1/authenticate', { body: { username: ALICE[0], password: ALICE[1] } });
}

/** A write an operator of the tenant makes: a new role (`name` unique per call). */
export function writeThrough(url: string, name: string): Promise<Reply> {
  return callJson(url, 'POST', `/api/v1/tenants/${TENANT_ADMIN[0].split('@')[1]}/roles`, {
    as: TENANT_ADMIN,
    body: { name },
  });
}

/** Whether a node refuses writes for maintenance now, as its /readyz says. */
export async function inMaintenance(url: string): Promise<boolean> {
  const ready = await callJson(url, 'GET', '/readyz');
  return ready.body?.maintenance === true;
}

/** A refusal as the maintenance mode makes it: 503 MAINTENANCE with Retry-After. */
export function expectMaintenanceRefusal(reply: Reply, retryAfter: string): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(503);
  expect(reply.body).toMatchObject({ error: 'MAINTENANCE' });
  expect(reply.headers.get('retry-after')).toBe(retryAfter);
}
