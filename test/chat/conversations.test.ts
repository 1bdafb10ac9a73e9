import {
  chat,
  chatTenant,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { CONVERSATION, CREATE_AGENT } from '../support/documents';
import { anthropicKey, createMember, storeAnthropicKey } from '../support/fixtures';
import { gql, ok } from '../support/graphql-client';

/**
 * What reaches the upstream body (model, agent system prompt, earlier turns) and what a
 * conversation stores and shows, to its owner only.
 */

let env: ChatEnvironment;
let tenant: ChatTenant;
let personalKey: string;
let tenantKey: string;

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  tenant = await chatTenant(env.gw);
  personalKey = anthropicKey();
  tenantKey = anthropicKey();
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', personalKey);
  await storeAnthropicKey(env.gw, tenant.adminToken, 'TENANT', tenantKey);
});

afterAll(async () => {
  await env?.stop();
});

const onlyUpstream = (text: string) => {
  const requests = upstreamFor(env.anthropic, text);
  expect(requests).toHaveLength(1);
  return requests[0];
};

test("the model and the agent's system prompt reach the upstream body, on every turn of the agent's conversation", async () => {
  const systemPrompt = `You are a pirate ${uniqueText('prompt')}`;
  const agent = (
    await ok(env.gw, tenant.member.token, CREATE_AGENT, {
      input: { name: 'Pirate', systemPrompt, model: 'claude-sonnet-5-5' },
    })
  ).createAgent;

  const first = uniqueText('ahoy');
  const opened = await chat(env.gw, tenant.member.token, { message: first, agentId: agent.id, maxTokens: 77 });
  expect(opened.completed).toBeDefined();
  expect(onlyUpstream(first).body).toMatchObject({
    model: 'claude-sonnet-5-5',
    system: systemPrompt,
    max_tokens: 77,
    stream: true,
    messages: [{ role: 'user', content: first }],
  });

  // Continued without agentId: the conversation's agent still supplies prompt and model.
  const second = uniqueText('again');
  const continued = await chat(env.gw, tenant.member.token, {
    message: second,
    conversationId: opened.started!.conversationId,
  });
  expect(continued.started).toMatchObject({
    conversationId: opened.started!.conversationId,
    model: 'claude-sonnet-5-5',
  });
  expect(onlyUpstream(second).body).toMatchObject({ system: systemPrompt, model: 'claude-sonnet-5-5' });

  const view = (await ok(env.gw, tenant.member.token, CONVERSATION, { id: opened.started!.conversationId }))
    .conversation!;
  expect(view.agent).toEqual({ id: agent.id });
});

test('a chat without an agent sends no system prompt', async () => {
  const message = uniqueText('plain');
  await chat(env.gw, tenant.member.token, { message });
  expect(onlyUpstream(message).body).not.toHaveProperty('system');
});

