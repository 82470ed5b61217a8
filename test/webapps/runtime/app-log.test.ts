import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AppMetrics } from '../../../src/telemetry/app-metrics.js';
import { AppLog, appLogFile } from '../../../src/webapps/runtime/app-log.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('an app log', () => {
  it('writes private files, one stamped line per line, rotated by size keeping three', async () => {
    const logs = mkdtempSync(path.join(os.tmpdir(), 'tessera-applog-'));
    folders.push(logs);
    const file = appLogFile(logs, 'acme.com', 'shop');
    const log = new AppLog(file, { maxBytes: 1000, keep: 3 });
    const stderr = new PassThrough();
    log.follow(stderr, 'stderr');
    const ended = new Promise((resolve) => stderr.on('end', resolve));
    for (let i = 0; i < 100; i++)
      stderr.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(i % 2 ? 10 : 40)}\n`);
    stderr.end('no newline at the end');
    await ended;
    await log.close();

    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const n of [1, 2, 3]) expect(statSync(`${file}.${n}`).size).toBeLessThanOrEqual(1000);
    expect(() => statSync(`${file}.4`)).toThrow();
    const last = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(last.at(-1)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stderr no newline at the end$/);
    expect(log.lastErrorLines().at(-1)).toBe('no newline at the end');
  });
});

describe('app metrics', () => {
  it('records requests, restarts and process figures, and forgets an app', async () => {
    const registry = new Registry();
    const metrics = new AppMetrics(registry);
    metrics.observeRequest('acme.com', 'shop', 200, 0.02);
    metrics.observeRequest('acme.com', 'shop', 503, 0.001);
    metrics.observeRequest('acme.com', 'blog', 200, 0.5);
    metrics.countRestart('acme.com', 'shop');
    metrics.observeProcess('acme.com', 'shop', 50_000_000, 0.25);
    let text = await registry.metrics();
    expect(text).toContain('tessera_app_requests_total{tenant="acme.com",app="shop",status="503"} 1');
    expect(text).toContain('tessera_app_request_duration_seconds_count{tenant="acme.com",app="shop"} 2');
    expect(text).toContain('tessera_app_restarts_total{tenant="acme.com",app="shop"} 1');
    expect(text).toContain('tessera_app_memory_bytes{tenant="acme.com",app="shop"} 50000000');
    expect(text).toContain('tessera_app_event_loop_utilization{tenant="acme.com",app="shop"} 0.25');
    metrics.forget('acme.com', 'shop');
    text = await registry.metrics();
    expect(text).not.toContain('app="shop"');
    expect(text).toContain('tessera_app_requests_total{tenant="acme.com",app="blog",status="200"} 1');
  });
});
