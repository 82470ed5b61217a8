import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppSlot, type VersionProcess } from '../../../src/webapps/runtime/app-slot.js';
import { type AppState, type AppStatus, DEFAULT_APP_LIMITS } from '../../../src/webapps/runtime/contract.js';

/** A version whose start, settling and retirement the test drives by hand. */
class FakeVersion implements VersionProcess {
  readonly tenantId = 1;
  readonly tenantDomain = 'acme.com';
  readonly name = 'site';
  readonly config = {
    runtime: 'node' as const,
    login: false,
    env: {},
    limits: { ...DEFAULT_APP_LIMITS, requestTimeoutS: 7 },
  };
  state: AppState = 'starting';
  started = false;
  /** The drain each `retire` call asked for. */
  readonly retires: number[] = [];
  private readonly waiters: Array<(status: AppStatus) => void> = [];

  constructor(readonly version: string) {}

  start(): void {
    this.started = true;
  }
  status(): AppStatus {
    return { state: this.state, restarts: 0, since: new Date(0), version: this.version };
  }
  endpoint() {
    return undefined;
  }
  retryAfterS(): number {
    return 1;
  }
  settled(): Promise<AppStatus> {
    if (this.state !== 'starting') return Promise.resolve(this.status());
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  retire(drainMs: number): Promise<void> {
    this.retires.push(drainMs);
    this.settle('stopped');
    return Promise.resolve();
  }
  /** Leaves `starting` as the real process would. */
  settle(state: AppState): void {
    this.state = state;
    for (const waiter of this.waiters.splice(0)) waiter(this.status());
  }
}

function slot(): { slot: AppSlot; retired: VersionProcess[] } {
  const retired: VersionProcess[] = [];
  const events = {
    retired: async (version: VersionProcess) => {
      retired.push(version);
    },
  };
  return { slot: new AppSlot(events, pino({ level: 'silent' })), retired };
}

async function running(s: AppSlot, label: string): Promise<FakeVersion> {
  const version = new FakeVersion(label);
  await s.begin(version);
  version.settle('running');
  await s.switched();
  return version;
}

describe('an app slot', () => {
  it('serves a first version at once, starting', async () => {
    const { slot: s } = slot();
    const v1 = new FakeVersion('1');
    await s.begin(v1);
    expect(v1.started).toBe(true);
    expect(s.serving).toBe(v1);
    expect(s.rollout()).toBeUndefined();
  });

  it('keeps the old version serving until the new one runs, then switches and drains the old one', async () => {
    const { slot: s, retired } = slot();
    const v1 = await running(s, '1');
    const v2 = new FakeVersion('2');
    await s.begin(v2);
    expect(v2.started).toBe(true);
    expect(s.serving).toBe(v1);
    expect(s.rollout()).toEqual({ next: { version: '2', state: 'starting', since: new Date(0) } });
    v2.settle('running');
    await s.switched();
    expect(s.serving).toBe(v2);
    expect(s.rollout()).toBeUndefined();
    // Drained for at most the old version's request timeout, then its copy let go.
    expect(v1.retires).toEqual([7000]);
    await Promise.resolve();
    expect(retired).toEqual([v1]);
  });

  it('stops a new version that fails to start and keeps the old one, with the failure', async () => {
    const { slot: s, retired } = slot();
    const v1 = await running(s, '1');
    const v2 = new FakeVersion('2');
    await s.begin(v2);
    v2.state = 'error';
    // The real process gives its reason in the status it settles with.
    v2.status = () => ({ state: 'error', reason: 'boom at import', restarts: 0, since: new Date(0) });
    v2.settle('error');
    await s.switched();
    expect(s.serving).toBe(v1);
    expect(v1.retires).toEqual([]);
    expect(v2.retires).toEqual([0]);
    expect(s.rollout()?.failed).toMatchObject({ version: '2', reason: 'boom at import' });
    await Promise.resolve();
    expect(retired).toEqual([v2]);
    // The next deploy clears the failure while it starts; its success takes over.
    const v3 = new FakeVersion('3');
    await s.begin(v3);
    expect(s.rollout()?.failed).toBeUndefined();
    v3.settle('running');
    await s.switched();
    expect(s.serving).toBe(v3);
  });

  it('supersedes a version still starting by a newer one, which then switches alone', async () => {
    const { slot: s } = slot();
    const v1 = await running(s, '1');
    const v2 = new FakeVersion('2');
    await s.begin(v2);
    const v3 = new FakeVersion('3');
    await s.begin(v3);
    expect(v2.retires).toEqual([0]);
    expect(s.serving).toBe(v1);
    expect(s.rollout()?.next?.version).toBe('3');
    v3.settle('running');
    await s.switched();
    expect(s.serving).toBe(v3);
    expect(v1.retires).toEqual([7000]);
  });

  it('never lets a version that settles after an undeploy serve', async () => {
    const { slot: s } = slot();
    const v1 = await running(s, '1');
    const v2 = new FakeVersion('2');
    await s.begin(v2);
    // A stop that does not make the fake settle: as if the process said `running` just before it was told.
    v2.retire = async (drainMs) => {
      v2.retires.push(drainMs);
    };
    await s.stopAll();
    v2.settle('running');
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.serving).toBeUndefined();
    expect(v1.retires).toEqual([0]);
    expect(v2.retires).toEqual([0]);
  });

  it('replaces a version that serves nothing (restarting, failed) at once', async () => {
    const { slot: s } = slot();
    const v1 = await running(s, '1');
    v1.state = 'restarting';
    const v2 = new FakeVersion('2');
    await s.begin(v2);
    expect(s.serving).toBe(v2);
    expect(v1.retires).toEqual([0]);
    expect(s.rollout()).toBeUndefined();
  });
});