test('a continued conversation sends the earlier user and assistant turns in order; key source and model may change per turn', async () => {
  const texts = [uniqueText('one'), uniqueText('two'), uniqueText('three')];
  const first = await chat(env.gw, tenant.member.token, {
    message: texts[0],
    keySource: 'PERSONAL',
    model: 'claude-haiku-4-5',
  });
  const conversationId = first.started!.conversationId;
  expect(first.started).toMatchObject({ keySource: 'PERSONAL', model: 'claude-haiku-4-5' });

  const second = await chat(env.gw, tenant.member.token, {
    message: texts[1],
    conversationId,
    keySource: 'TENANT',
    model: 'claude-sonnet-5-5',
  });
  expect(second.started).toMatchObject({ conversationId, keySource: 'TENANT', model: 'claude-sonnet-5-5' });
  const secondUpstream = onlyUpstream(texts[1]);
  expect(secondUpstream.apiKey).toBe(tenantKey);
  expect(secondUpstream.body).toMatchObject({
    model: 'claude-sonnet-5-5',
    messages: [
      { role: 'user', content: texts[0] },
      { role: 'assistant', content: `Echo: ${texts[0]}` },
      { role: 'user', content: texts[1] },
    ],
  });

  const third = await chat(env.gw, tenant.member.token, {
    message: texts[2],
    conversationId,
    keySource: 'PLATFORM',
    model: 'claude-opus-5-5',
  });
  expect(third.started).toMatchObject({ conversationId, keySource: 'PLATFORM', model: 'claude-opus-5-5' });
  expect(onlyUpstream(texts[2]).body?.messages).toEqual([
    { role: 'user', content: texts[0] },
    { role: 'assistant', content: `Echo: ${texts[0]}` },
    { role: 'user', content: texts[1] },
    { role: 'assistant', content: `Echo: ${texts[1]}` },
    { role: 'user', content: texts[2] },
  ]);
  expect(onlyUpstream(texts[0]).apiKey).toBe(personalKey);

  const view = (await ok(env.gw, tenant.member.token, CONVERSATION, { id: conversationId })).conversation!;
  expect(view).toMatchObject({ id: conversationId, title: texts[0], agent: null });
  expect(
    view.messages.map(({ role, content, model, keySource }: Record<string, unknown>) => ({
      role,
      content,
      model,
      keySource,
    })),
  ).toEqual([
    { role: 'USER', content: texts[0], model: null, keySource: null },
    { role: 'ASSISTANT', content: `Echo: ${texts[0]}`, model: 'claude-haiku-4-5', keySource: 'PERSONAL' },
    { role: 'USER', content: texts[1], model: null, keySource: null },
    { role: 'ASSISTANT', content: `Echo: ${texts[1]}`, model: 'claude-sonnet-5-5', keySource: 'TENANT' },
    { role: 'USER', content: texts[2], model: null, keySource: null },
    { role: 'ASSISTANT', content: `Echo: ${texts[2]}`, model: 'claude-opus-5-5', keySource: 'PLATFORM' },
  ]);
});

test("conversation(id) is null for another user of the tenant and for another tenant; chatting in another user's conversation is NOT_FOUND", async () => {
  const message = uniqueText('mine');
  const owned = await chat(env.gw, tenant.member.token, { message });
  const conversationId = owned.started!.conversationId;

  const colleague = await createMember(env.gw, tenant.adminToken);
  await storeAnthropicKey(env.gw, colleague.token, 'PERSONAL', anthropicKey());
  const stranger = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, stranger.member.token, 'PERSONAL', anthropicKey());

  for (const token of [colleague.token, tenant.adminToken, stranger.member.token, stranger.adminToken]) {
    const res = await gql(env.gw.url, CONVERSATION, { id: conversationId }, token);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ conversation: null });
  }
  // The platform admin is no exception.
  expect((await gql(env.gw.url, CONVERSATION, { id: conversationId }, env.gw.platformToken)).data).toEqual({
    conversation: null,
  });

  const intruding = uniqueText('intrude');
  expect(await refusedChat(env.gw, colleague.token, { message: intruding, conversationId })).toBe('NOT_FOUND');
  expect(await refusedChat(env.gw, stranger.member.token, { message: intruding, conversationId })).toBe('NOT_FOUND');
  expect(await refusedChat(env.gw, colleague.token, { message: intruding, conversationId: 'not-a-uuid' })).toBe(
    'NOT_FOUND',
  );
  expect(upstreamFor(env.anthropic, intruding)).toHaveLength(0);

  // Nothing was added to the owner's conversation.
  const view = (await ok(env.gw, tenant.member.token, CONVERSATION, { id: conversationId })).conversation!;
  expect(view.messages.map((m: { content: string }) => m.content)).toEqual([message, `Echo: ${message}`]);
});

test("another tenant's agent is NOT_FOUND", async () => {
  const stranger = await chatTenant(env.gw);
  const agent = (
    await ok(env.gw, stranger.member.token, CREATE_AGENT, { input: { name: 'Theirs', systemPrompt: 'secret prompt' } })
  ).createAgent;
  expect(await refusedChat(env.gw, tenant.member.token, { message: uniqueText(), agentId: agent.id })).toBe(
    'NOT_FOUND',
  );
});
