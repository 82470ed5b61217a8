import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach } from 'vitest';
import { AppMetrics } from '../../../src/telemetry/app-metrics.js';
import { AppRuntime } from '../../../src/webapps/runtime/app-runtime.js';
import {
  type AppLaunch,
  type AppLimits,
  DEFAULT_APP_LIMITS,
  KEY_HEADER,
  REQUEST_ID_HEADER,
  type RunningApp,
} from '../../../src/webapps/runtime/contract.js';

/**
 * A home laid out as Tessera lays it out (conf/, logs/, the super tenant's and tenant 1's webapps), a
 * runtime over it, and apps written into it. The host runs from dist/: run `npm run build` first.
 */
export interface RuntimeFixture {
  home: string;
  runtime: AppRuntime;
  registry: Registry;
  logsFolder: string;
  /** Writes an app's files into tenant `tenantId`'s webapps folder; returns its launch. */
  app(spec: AppSpec): AppLaunch;
}

export interface AppSpec {
  name: string;
  files: Record<string, string>;
  entry?: string;
  tenantId?: number;
  env?: Record<string, string>;
  limits?: Partial<AppLimits>;
  health?: string;
}

export const TENANT_ID = 1;
export const TENANT_DOMAIN = 'acme.com';

export function runtimeFixtures(): () => Promise<RuntimeFixture> {
  const opened: Array<{ runtime: AppRuntime; home: string }> = [];
  afterEach(async () => {
    for (const { runtime, home } of opened.splice(0)) {
      await runtime.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
  return async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'tessera-rt-'));
    mkdirSync(path.join(home, 'conf'));
    writeFileSync(
      path.join(home, 'conf', 'tessera.toml'),
      '[database]\nurl = "postgres://admin:secret@db/x"\n',
    );
    const logsFolder = path.join(home, 'logs');
    const registry = new Registry();
    const runtime = await AppRuntime.open({
      logsFolder,
      runsFolder: path.join(home, 'work', 'apps'),
      logger: pino({ level: 'silent' }),
      metrics: new AppMetrics(registry),
      stopGraceMs: 2000,
    });
    opened.push({ runtime, home });
    return {
      home,
      runtime,
      registry,
      logsFolder,
      app(spec) {
        const tenantId = spec.tenantId ?? TENANT_ID;
        const root = path.join(home, 'repository', 'tenants', String(tenantId), 'webapps', spec.name);
        for (const [name, content] of Object.entries(spec.files)) {
          mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
          writeFileSync(path.join(root, name), content);
        }
        return {
          tenantId,
          tenantDomain: tenantId === TENANT_ID ? TENANT_DOMAIN : `t${tenantId}.example`,
          name: spec.name,
          root,
          dataDir: path.join(home, 'repository', 'tenants', String(tenantId), 'data', spec.name),
          version: '1.0.0',
          config: {
            runtime: 'node',
            entry: spec.entry ?? 'server.js',
            login: false,
            ...(spec.health === undefined ? {} : { health: spec.health }),
            env: spec.env ?? {},
            limits: { ...DEFAULT_APP_LIMITS, ...spec.limits },
          },
        };
      },
    };
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request to a running app as the HTTP front sends it: over the endpoint's pool, with the key. */
export async function call(
  app: RunningApp,
  pathname: string,
  options: {
    method?: 'GET' | 'POST';
    body?: string | AsyncIterable<Buffer>;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const endpoint = app.endpoint();
  if (!endpoint) throw new Error(`${app.name} is not running: ${JSON.stringify(app.status())}`);
  const response = await endpoint.pool.request({
    path: pathname,
    method: options.method ?? 'GET',
    headers: { host: 'shop.example', [KEY_HEADER]: endpoint.key, ...options.headers },
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : Readable.from(options.body) }),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

export { REQUEST_ID_HEADER };

/** Polls `check` until it returns a value, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
