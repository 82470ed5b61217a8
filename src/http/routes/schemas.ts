import { Type } from 'typebox';

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { $id: 'Error' });

export const TenantBody = Type.Object({
  id: Type.Integer(),
  domain: Type.String(),
  adminUsername: Type.String(),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const UserBody = Type.Object({
  username: Type.String({ description: 'As typed inside the tenant: `name` or `STORE/name`' }),
  store: Type.String(),
  roles: Type.Array(Type.String()),
  attributes: Type.Record(Type.String(), Type.String()),
  system: Type.Boolean(),
});

export const RoleBody = Type.Object({
  name: Type.String(),
  store: Type.String(),
  users: Type.Array(Type.String()),
  system: Type.Boolean(),
});

export const StoreBody = Type.Object({
  domain: Type.String(),
  type: Type.Union([Type.Literal('primary'), Type.Literal('jdbc'), Type.Literal('ldap')]),
  url: Type.Optional(Type.String()),
  readOnly: Type.Boolean(),
  description: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('up'), Type.Literal('error')]),
  error: Type.Optional(Type.String()),
});

export const DomainParams = Type.Object({ domain: Type.String({ minLength: 1, maxLength: 253 }) });

export const PageQuery = Type.Object({
  store: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  prefix: Type.Optional(Type.String({ maxLength: 255 })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  415: ErrorBody,
  // An admin route's HTTP Basic login may be locked (README, Login lockout).
  429: ErrorBody,
};
