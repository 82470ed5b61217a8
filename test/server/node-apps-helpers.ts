import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { ADMIN_PASSWORD, basicAuthorization, type Reply, type TestServer } from '../helpers/server.js';
import { buildZip, eventually } from '../webapps/helpers.js';

/** Shared by the end-to-end tests of node apps (node-apps*.e2e.test.ts): apps deployed as users deploy them. */

export const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
export const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

/** Uploads `zip` as app `name` of `domain`, as that tenant's admin would; the reply once the process is up. */
export async function uploadApp(
  t: TestServer,
  admin: [string, string],
  domain: string,
  name: string,
  zip: Buffer,
): Promise<Reply> {
  const response = await fetch(`${t.server.url}/api/v1/tenants/${domain}/webapps?name=${name}`, {
    method: 'POST',
    headers: { authorization: basicAuthorization(admin), 'content-type': 'application/zip' },
    body: zip,
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

/** `files` zipped and uploaded as app `name` of acme.com. */
export async function uploadFiles(
  t: TestServer,
  name: string,
  files: Record<string, string>,
): Promise<Reply> {
  return uploadApp(t, ACME, 'acme.com', name, await buildZip(files));
}

/** A folder zipped whole, as `zip -r` of its contents would (node_modules included). */
export async function zipFolder(dir: string): Promise<Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
      else if (entry.isFile()) files[`${prefix}${entry.name}`] = readFileSync(full);
    }
  };
  walk(dir, '');
  return buildZip(files);
}

const run = promisify(execFile);

/**
 * What an app author does before zipping: `npm install` the app's dependencies into its folder. The
 * project's devDependencies put these packages in npm's cache, so this needs no network.
 */
export async function npmInstall(dir: string, packages: string[]): Promise<void> {
  if (!existsSync(path.join(dir, 'package.json'))) {
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
  }
  await run(
    'npm',
    ['install', '--prefix', dir, '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', ...packages],
    { timeout: 120_000 },
  );
}

// biome-ignore lint/suspicious/noExplicitAny: JSON from the API and the apps, asserted field by field
export type AppListing = Record<string, any>;

/** A response's JSON body, for assertions field by field. */
export async function jsonOf(response: Response | Promise<Response>): Promise<AppListing> {
  return (await (await response).json()) as AppListing;
}

/** The app as `GET /api/v1/tenants/{domain}/webapps` lists it. */
export async function appListing(t: TestServer, name: string, domain = 'acme.com'): Promise<AppListing> {
  const admin = domain === 'acme.com' ? ACME : SUPER;
  const listed = await t.call('GET', `/api/v1/tenants/${domain}/webapps`, { as: admin });
  expect(listed.status).toBe(200);
  const app = listed.body.webapps.find((a: AppListing) => a.name === name);
  if (!app) throw new Error(`${name} is not listed: ${JSON.stringify(listed.body)}`);
  return app;
}

/** Polls the API until `check` holds for the app's listing; returns that listing. */
export async function waitForApp(
  t: TestServer,
  name: string,
  check: (app: AppListing) => boolean,
  timeoutMs = 20_000,
): Promise<AppListing> {
  let last: AppListing | undefined;
  try {
    await eventually(async () => {
      last = await appListing(t, name);
      return check(last);
    }, timeoutMs);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}; last listing ${JSON.stringify(last)}`);
  }
  return last as AppListing;
}

/** The value of one sample of `/metrics` text, labels matched exactly; undefined when absent. */
export function metricSample(
  text: string,
  metric: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const found: Record<string, string> = {};
    for (const match of line.slice(metric.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      found[match[1] as string] = match[2] as string;
    }
    const keys = Object.keys(found);
    if (keys.length === Object.keys(labels).length && keys.every((key) => found[key] === labels[key])) {
      return Number(line.slice(close + 1).trim());
    }
  }
  return undefined;
}

/** Whether a process of that id still exists on this machine (Linux). */
export function processAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** The pids of the app hosts this test process has spawned (the in-process server's children). */
export function appHostPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (after the parenthesised name, which may hold spaces) is the parent's pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(path.join('app-host', 'main.js'))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Calls `probe` over and over until `stop()`, keeping every status it got: what the admin API and a healthy
 * app answered while bad apps misbehaved.
 */
export function pollInBackground(probe: () => Promise<number>): { stop(): Promise<number[]> } {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      statuses.push(await probe().catch(() => -1));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return statuses;
    },
  };
}
