import {
  chat,
  chatTenant,
  startChatEnvironment,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import {
  AGENTS,
  CREATE_AGENT_WITH_TOOLS,
  DELETE_AGENT,
  UPDATE_AGENT,
  type ToolDefinitionArgs,
} from '../support/documents';
import { anthropicKey, createMember } from '../support/fixtures';
import { errorCode, failCode, ok, post } from '../support/graphql-client';
import { allAuditEvents } from '../support/audit-helpers';

/** Agents' tools (checked when saved), request tools, and who may change or delete an agent. */

let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  tenant = await chatTenant(env.gw);
});

afterAll(async () => {
  await env?.stop();
});

const tool = (name: string, inputSchema: unknown = { type: 'object', properties: {} }): ToolDefinitionArgs => ({
  name,
  description: `The ${name} tool`,
  inputSchema,
});

const createAgent = (token: string, tools: ToolDefinitionArgs[] = [tool('search')]) =>
  ok(env.gw, token, CREATE_AGENT_WITH_TOOLS, {
    input: { name: uniqueText('agent'), systemPrompt: 'Be brief.', tools },
  });

describe('tool definitions are checked when saved and when sent', () => {
  const INVALID: Array<[string, ToolDefinitionArgs[]]> = [
    ['a schema that is not JSON Schema', [tool('bad', { type: 'object', properties: { a: { type: 'nonsense' } } })]],
    ['a schema of something else than an object', [tool('bad', { type: 'string' })]],
    ['a schema that is not an object', [tool('bad', 'just text')]],
    ['a name the providers refuse', [tool('has space')]],
    ['a name over 64 characters', [tool('x'.repeat(65))]],
    ['a duplicate name', [tool('same'), tool('same')]],
    ['a blank description', [{ name: 'blank', description: '  ', inputSchema: { type: 'object' } }]],
    ['an oversized definition', [tool('huge', { type: 'object', description: 'd'.repeat(17 * 1024), properties: {} })]],
    ['too many tools', Array.from({ length: 65 }, (_, index) => tool(`t${index}`))],
  ];

  test.each(INVALID)('createAgent refuses %s with BAD_USER_INPUT', async (_what, tools) => {
    const before = (await ok(env.gw, tenant.member.token, AGENTS)).agents.length;
    const code = await failCode(env.gw, tenant.member.token, CREATE_AGENT_WITH_TOOLS, {
      input: { name: uniqueText('agent'), systemPrompt: 'x', tools },
    });
    expect(code).toBe('BAD_USER_INPUT');
    expect((await ok(env.gw, tenant.member.token, AGENTS)).agents).toHaveLength(before);
  });

  test.each(INVALID)('a chat refuses request tools with %s before any event', async (_what, tools) => {
    const run = await chat(env.gw, tenant.member.token, { message: uniqueText('tools'), tools });
    expect(run.events).toEqual([]);
    expect(errorCode(run)).toBe('BAD_USER_INPUT');
  });

  test("a request tool whose name repeats one of the agent's is refused", async () => {
    const agent = (await createAgent(tenant.member.token, [tool('search')])).createAgent;
    const run = await chat(env.gw, tenant.member.token, {
      message: uniqueText('dup'),
      agentId: agent.id,
      tools: [tool('search')],
    });
    expect(errorCode(run)).toBe('BAD_USER_INPUT');
  });

  test("the agent's tools and the request's go upstream together", async () => {
    const agent = (await createAgent(tenant.member.token, [tool('search')])).createAgent;
    expect(agent.tools).toEqual([tool('search')]);
    const message = uniqueText('both');
    const run = await chat(env.gw, tenant.member.token, { message, agentId: agent.id, tools: [tool('lookup')] });
    expect(run.completed).toBeDefined();
    const upstream = env.anthropic.requests.find((request) => JSON.stringify(request.body).includes(message));
    expect((upstream!.body!.tools as Array<{ name: string }>).map((entry) => entry.name)).toEqual(['search', 'lookup']);
  });
});

