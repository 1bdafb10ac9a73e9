import {
  chatTenant,
  openChat,
  startChatEnvironment,
  uniqueText,
  usageRows,
  type ChatEnvironment,
} from '../support/chat-harness';
import { SUBMIT_TOOL_RESULTS } from '../support/documents';
import { anthropicKey } from '../support/fixtures';
import { errorCode, post } from '../support/graphql-client';
import { sqlSimple } from '../support/sql';

/** A gateway whose chats wait 1 s for tool results (KEYWARD_TOOL_RESULT_TIMEOUT_SECONDS=1). */

let env: ChatEnvironment;

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey(), KEYWARD_TOOL_RESULT_TIMEOUT_SECONDS: '1' });
});

afterAll(async () => {
  await env?.stop();
});

test('no result in time: a retryable TOOL_RESULT_TIMEOUT, the step recorded, the reservation released, the call closed', async () => {
  const tenant = await chatTenant(env.gw, { monthlyBudgetUsd: 100 });
  const open = openChat(env.gw, tenant.member.token, {
    message: `${uniqueText('slow')} [[tool:get_weather {"city":"Quito"}]]`,
    tools: [
      {
        name: 'get_weather',
        description: 'The weather in a city',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ],
  });
  await open.waitForToolCalls(1);
  const run = await open.done;
  await open.dispose();

  expect(run.failed).toMatchObject({ code: 'TOOL_RESULT_TIMEOUT', retryable: true });
  expect(run.completed).toBeUndefined();
  const requestId = run.started!.requestId;
  const rows = await usageRows(requestId);
  expect(rows).toHaveLength(1);
  expect(rows[0].status).toBe('completed');
  const [held] = await sqlSimple<{ count: string }>(
    'select count(*) as count from budget_reservations where tenant_id = $1',
    [tenant.tenantId],
  );
  expect(Number(held.count)).toBe(0);
  const late = await post(env.gw, tenant.member.token, SUBMIT_TOOL_RESULTS, {
    requestId,
    results: [{ toolCallId: run.toolCalls[0].id, output: 'late' }],
  });
  expect(errorCode(late)).toBe('NOT_FOUND');
});
