/**
 * bench/auth: authentications per second through the server (POST /api/v1/authenticate, HTTP, tenant and
 * store lookup, the lockout's check, argon2id verify) against raw argon2id verifies of the same hash, same
 * concurrency, same process; then refused guesses at a locked account (the lockout's check alone, no hash).
 * Run: npm run bench:auth [-- --seconds 10 --concurrency 8]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verify } from '@node-rs/argon2';
import { startServer } from '../src/server/start.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]?.replace(/^--/, '') ?? '', process.argv[i + 1] ?? '');
const SECONDS = Number(args.get('seconds') ?? 10);
const CONCURRENCY = Number(args.get('concurrency') ?? 8);
const USERS = 20;
const PASSWORD = 'bench-password-1';

interface Run {
  operations: number;
  seconds: number;
  latencies: number[];
}

async function measure(label: string, operation: (i: number) => Promise<void>): Promise<Run> {
  // Warm-up: let JIT, pools and caches settle before the clock starts.
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => operation(i)));
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const i = next++;
        const t0 = performance.now();
        await operation(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const run = { operations: latencies.length, seconds, latencies: latencies.sort((a, b) => a - b) };
  process.stdout.write(
    `${label.padEnd(28)} ${rate(run).toFixed(1).padStart(8)} /s   p50 ${pct(run, 0.5)} ms   p99 ${pct(run, 0.99)} ms\n`,
  );
  return run;
}

const rate = (run: Run) => run.operations / run.seconds;
const pct = (run: Run, p: number) =>
  (run.latencies[Math.floor((run.latencies.length - 1) * p)] ?? 0).toFixed(1);

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-auth-'));
  const server = await startServer({
    home,
    port: 0,
    host: '127.0.0.1',
    adminPassword: 'bench-admin-pw',
    stdoutLogs: false,
    logLevel: 'warn',
  });
  try {
    const auth = `Basic ${Buffer.from('admin:bench-admin-pw').toString('base64')}`;
    const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    await post(
      '/api/v1/tenants',
      { domain: 'bench.example', adminPassword: 'bench-admin-pw' },
      { authorization: auth },
    );
    const tenantAuth = `Basic ${Buffer.from('admin@bench.example:bench-admin-pw').toString('base64')}`;
    await post('/api/v1/tenants/bench.example/roles', { name: 'users' }, { authorization: tenantAuth });
    for (let i = 0; i < USERS; i++) {
      const response = await post(
        '/api/v1/tenants/bench.example/users',
        {
          username: `user${i}`,
          password: PASSWORD,
          roles: ['users'],
          attributes: { email: `user${i}@bench.example` },
        },
        { authorization: tenantAuth },
      );
      if (response.status !== 201)
        throw new Error(`creating user${i}: ${response.status} ${await response.text()}`);
    }
    const stored = await server.context.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('username', '=', 'user0')
      .executeTakeFirstOrThrow();

    process.stdout.write(
      `bench/auth: ${SECONDS} s per run, concurrency ${CONCURRENCY}, ${os.cpus().length} cores, SQLite\n`,
    );
    const raw = await measure('raw argon2id verify', async () => {
      if (!(await verify(stored.password_hash, PASSWORD))) throw new Error('raw verify failed');
    });
    const served = await measure('POST /api/v1/authenticate', async (i) => {
      const response = await post('/api/v1/authenticate', {
        username: `user${i % USERS}@bench.example`,
        password: PASSWORD,
      });
      if (response.status !== 200) throw new Error(`authenticate: ${response.status}`);
      await response.arrayBuffer();
    });
    process.stdout.write(`ratio server / raw: ${(rate(served) / rate(raw)).toFixed(2)} (goal >= 0.80)\n`);

    // A locked account: the server's default policy locks it at the 5th wrong password, for a minute
    // (longer than the run), and then every guess is refused before any hash.
    for (let attempt = 1; attempt <= 5; attempt++) {
      const response = await post('/api/v1/authenticate', {
        username: 'user0@bench.example',
        password: 'guess',
      });
      if (response.status !== 401) throw new Error(`locking user0: ${response.status}`);
    }
    // Addresses are not what this measures: the bench's one address gets room for the guesses below.
    const widened = await fetch(`${server.url}/api/v1/tenants/carbon.super/settings/lockout`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: auth },
      body: JSON.stringify({ address: { maxFailures: 100_000 } }),
    });
    if (widened.status !== 200) throw new Error(`address rule: ${widened.status} ${await widened.text()}`);
    const refused = await measure('locked: refused guess', async () => {
      const response = await post('/api/v1/authenticate', {
        username: 'user0@bench.example',
        password: 'guess',
      });
      if (response.status !== 429) throw new Error(`locked guess: ${response.status}`);
      await response.arrayBuffer();
    });
    process.stdout.write(
      `a refused guess costs ${(rate(raw) / rate(refused)).toFixed(3)} of an argon2id verify\n`,
    );
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