describe('updateAgent and deleteAgent: the owner or a tenant admin', () => {
  test('the owner updates (omitted fields stay; tools replace the list) and deletes; both audited', async () => {
    const agent = (await createAgent(tenant.member.token)).createAgent;
    const updated = (
      await ok(env.gw, tenant.member.token, UPDATE_AGENT, {
        id: agent.id,
        input: { name: 'Renamed', tools: [tool('fetch'), tool('store')] },
      })
    ).updateAgent;
    expect(updated).toMatchObject({ id: agent.id, name: 'Renamed', systemPrompt: 'Be brief.' });
    expect(updated.tools.map((entry) => entry.name)).toEqual(['fetch', 'store']);
    expect(
      await failCode(env.gw, tenant.member.token, UPDATE_AGENT, { id: agent.id, input: { tools: [tool('a b')] } }),
    ).toBe('BAD_USER_INPUT');
    expect(
      (await ok(env.gw, tenant.member.token, AGENTS)).agents.find((entry) => entry.id === agent.id)?.tools,
    ).toEqual(updated.tools);

    expect((await ok(env.gw, tenant.member.token, DELETE_AGENT, { id: agent.id })).deleteAgent).toBe(true);
    expect((await ok(env.gw, tenant.member.token, AGENTS)).agents.some((entry) => entry.id === agent.id)).toBe(false);
    expect(await failCode(env.gw, tenant.member.token, DELETE_AGENT, { id: agent.id })).toBe('NOT_FOUND');

    const events = await allAuditEvents(env.gw, tenant.adminToken, { targetId: agent.id });
    expect(events.map((event) => [event.action, event.outcome]).reverse()).toEqual([
      ['agent.update', 'SUCCESS'],
      ['agent.update', 'FAILURE'],
      ['agent.delete', 'SUCCESS'],
      ['agent.delete', 'DENIED'],
    ]);
  });

  test("a tenant admin may change and delete a member's agent", async () => {
    const agent = (await createAgent(tenant.member.token)).createAgent;
    const updated = await ok(env.gw, tenant.adminToken, UPDATE_AGENT, {
      id: agent.id,
      input: { systemPrompt: 'Admin' },
    });
    expect(updated.updateAgent.systemPrompt).toBe('Admin');
    expect((await ok(env.gw, tenant.adminToken, DELETE_AGENT, { id: agent.id })).deleteAgent).toBe(true);
  });

  test("another member, an auditor and another tenant's admin cannot; the agent is unchanged", async () => {
    const agent = (await createAgent(tenant.member.token)).createAgent;
    const otherMember = await createMember(env.gw, tenant.adminToken);
    const auditor = await createMember(env.gw, tenant.adminToken, 'AUDITOR');
    const stranger = await chatTenant(env.gw);
    for (const token of [otherMember.token, stranger.adminToken]) {
      expect(await failCode(env.gw, token, UPDATE_AGENT, { id: agent.id, input: { name: 'Mine' } })).toBe('NOT_FOUND');
      expect(await failCode(env.gw, token, DELETE_AGENT, { id: agent.id })).toBe('NOT_FOUND');
    }
    expect(await failCode(env.gw, auditor.token, UPDATE_AGENT, { id: agent.id, input: { name: 'Mine' } })).toBe(
      'FORBIDDEN',
    );
    expect(await failCode(env.gw, auditor.token, DELETE_AGENT, { id: agent.id })).toBe('FORBIDDEN');
    expect(errorCode(await post(env.gw, tenant.member.token, DELETE_AGENT, { id: 'not-a-uuid' }))).toBe('NOT_FOUND');
    const stored = (await ok(env.gw, tenant.member.token, AGENTS)).agents.find((entry) => entry.id === agent.id);
    expect(stored?.name).toBe(agent.name);
  });
});
