import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';
import { type LdapSettings, readLdapSettings } from '../../../src/userstores/ldap/settings.js';
import { LdapUserStore } from '../../../src/userstores/ldap/store.js';
import { freePort } from '../../helpers/ports.js';

export const SUFFIX = 'dc=tessera,dc=test';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PASSWORD = 'slapd-root-pw';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;

/** A store's settings that bind as the directory's root and search the seeded people and groups; `overrides` win. */
export function rootBindSettings(overrides: Partial<LdapSettings> = {}): LdapSettings {
  return {
    ...readLdapSettings({
      bind_dn: ROOT_DN,
      bind_password: ROOT_PASSWORD,
      user_search_base: PEOPLE,
      group_search_base: GROUPS,
    }),
    ...overrides,
  };
}

/**
 * The same root bind and search bases as {@link rootBindSettings}, as a store request names them (the API's
 * body, `createStore`), for the manager to complete with its defaults; `overrides` win.
 */
export function rootBindRequest(overrides: Partial<LdapSettings> = {}): Partial<LdapSettings> {
  return {
    bindDn: ROOT_DN,
    bindPassword: ROOT_PASSWORD,
    userSearchBase: PEOPLE,
    groupSearchBase: GROUPS,
    ...overrides,
  };
}

const SLAPD_CANDIDATES = ['/usr/sbin/slapd', '/usr/local/sbin/slapd', '/usr/libexec/slapd'];
const SCHEMA_FOLDER = '/etc/ldap/schema';
const MODULE_FOLDER = '/usr/lib/ldap';

export interface SeedUser {
  uid: string;
  password: string;
  mail?: string;
  givenName?: string;
}

/** A real OpenLDAP server of one test file, in its own temporary folder, on a free port. */
export interface Slapd {
  url: string;
  port: number;
  /** Stops the server, keeping its data (for `start` to bring it back on the same port). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  dispose(): Promise<void>;
  /** A client bound as the root DN; the caller unbinds it. */
  root(): Promise<Client>;
}

function slapdBinary(): string {
  const found = SLAPD_CANDIDATES.find((candidate) => existsSync(candidate));
  if (found === undefined || !existsSync(path.join(SCHEMA_FOLDER, 'inetorgperson.schema'))) {
    throw new Error(
      'OpenLDAP slapd is not installed: the LDAP user store tests need a real directory. ' +
        'Install slapd and ldap-utils (apt-get install slapd ldap-utils).',
    );
  }
  return found;
}

function config(folder: string): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis'].map(
    (name) => `include ${path.join(SCHEMA_FOLDER, `${name}.schema`)}`,
  );
  return [
    ...schemas,
    `modulepath ${MODULE_FOLDER}`,
    'moduleload back_mdb',
    `pidfile ${path.join(folder, 'slapd.pid')}`,
    `argsfile ${path.join(folder, 'slapd.args')}`,
    'database mdb',
    'maxsize 10485760',
    `suffix "${SUFFIX}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${path.join(folder, 'data')}`,
    // Users may bind with their password, nobody reads it; the rest is readable by anyone bound.
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by users read by anonymous auth',
    '',
  ].join('\n');
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port} within 10 s: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts slapd with an empty `dc=tessera,dc=test` holding `ou=people` and `ou=groups`. */
export async function startSlapd(): Promise<Slapd> {
  const binary = slapdBinary();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'tessera-slapd-'));
  mkdirSync(path.join(folder, 'data'));
  const conf = path.join(folder, 'slapd.conf');
  writeFileSync(conf, config(folder));
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    let output = '';
    // -d 0 keeps slapd in the foreground, so that it is this process's child and dies with the tests.
    const started = spawn(binary, ['-h', `${url}/`, '-f', conf, '-d', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child = started;
    await waitForPort(port, started, () => output);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  const root = async () => {
    const client = new Client({ url, timeout: 5_000, connectTimeout: 5_000 });
    await client.bind(ROOT_DN, ROOT_PASSWORD);
    return client;
  };

  await start();
  const client = await root();
  try {
    await client.add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'tessera', o: 'Tessera' });
    await client.add(PEOPLE, { objectClass: 'organizationalUnit', ou: 'people' });
    await client.add(GROUPS, { objectClass: 'organizationalUnit', ou: 'groups' });
  } finally {
    await client.unbind();
  }
  return {
    url,
    port,
    stop,
    start,
    root,
    async dispose() {
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Adds users (inetOrgPerson under ou=people, password as given: slapd checks cleartext too) and groups. */
export async function seed(
  slapd: Slapd,
  users: readonly SeedUser[],
  groups: Record<string, readonly string[]>,
): Promise<void> {
  const client = await slapd.root();
  try {
    for (const user of users) {
      await client.add(`uid=${user.uid},${PEOPLE}`, {
        objectClass: 'inetOrgPerson',
        uid: user.uid,
        cn: user.uid,
        sn: user.uid,
        userPassword: user.password,
        ...(user.mail === undefined ? {} : { mail: user.mail }),
        ...(user.givenName === undefined ? {} : { givenName: user.givenName }),
      });
    }
    for (const [name, members] of Object.entries(groups)) {
      await client.add(`cn=${name},${GROUPS}`, {
        objectClass: 'groupOfNames',
        cn: name,
        member: members.map((uid) => `uid=${uid},${PEOPLE}`),
      });
    }
  } finally {
    await client.unbind();
  }
}

/** A slapd seeded with `users` and `groups`, and a store named DIRECTORY on it bound as its root. */
export interface SeededDirectory {
  slapd: Slapd;
  store: LdapUserStore;
  /** Closes the store, then stops slapd and removes its folder. */
  dispose(): Promise<void>;
}

export async function seededDirectory(
  users: readonly SeedUser[],
  groups: Record<string, readonly string[]>,
  options: { timeoutMs: number; readOnly: boolean },
): Promise<SeededDirectory> {
  const slapd = await startSlapd();
  try {
    await seed(slapd, users, groups);
    const store = await LdapUserStore.open({
      domain: 'DIRECTORY',
      url: slapd.url,
      settings: rootBindSettings({ timeoutMs: options.timeoutMs }),
      readOnly: options.readOnly,
    });
    return {
      slapd,
      store,
      async dispose() {
        await store.close();
        await slapd.dispose();
      },
    };
  } catch (error) {
    await slapd.dispose();
    throw error;
  }
}
