import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { listNodes } from '../../cluster/nodes.js';
import { TesseraError } from '../../errors.js';
import { SUPER_TENANT_ID, webappsFolder } from '../../home/layout.js';
import { PRIVATE_FILE_MODE } from '../../home/private-modes.js';
import type { Tenant } from '../../tenants/service.js';
import { readAppConfig } from '../../webapps/app-config.js';
import { assertEntryInsideApp } from '../../webapps/app-entry.js';
import { appNameProblem } from '../../webapps/app-name.js';
import { applyBackupRetention } from '../../webapps/backup-retention.js';
import type { DeployedApp } from '../../webapps/deployer.js';
import { AppConfigError } from '../../webapps/errors.js';
import { type NodeAppReport, readNodeReport } from '../../webapps/node-report.js';
import {
  assertRoomForApp,
  extractWithinQuota,
  QuotaExceededError,
  type TenantUsage,
} from '../../webapps/quotas.js';
import type { AppDeployments } from '../../webapps/runtime/contract.js';
import { createStagingFolder, removeFolder } from '../../webapps/staging.js';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const MIB = 1024 * 1024;

const LimitsBody = Type.Object(
  {
    memoryMb: Type.Integer({ description: 'memory_mb: the heap; past it the app is restarted' }),
    requestTimeoutS: Type.Integer({ description: 'request_timeout_s: past it the client gets 504' }),
    maxConcurrent: Type.Integer({ description: 'max_concurrent: requests in flight; past it 503' }),
    maxBodyMb: Type.Integer({ description: 'max_body_mb: the largest request body; past it 413' }),
    startTimeoutS: Type.Integer({ description: 'start_timeout_s: not running by then is a failed start' }),
  },
  { description: '[limits] of tessera-app.toml, defaults filled in (node apps)' },
);

const StatusBody = Type.Object(
  {
    state: Type.Union([
      Type.Literal('starting'),
      Type.Literal('running'),
      Type.Literal('restarting'),
      Type.Literal('error'),
      Type.Literal('stopped'),
    ]),
    reason: Type.Optional(Type.String({ description: 'Why it is not running' })),
    restarts: Type.Integer({ description: 'Restarts since it was deployed' }),
    memoryBytes: Type.Optional(Type.Integer({ description: 'Resident memory at its last heartbeat' })),
    since: Type.String({ format: 'date-time', description: 'When it entered this state' }),
    version: Type.Optional(Type.String({ description: 'The version serving (TESSERA_APP_VERSION)' })),
    next: Type.Optional(
      Type.Object(
        { version: Type.String(), state: Type.String(), since: Type.String({ format: 'date-time' }) },
        { description: 'A redeploy under way: the new version, starting beside the one serving' },
      ),
    ),
    failed: Type.Optional(
      Type.Object(
        { version: Type.String(), reason: Type.String(), at: Type.String({ format: 'date-time' }) },
        { description: 'The last redeploy that did not take over (the version above kept serving), and why' },
      ),
    ),
  },
  { description: "The app's process on the node that answers (node apps)" },
);

const NodeBody = Type.Object({
  node: Type.Optional(
    Type.String({
      description: "The node's id (`tessera cluster status`), shown to the super tenant's admins only",
    }),
  ),
  state: Type.Union(
    [
      Type.Literal('starting'),
      Type.Literal('running'),
      Type.Literal('restarting'),
      Type.Literal('error'),
      Type.Literal('stopped'),
      Type.Literal('serving'),
      Type.Literal('not-deployed'),
      Type.Literal('unknown'),
    ],
    {
      description:
        "A node app's state there; serving for static files; not-deployed while the node has not taken the app yet (or refused it); unknown for a node that has not reported",
    },
  ),
  version: Type.Optional(Type.String({ description: 'The version that node serves' })),
  restarts: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String({ description: 'Why it is not running there (cut to 200 characters)' })),
});

