import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import { normaliseRegistryPath } from '../../registry/paths.js';
import type { Resource } from '../../registry/registry.js';
import type { ServerContext } from '../context.js';
import { ErrorBody, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const PathParams = Type.Object({
  domain: Type.String({ minLength: 1, maxLength: 253 }),
  '*': Type.String({ maxLength: 2048, description: 'The registry path, without its leading /' }),
});
const Encoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64')]);
const ResourceBody = Type.Object({
  path: Type.String(),
  version: Type.Integer(),
  mediaType: Type.String(),
  content: Type.String(),
  encoding: Encoding,
  properties: Type.Record(Type.String(), Type.String()),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
const responses = { ...errorResponses, 503: ErrorBody };
const MAX_CONTENT = 6 * 1024 * 1024;

/** Text media types come back as UTF-8 text (when they are valid UTF-8), everything else as base64. */
function isTextual(mediaType: string): boolean {
  const type = (mediaType.split(';')[0] ?? '').trim().toLowerCase();
  return type.startsWith('text/') || /[/+](json|xml)$/.test(type);
}

function resourceView(resource: Resource) {
  let content: string | undefined;
  if (isTextual(resource.mediaType)) {
    try {
      content = new TextDecoder('utf-8', { fatal: true }).decode(resource.content);
    } catch {
      content = undefined;
    }
  }
  return {
    path: resource.path,
    version: resource.version,
    mediaType: resource.mediaType,
    content: content ?? resource.content.toString('base64'),
    encoding: content === undefined ? ('base64' as const) : ('utf8' as const),
    properties: resource.properties,
    createdBy: resource.createdBy,
    createdAt: resource.createdAt.toISOString(),
  };
}

const pathOf = (params: { '*': string }) => `/${params['*']}`;

export const registryRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const { registry } = context;

  app.put(
    '/tenants/:domain/registry/resources/*',
    {
      schema: {
        tags: ['registry'],
        summary: 'Write a new version of a registry resource',
        params: PathParams,
        body: Type.Object({
          content: Type.String({ maxLength: MAX_CONTENT }),
          encoding: Type.Optional(Encoding),
          mediaType: Type.String({ minLength: 1, maxLength: 255 }),
          properties: Type.Optional(
            Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 1_000_000 })),
          ),
        }),
        response: { 201: ResourceBody, ...responses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { content, encoding, mediaType, properties } = request.body;
      if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(content.replace(/\s+/g, '')))
        throw new TesseraError('BAD_REQUEST', 'content is not valid base64.');
      const resource = await registry.put(tenant.id, pathOf(request.params), {
        content: Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'),
        mediaType,
        properties: properties ?? {},
        actor: principal.qualifiedName,
      });
      await context.audit.record(tenant.id, principal, 'registry.put', resource.path, {
        version: resource.version,
      });
      return reply.status(201).send(resourceView(resource));
    },
  );

  app.get(
    '/tenants/:domain/registry/resources/*',
    {
      schema: {
        tags: ['registry'],
        summary: 'Read the latest version of a registry resource, or `version`',
        params: PathParams,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        response: { 200: ResourceBody, ...responses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const path = pathOf(request.params);
      const resource = await registry.get(tenant.id, path, request.query.version);
      if (!resource) {
        const which = request.query.version === undefined ? '' : ` version ${request.query.version}`;
        throw new TesseraError('NOT_FOUND', `No registry resource ${path}${which} in ${tenant.domain}.`);
      }
      return resourceView(resource);
    },
  );

  app.get(
    '/tenants/:domain/registry/versions/*',
    {
      schema: {
        tags: ['registry'],
        summary: 'List the versions of a registry resource, oldest first',
        params: PathParams,
        response: {
          200: Type.Object({
            path: Type.String(),
            versions: Type.Array(
              Type.Object({
                version: Type.Integer(),
                createdBy: Type.String(),
                createdAt: Type.String({ format: 'date-time' }),
                mediaType: Type.String(),
                size: Type.Integer(),
              }),
            ),
          }),
          ...responses,
        },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const path = pathOf(request.params);
      const versions = await registry.versions(tenant.id, path);
      if (versions.length === 0)
        throw new TesseraError('NOT_FOUND', `No registry resource ${path} in ${tenant.domain}.`);
      return {
        path: normaliseRegistryPath(path),
        versions: versions.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })),
      };
    },
  );

  app.post(
    '/tenants/:domain/registry/restore/*',
    {
      schema: {
        tags: ['registry'],
        summary: "Write a new version with an earlier version's content and properties",
        params: PathParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1 }) }),
        response: { 201: ResourceBody, ...responses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const resource = await registry.restore(
        tenant.id,
        pathOf(request.params),
        request.body.version,
        principal.qualifiedName,
      );
      await context.audit.record(tenant.id, principal, 'registry.restore', resource.path, {
        from: request.body.version,
        version: resource.version,
      });
      return reply.status(201).send(resourceView(resource));
    },
  );

  app.delete(
    '/tenants/:domain/registry/resources/*',
    {
      schema: {
        tags: ['registry'],
        summary: 'Delete every version of a registry resource',
        params: PathParams,
        response: { 204: Type.Null(), ...responses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const path = pathOf(request.params);
      if (!(await registry.delete(tenant.id, path)))
        throw new TesseraError('NOT_FOUND', `No registry resource ${path} in ${tenant.domain}.`);
      await context.audit.record(tenant.id, principal, 'registry.delete', path);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/tenants/:domain/registry/children/*',
    {
      schema: {
        tags: ['registry'],
        summary: 'List the paths directly below a folder path (resources, folders and mount points)',
        params: PathParams,
        response: {
          200: Type.Object({ path: Type.String(), children: Type.Array(Type.String()) }),
          ...responses,
        },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const path = pathOf(request.params);
      const children = await registry.list(tenant.id, path);
      return { path: normaliseRegistryPath(path, { allowRoot: true }), children };
    },
  );
};
