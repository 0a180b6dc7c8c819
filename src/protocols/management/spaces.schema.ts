import { Type } from '@sinclair/typebox';
import { PageOf, PageQueryFields } from './pagination.schema.js';

/** Wire shapes of spaces and their members (camelCase JSON). */

const SpaceName = Type.String({ minLength: 1, description: "Space name (letters, digits, '.', '_', '-')", examples: ['credit'] });
const Role = Type.Union([Type.Literal('admin'), Type.Literal('editor'), Type.Literal('viewer')], { description: 'admin, editor or viewer' });

const SPACE_EXAMPLE = { name: 'credit', description: 'Credit risk models and their deployments', createdAt: '2026-11-22T10:00:00.000Z' };

export const SpaceParams = Type.Object({ space: SpaceName });
export const MemberParams = Type.Object({
  space: SpaceName,
  user: Type.String({ minLength: 1, maxLength: 200, description: 'User name', examples: ['alice'] }),
});

export const SpaceListQuery = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 200, description: 'Only spaces whose name starts with this', examples: ['cr'] })), ...PageQueryFields },
  { additionalProperties: false },
);
export const MemberListQuery = Type.Object(PageQueryFields, { additionalProperties: false });

export const CreateSpaceBody = Type.Object(
  {
    name: SpaceName,
    description: Type.Optional(Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()])),
  },
  { additionalProperties: false, examples: [{ name: 'credit', description: 'Credit risk models and their deployments' }] },
);

export const SpaceResponse = Type.Object(
  { name: Type.String(), description: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String() },
  { examples: [SPACE_EXAMPLE] },
);
export const SpaceList = PageOf(SpaceResponse, [{ items: [{ name: 'default', description: 'The default deployment space', createdAt: '2026-11-22T09:00:00.000Z' }, SPACE_EXAMPLE] }]);

export const SetMemberBody = Type.Object({ role: Role }, { additionalProperties: false, examples: [{ role: 'editor' }] });

export const MemberResponse = Type.Object(
  { space: Type.String(), user: Type.String(), role: Role },
  { examples: [{ space: 'credit', user: 'alice', role: 'editor' }] },
);
export const MemberList = PageOf(MemberResponse, [{ items: [{ space: 'credit', user: 'alice', role: 'admin' }, { space: 'credit', user: 'bob', role: 'viewer' }] }]);