const AppBody = Type.Object({
  name: Type.String(),
  source: Type.Union([Type.Literal('zip'), Type.Literal('folder')]),
  runtime: Type.Union([Type.Literal('static'), Type.Literal('node')], {
    description: 'static: files served by Tessera; node: the entry runs in its own process',
  }),
  entry: Type.Optional(Type.String({ description: 'The code run, relative to the app (node apps)' })),
  login: Type.Boolean({
    description: 'Requests need HTTP Basic login against the tenant (tessera-app.toml)',
  }),
  health: Type.Optional(Type.String({ description: 'The path answered 2xx once the app is ready' })),
  limits: Type.Optional(LimitsBody),
  status: Type.Optional(StatusBody),
  url: Type.String({ description: 'Where the app is served, from the server root' }),
  deployedAt: Type.String({ format: 'date-time', description: 'When this node deployed it' }),
  version: Type.String({
    description: 'TESSERA_APP_VERSION: the version this node deployed, numbered by the cluster (1, 2, ...)',
  }),
  nodes: Type.Optional(
    Type.Array(NodeBody, {
      description:
        "In the list: each live node of the cluster and what it serves of the app, as of that node's last heartbeat",
    }),
  ),
});

const VersionBody = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  current: Type.Boolean({ description: 'The version every node serves' }),
  checksum: Type.String({ description: 'SHA-256 of its zip, checked by every node before it runs it' }),
  sizeBytes: Type.Integer({ description: 'The size of its zip' }),
  origin: Type.String({ description: 'upload (the API), zip or folder (dropped into a webapps/ folder)' }),
  deployedBy: Type.String(),
  deployedAt: Type.String({ format: 'date-time' }),
  failure: Type.Optional(Type.String({ description: 'Why it did not start where it was deployed' })),
  available: Type.Boolean({
    description: 'Its zip is still kept (deployment.keep_versions): it can be rolled back to',
  }),
  prunedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

const RefusedBody = Type.Object({
  name: Type.String(),
  entry: Type.String({ description: "The file or folder in the tenant's webapps/" }),
  source: Type.Union([Type.Literal('zip'), Type.Literal('folder')]),
  error: Type.String({ description: 'The error code, e.g. QUOTA_EXCEEDED or UNSAFE_ARCHIVE' }),
  message: Type.String({ description: 'Why it is not deployed' }),
});

const AppParams = Type.Object({ domain: Type.String(), app: Type.String({ minLength: 1, maxLength: 100 }) });

/** How versions name who deployed them: the principal as typed at login. */
const deployerName = (principal: { qualifiedName: string }) => principal.qualifiedName;

/** What one live node reported of the tenant's apps, or `undefined` when it has not reported yet. */
interface NodeReports {
  node: string;
  apps: Map<string, NodeAppReport> | undefined;
}

/** Every live node's report of the tenant's apps, oldest node first. */
async function nodeReports(context: ServerContext, tenantId: number): Promise<NodeReports[]> {
  const nodes = await listNodes(context.database.db, context.config.cluster.heartbeatSeconds * 1000);
  return nodes
    .filter((node) => node.state === 'live')
    .map((node) => ({
      node: node.nodeId,
      apps:
        node.appsReport === undefined
          ? undefined
          : new Map(readNodeReport(node.appsReport, tenantId).map((app) => [app.name, app])),
    }));
}

/** The app on each live node; node ids (host names) only for the super tenant's admins. */
function nodesView(reports: readonly NodeReports[], name: string, showNodeIds: boolean) {
  return reports.map(({ node, apps }) => {
    const app = apps?.get(name);
    const id = showNodeIds ? { node } : {};
    if (!apps) return { ...id, state: 'unknown' as const };
    if (!app) return { ...id, state: 'not-deployed' as const };
    return {
      ...id,
      state: app.state,
      version: app.version,
      ...(app.restarts === undefined ? {} : { restarts: app.restarts }),
      ...(app.reason === undefined ? {} : { reason: app.reason }),
    };
  });
}

