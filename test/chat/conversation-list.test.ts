import {
  chat,
  chatTenant,
  startChatEnvironment,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { failCode, ok } from '../support/graphql-client';

/** conversations(first): the caller's own conversations, newest first. */

const CONVERSATIONS = /* GraphQL */ `
  query ($first: Int) {
    conversations(first: $first) {
      id
      title
    }
  }
`;

let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
});

afterAll(async () => {
  await env?.stop();
});

test("lists the caller's own conversations newest first, never another user's", async () => {
  const first = await chat(env.gw, tenant.member.token, { message: uniqueText('first') });
  const second = await chat(env.gw, tenant.member.token, { message: uniqueText('second') });
  const mine = await ok(env.gw, tenant.member.token, CONVERSATIONS, { first: 2 });
  expect(mine.conversations.map((c: { id: string }) => c.id)).toEqual([
    second.started!.conversationId,
    first.started!.conversationId,
  ]);
  expect(mine.conversations[0].title).toContain('second');

  const admin = await ok(env.gw, tenant.adminToken, CONVERSATIONS, {});
  expect(admin.conversations).toEqual([]);
  expect(await failCode(env.gw, tenant.member.token, CONVERSATIONS, { first: 0 })).toBe('BAD_USER_INPUT');
  expect(await failCode(env.gw, tenant.member.token, CONVERSATIONS, { first: 201 })).toBe('BAD_USER_INPUT');
});
