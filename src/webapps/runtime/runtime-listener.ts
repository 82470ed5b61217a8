import type { Logger } from 'pino';
import type { DeployedApp, DeployListener } from '../deployer.js';
import type { AppRuntime } from './app-runtime.js';
import type { AppDeployments } from './contract.js';
import { settledWithin } from './settled-within.js';

/**
 * Keeps the runtime in step with the deployer: a deployed `runtime = "node"` app gets its process, a
 * redeployed one a new process beside the old one (which goes once the new one has taken over), an
 * undeployed one loses them all. The deployer tells synchronously; the
 * starts and stops of one app run one after the other, so a quick redeploy then undeploy never leaves a
 * process behind.
 */
export function runtimeListener(
  runtime: AppRuntime,
  tenantDomain: (tenantId: number) => Promise<string | undefined>,
  logger: Logger,
): DeployListener & AppDeployments & { idle(): Promise<void> } {
  const queues = new Map<string, Promise<void>>();
  const keyOf = (tenantId: number, name: string) => `${tenantId}/${name}`;
  const enqueue = (app: DeployedApp, work: () => Promise<void>) => {
    const key = keyOf(app.tenantId, app.name);
    const next = (queues.get(key) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => {
        logger.error({ tenant: app.tenantId, app: app.name, err: error }, 'app process could not be changed');
      })
      .finally(() => {
        if (queues.get(key) === next) queues.delete(key);
      });
    queues.set(key, next);
  };
  return {
    deployed(app) {
      if (app.config.runtime !== 'node') {
        // A node app redeployed as static files: its process goes.
        enqueue(app, () => runtime.stop(app.tenantId, app.name));
        return;
      }
      const { dataDir } = app;
      if (dataDir === undefined) throw new Error(`node app ${app.name} was deployed without a data folder`);
      enqueue(app, async () => {
        // The same version deployed again (a redeploy that failed was taken back: the old version kept
        // serving and its zip came back): the process serving it is this version already. Not when another
        // version is starting beside it: that one must not take over, and a start stops it.
        const serving = runtime.get(app.tenantId, app.name)?.status().version;
        if (serving === app.version && !runtime.rollout(app.tenantId, app.name)?.next) return;
        const domain = (await tenantDomain(app.tenantId)) ?? String(app.tenantId);
        await runtime.start({
          tenantId: app.tenantId,
          tenantDomain: domain,
          name: app.name,
          root: app.root,
          dataDir,
          version: app.version,
          config: app.config,
        });
      });
    },
    undeployed(app) {
      enqueue(app, () => runtime.stop(app.tenantId, app.name));
    },
    get: (tenantId, name) => runtime.get(tenantId, name),
    rollout: (tenantId, name) => runtime.rollout(tenantId, name),
    async settled(tenantId, name, timeoutMs) {
      const until = Date.now() + timeoutMs;
      await queues.get(keyOf(tenantId, name));
      // A redeploy: the new version's outcome is the switch (or its failure), not the old one's state.
      await within(runtime.switched(tenantId, name), until - Date.now());
      const app = runtime.get(tenantId, name);
      if (!app) return undefined;
      return settledWithin(app, Math.max(0, until - Date.now()));
    },
    /** Resolves once every start and stop asked for so far is done (for shutdown and tests). */
    async idle() {
      while (queues.size > 0) await Promise.all(queues.values());
    },
  };
}

/** Waits for `work` at most `ms`. */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