function appView(tenant: Tenant, app: DeployedApp, apps: AppDeployments | undefined) {
  const { config } = app;
  const node = config.runtime === 'node';
  return {
    name: app.name,
    source: app.source,
    runtime: config.runtime,
    ...(node ? { entry: config.entry } : {}),
    login: config.login,
    ...(config.health === undefined ? {} : { health: config.health }),
    ...(node ? { limits: { ...config.limits } } : {}),
    ...(node ? statusView(apps, app) : {}),
    url: tenant.id === SUPER_TENANT_ID ? `/${app.name}/` : `/t/${tenant.domain}/${app.name}/`,
    deployedAt: app.deployedAt.toISOString(),
    version: app.version,
  };
}

/** `{ status }` from the node's running apps, or nothing when there is no runtime or no process yet. */
function statusView(apps: AppDeployments | undefined, app: DeployedApp) {
  const running = apps?.get(app.tenantId, app.name);
  if (!running) return {};
  const status = running.status();
  const { next, failed } = apps?.rollout(app.tenantId, app.name) ?? {};
  return {
    status: {
      state: status.state,
      ...(status.reason === undefined ? {} : { reason: status.reason }),
      restarts: status.restarts,
      ...(status.memoryBytes === undefined ? {} : { memoryBytes: Math.round(status.memoryBytes) }),
      since: status.since.toISOString(),
      ...(status.version === undefined ? {} : { version: status.version }),
      ...(next ? { next: { ...next, since: next.since.toISOString() } } : {}),
      ...(failed ? { failed: { ...failed, at: failed.at.toISOString() } } : {}),
    },
  };
}

/**
 * A tenant's web applications through the API: the same `webapps/` folder the hot deployer watches, so an
 * upload is a zip written there (atomically) and an undeploy is its source moved out of it.
 */
