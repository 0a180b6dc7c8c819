import type { FastifyInstance } from 'fastify';
import { memberFilter } from '../../auth/route-policy.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ModelRegistryService } from '../../registry/model-registry.service.js';
import type { SpaceMemberRow, SpaceRow } from '../../storage/ports.js';
import { errorResponses } from '../shared/common.schema.js';
import { pageInMemory, pageLimit, toWirePage } from './pagination.schema.js';
import {
  CreateSpaceBody, MemberList, MemberListQuery, MemberParams, MemberResponse, SetMemberBody, SpaceList, SpaceListQuery, SpaceParams, SpaceResponse,
} from './spaces.schema.js';

const tags = ['registry'];
const conflict = { 409: Type.Ref('Error') };

export const spaceView = (s: SpaceRow) => ({ name: s.name, description: s.description, createdAt: s.createdAt });
const memberView = (space: string) => (m: SpaceMemberRow) => ({ space, user: m.user, role: m.role });

/** Spaces (the WML deployment space) and their members, under /api/v1/spaces. */
export function registerSpaceRoutes(base: FastifyInstance, registry: ModelRegistryService): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/v1/spaces', {
    schema: { tags, summary: 'List spaces', querystring: SpaceListQuery, response: { 200: SpaceList, ...errorResponses } },
  }, async (req) => {
    const page = await registry.listSpaces({ namePrefix: req.query.name, member: memberFilter(req), limit: pageLimit(req.query.limit), cursor: req.query.cursor });
    return toWirePage(page, spaceView);
  });

  app.post('/api/v1/spaces', {
    schema: { tags, summary: 'Create a space', body: CreateSpaceBody, response: { 201: SpaceResponse, ...errorResponses, ...conflict } },
  }, async (req, reply) => {
    const space = await registry.createSpace(req.body);
    // The creator administers it, so keys they make for it work there.
    if (req.principal) await registry.setMember(space.name, req.principal.user, 'admin');
    reply.header('location', `/api/v1/spaces/${encodeURIComponent(space.name)}`);
    return reply.status(201).send(spaceView(space));
  });

  app.get('/api/v1/spaces/:space', {
    schema: { tags, summary: 'A space', params: SpaceParams, response: { 200: SpaceResponse, ...errorResponses } },
  }, async (req) => spaceView(await registry.getSpace(req.params.space)));

  app.get('/api/v1/spaces/:space/members', {
    schema: { tags, summary: "A space's members and their roles", params: SpaceParams, querystring: MemberListQuery, response: { 200: MemberList, ...errorResponses } },
  }, async (req) => {
    const space = req.params.space;
    const members = await registry.listMembers(space);
    return toWirePage(pageInMemory(members, (m) => m.user, req.query), memberView(space));
  });

  app.put('/api/v1/spaces/:space/members/:user', {
    schema: {
      tags,
      summary: "Add a member or change their role",
      description: 'admin manages the space and its members; editor uploads models and changes deployments; viewer reads and predicts.',
      params: MemberParams,
      body: SetMemberBody,
      response: { 200: MemberResponse, ...errorResponses },
    },
  }, async (req) => {
    const { space, user } = req.params;
    return memberView(space)(await registry.setMember(space, user, req.body.role));
  });

  app.delete('/api/v1/spaces/:space/members/:user', {
    schema: { tags, summary: 'Remove a member', params: MemberParams, response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await registry.removeMember(req.params.space, req.params.user);
    return reply.status(204).send(null);
  });
}