export const webappRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const maxUploadMb = context.config.deployment.maxUploadMb;
  app.addContentTypeParser(
    ['application/zip', 'application/octet-stream'],
    (request: FastifyRequest, payload: FastifyRequest['raw']) =>
      readUpload(payload, request.headers['content-length'], maxUploadMb),
  );

  app.get(
    '/tenants/:domain/webapps',
    {
      schema: {
        tags: ['webapps'],
        summary: "List the tenant's deployed web applications",
        params: DomainParams,
        response: {
          200: Type.Object({
            webapps: Type.Array(AppBody),
            refused: Type.Array(RefusedBody, {
              description:
                "Entries of the tenant's webapps/ that are not deployed (a quota, an unsafe zip, ...)",
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const reports = await nodeReports(context, tenant.id);
      return {
        webapps: context.deployer.list(tenant.id).map((deployed) => ({
          ...appView(tenant, deployed, context.apps),
          nodes: nodesView(reports, deployed.name, principal.isSuperAdmin),
        })),
        refused: context.deployer.refused(tenant.id),
      };
    },
  );

  app.post(
    '/tenants/:domain/webapps',
    {
      schema: {
        tags: ['webapps'],
        summary: 'Upload a web application: the raw zip as the body (application/zip), its name in `name`',
        description:
          'The zip is checked whole (no entry may escape the app folder, no links, size limits) before it is ' +
          "written into the tenant's webapps/ folder as `<name>.zip`, replacing an earlier zip of that name " +
          '(a copy of which is kept under backups/, and put back if the new one fails to deploy); ' +
          'the answer comes once it is deployed.',
        params: DomainParams,
        querystring: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
        // Documents the raw body for OpenAPI. A schema without a type lets the Buffer pass as is; `format:
        // binary` would need `type: string`, which a Buffer fails, and alone trips Ajv's strict mode.
        body: {
          content: {
            'application/zip': { schema: { description: 'The zip archive (binary)' } },
          },
        },
        response: { 201: AppBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { name } = request.query;
      const problem = appNameProblem(name);
      if (problem) throw new TesseraError('BAD_REQUEST', `Bad app name "${name}": ${problem}.`);
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0)
        throw new TesseraError(
          'BAD_REQUEST',
          'Send the zip as the request body with Content-Type application/zip.',
        );
      const webapps = webappsFolder(context.layout, tenant.id);
      if (existsSync(path.join(webapps, name)))
        throw new TesseraError('CONFLICT', `App "${name}" is deployed from a folder; remove it first.`);
      // The tenant's other apps: what this one may add to (a replaced version no longer counts).
      const others = context.deployer.usage(tenant.id, name);
      assertRoomForApp(context.deployer.quotas, tenant.domain, name, others);

      await mkdir(webapps, { recursive: true });
      // Dot-named files are not apps to the deployer, so it never sees the zip half written.
      const upload = path.join(webapps, `.upload-${name}-${randomBytes(4).toString('hex')}.zip`);
      const target = path.join(webapps, `${name}.zip`);
      await writeFile(upload, body, { flag: 'wx', mode: PRIVATE_FILE_MODE });
      const cluster = context.clusterApps;
      const by = deployerName(principal);
      let previous: string | undefined;
      let previousVersion: number | undefined;
      let staged: { version: number; created: boolean } | undefined;
      let published = false;
      try {
        try {
          await assertSafeZip(context, upload, tenant.domain, name, others);
          // Stored as the app's next version before the zip reaches webapps/, but made current (and so
          // taken by the other nodes) only once it runs here: the deployer numbers these bytes so, and the
          // version names who uploaded it.
          previousVersion = (await cluster.store.currentOf(tenant.id, name))?.version;
          staged = await cluster.stage(tenant.id, name, body, by);
          // A copy of the zip being replaced goes to backups/ first: the new one may still fail to deploy
          // (the deployer takes the old version down when its replacement is refused), and then the old
          // one is put back. Copied rather than moved so that the app has a zip in webapps/ throughout.
          if (existsSync(target)) {
            await mkdir(context.layout.backups, { recursive: true });
            previous = path.join(context.layout.backups, `replaced-${tenant.id}-${Date.now()}-${name}.zip`);
            await copyFile(target, previous, constants.COPYFILE_EXCL);
            await chmod(previous, PRIVATE_FILE_MODE); // a copy keeps the mode of a zip dropped in by hand
          }
          await rename(upload, target);
        } finally {
          await rm(upload, { force: true });
        }
        await context.deployer.rescan();
        const deployed = context.deployer.app(tenant.id, name);
        if (!deployed) {
          // The deployer checks the quotas again: another upload to the tenant may have taken the room.
          const refusal = context.deployer.refused(tenant.id).find((r) => r.entry === `${name}.zip`);
          if (staged?.created)
            await cluster.store.markFailed(
              tenant.id,
              name,
              staged.version,
              refusal?.message ?? 'not deployed',
            );
          await rm(target, { force: true });
          if (previous) await rename(previous, target);
          await context.deployer.rescan();
          if (refusal?.error === 'QUOTA_EXCEEDED')
            throw new TesseraError(
              'QUOTA_EXCEEDED',
              `${refusal.message} ${previous ? 'The previous version was put back.' : 'Nothing was kept.'}`,
            );
          throw new TesseraError(
            'INTERNAL',
            `App "${name}" was written but not deployed; see the server log. ` +
              (previous ? 'The previous version was put back.' : 'Nothing was kept.'),
          );
        }
        await applyBackupRetention(context.layout.backups, context.config.deployment, context.logger);
        await context.audit.record(tenant.id, principal, 'webapp.deploy', name, {
          bytes: body.length,
          version: staged?.version,
        });
        let startedHere = true;
        if (deployed.config.runtime === 'node') {
          // The answer says whether the code came up (running) or not (error, with the reason), within the
          // app's own request timeout; past it the status says starting.
          await context.apps?.settled(tenant.id, name, deployed.config.limits.requestTimeoutS * 1000);
          const failed = context.apps?.rollout(tenant.id, name)?.failed;
          if (staged?.created && failed?.version === String(staged.version)) {
            startedHere = false;
            await cluster.store.markFailed(tenant.id, name, staged.version, failed.reason);
            context.logger.warn(
              { tenant: tenant.id, app: name, version: staged.version, kept: previousVersion },
              'new app version did not start: the previous version stays current',
            );
          }
        }
        // Current for the cluster once it runs here; a first version that failed is current all the same
        // (there is nothing to keep serving), shown in error as on this node.
        if (staged?.created && (startedHere || previousVersion === undefined))
          published = await cluster.publish(tenant.id, name, staged.version, by);
      } finally {
        // Not made current: this node takes the cluster's current version (the previous one) back.
        if (staged?.created && !published) await cluster.abandon(tenant.id, name, staged.version);
      }
      const now = context.deployer.app(tenant.id, name);
      if (!now)
        throw new TesseraError(
          'CONFLICT',
          `App "${name}" was undeployed while this upload was starting; nothing of it is deployed.`,
        );
      return reply.status(201).send(appView(tenant, now, context.apps));
    },
  );

  app.delete(
    '/tenants/:domain/webapps/:app',
    {
      schema: {
        tags: ['webapps'],
        summary: 'Undeploy an app; its zip or folder is moved under backups/, not erased',
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const deployed = context.deployer.app(tenant.id, request.params.app);
      if (!deployed)
        throw new TesseraError('NOT_FOUND', `Tenant ${tenant.domain} has no app ${request.params.app}.`);
      const webapps = path.resolve(webappsFolder(context.layout, tenant.id));
      // The deployer only reads sources directly inside webapps/; anything else is not ours to move.
      if (path.dirname(path.resolve(deployed.sourcePath)) !== webapps)
        throw new TesseraError('INTERNAL', `App "${deployed.name}" has a source outside the webapps folder.`);
      await mkdir(context.layout.backups, { recursive: true });
      const kept = path.join(
        context.layout.backups,
        `undeployed-${tenant.id}-${Date.now()}-${path.basename(deployed.sourcePath)}`,
      );
      // Undeployed for the cluster whatever version it is at now (another node may have deployed a newer
      // one this node has not taken yet); its versions' rows stay, for a later deploy to number on from (their zips are pruned).
      context.clusterApps.unstage(tenant.id, deployed.name);
      await context.clusterApps.store.remove(tenant.id, deployed.name);
      await rename(deployed.sourcePath, kept);
      await context.deployer.rescan();
      await context.clusterApps.announce(tenant.id);
      await applyBackupRetention(context.layout.backups, context.config.deployment, context.logger);
      await context.audit.record(tenant.id, principal, 'webapp.undeploy', deployed.name);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/tenants/:domain/webapps/:app/versions',
    {
      schema: {
        tags: ['webapps'],
        summary:
          "An app's versions, newest first: who deployed each and when, and which one every node serves",
        params: AppParams,
        response: {
          200: Type.Object({
            name: Type.String(),
            current: Type.Union([Type.Integer(), Type.Null()], {
              description: 'The version every node serves; null when the app is undeployed',
            }),
            keep: Type.Integer({ description: 'deployment.keep_versions: how many versions keep their zip' }),
            versions: Type.Array(VersionBody),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const name = request.params.app;
      const store = context.clusterApps.store;
      const versions = await store.versions(tenant.id, name);
      if (versions.length === 0)
        throw new TesseraError('NOT_FOUND', `Tenant ${tenant.domain} has no app ${name}.`);
      const current = (await store.currentOf(tenant.id, name))?.version ?? null;
      return {
        name,
        current,
        keep: context.config.deployment.keepVersions,
        versions: versions.map((v) => ({
          version: v.version,
          current: v.version === current,
          checksum: v.checksum,
          sizeBytes: v.sizeBytes,
          origin: v.origin,
          deployedBy: v.deployedBy,
          deployedAt: v.deployedAt.toISOString(),
          ...(v.failure === undefined ? {} : { failure: v.failure }),
          available: v.prunedAt === undefined,
          ...(v.prunedAt === undefined ? {} : { prunedAt: v.prunedAt.toISOString() }),
        })),
      };
    },
  );

  app.post(
    '/tenants/:domain/webapps/:app/rollback',
    {
      schema: {
        tags: ['webapps'],
        summary: 'Make a kept version of the app the one every node serves',
        description:
          'Every node starts that version beside the one it serves and switches once it answers, as for a ' +
          'deploy. The answer comes once this node has switched (or the version failed to start here, in ' +
          'which case the version before stays current).',
        params: AppParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1 }) }),
        response: { 200: AppBody, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const name = request.params.app;
      const { version } = request.body;
      const store = context.clusterApps.store;
      const before = await store.currentOf(tenant.id, name);
      if (!before)
        throw new TesseraError('NOT_FOUND', `Tenant ${tenant.domain} has no app ${name} deployed.`, {
          hint: 'Deploy it first; a rollback changes the version of a deployed app.',
        });
      if (before.version !== version) {
        await store.setCurrent(tenant.id, name, version, deployerName(principal));
        await context.audit.record(tenant.id, principal, 'webapp.rollback', name, {
          from: before.version,
          to: version,
        });
        await context.clusterApps.announce(tenant.id);
      }
      const deployed = context.deployer.app(tenant.id, name);
      if (!deployed)
        throw new TesseraError(
          'INTERNAL',
          `Version ${version} of app "${name}" was not deployed here; see the server log.`,
        );
      if (deployed.config.runtime === 'node') {
        await context.apps?.settled(tenant.id, name, deployed.config.limits.requestTimeoutS * 1000);
        const failed = context.apps?.rollout(tenant.id, name)?.failed;
        if (before.version !== version && failed?.version === String(version)) {
          await store.setCurrent(tenant.id, name, before.version, deployerName(principal));
          await context.clusterApps.announce(tenant.id);
          throw new TesseraError(
            'CONFLICT',
            `Version ${version} of app "${name}" did not start (${failed.reason.replace(/[.\s]+$/, '')}). Version ${before.version} stays current.`,
          );
        }
      }
      return appView(tenant, context.deployer.app(tenant.id, name) ?? deployed, context.apps);
    },
  );
};

/**
 * Refuses an archive the deployer would refuse, before it goes anywhere near `webapps/`: unsafe, or
 * larger than the app's quota or what is left of the tenant's (never extracted past them).
 */
async function assertSafeZip(
  context: ServerContext,
  zip: string,
  tenant: string,
  app: string,
  others: TenantUsage,
): Promise<void> {
  const scratch = await createStagingFolder(path.join(context.layout.work, 'uploads'), 'check');
  try {
    await extractWithinQuota(zip, scratch, context.deployer.quotas, tenant, app, others);
    await assertEntryInsideApp(scratch, await readAppConfig(scratch));
  } catch (error) {
    if (error instanceof AppConfigError) throw new TesseraError('BAD_REQUEST', error.message);
    throw error;
  } finally {
    await removeFolder(scratch);
  }
}

/**
 * The upload body, held in memory up to `deployment.max_upload_mb`: refused as soon as its announced
 * length or the bytes received pass it, so an oversized upload is never written anywhere.
 */
async function readUpload(
  payload: NodeJS.ReadableStream,
  contentLength: string | undefined,
  maxMb: number,
): Promise<Buffer> {
  const limit = maxMb * MIB;
  const tooLarge = (size: string) =>
    new QuotaExceededError(
      'deployment.max_upload_mb',
      `The upload is ${size}, and deployment.max_upload_mb is ${maxMb} MB (${limit} bytes).`,
    );
  if (contentLength !== undefined && Number(contentLength) > limit)
    throw tooLarge(`${Number(contentLength)} bytes`);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of payload) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    if (received > limit) throw tooLarge(`more than ${limit} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}
