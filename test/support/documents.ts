/**
 * One document per operation the black-box tests send, typed with what it selects and the
 * variables it takes. A document is a string (any helper that takes a query takes it) that carries
 * its types for the helpers that read them (`ok`, `send`). test/unit/support/documents.test.ts
 * validates every document here against schema.graphql, so a document that drifts fails there.
 */

declare const resultType: unique symbol;
declare const variablesType: unique symbol;

export type TypedDocument<Result, Variables = Record<string, never>> = string & {
  readonly [resultType]?: Result;
  readonly [variablesType]?: Variables;
};

export type ResultOf<D> =
  D extends TypedDocument<infer R, unknown> ? (unknown extends R ? Record<string, any> : R) : never;
export type VariablesOf<D> = D extends TypedDocument<unknown, infer V> ? V : never;

export const doc = <Result, Variables = Record<string, never>>(source: string): TypedDocument<Result, Variables> =>
  source as TypedDocument<Result, Variables>;

// ---------------------------------------------------------------------------------------------
// Shared shapes

export type RoleName = 'PLATFORM_ADMIN' | 'TENANT_ADMIN' | 'MEMBER' | 'AUDITOR';
export type KeySourceName = 'AUTO' | 'PERSONAL' | 'TENANT' | 'PLATFORM';
export type CredentialScope = 'PERSONAL' | 'TENANT';

export interface PolicyView {
  allowPlatformKey: boolean;
  allowedModels: string[] | null;
  defaultModel: string;
  monthlyBudgetUsd: number | null;
  requestsPerMinute: number | null;
}

export interface PlatformKeyView {
  enabled: boolean;
  monthlyCapUsd: number | null;
}

export interface TenantPolicyArgs {
  allowPlatformKey?: boolean;
  allowedModels?: readonly string[] | null;
  defaultModel?: string;
  monthlyBudgetUsd?: number | null;
  requestsPerMinute?: number | null;
  maxSteps?: number;
}

export interface PlatformKeyLimitArgs {
  enabled?: boolean;
  monthlyCapUsd?: number | null;
}

// ---------------------------------------------------------------------------------------------
// Tenants and users

export const ME = doc<{
  me: {
    id: string;
    email: string;
    role: RoleName;
    tenant: { id: string; name: string };
    preferredModel: string | null;
  };
}>(/* GraphQL */ `
  {
    me {
      id
      email
      role
      tenant {
        id
        name
      }
      preferredModel
    }
  }
`);

export interface CreateTenantArgs {
  name: string;
  adminEmail: string;
  adminName?: string;
  platformKey?: PlatformKeyLimitArgs;
}

export const CREATE_TENANT = doc<
  {
    createTenant: {
      tenant: { id: string; name: string; dataKeyVersion: number; platformKey: PlatformKeyView };
      admin: { id: string; email: string; role: RoleName; tenant: { id: string } };
      token: string;
    };
  },
  { input: CreateTenantArgs }
>(/* GraphQL */ `
  mutation ($input: CreateTenantInput!) {
    createTenant(input: $input) {
      tenant {
        id
        name
        dataKeyVersion
        platformKey {
          enabled
          monthlyCapUsd
        }
      }
      admin {
        id
        email
        role
        tenant {
          id
        }
      }
      token
    }
  }
`);

export const CREATE_USER = doc<
  { createUser: { id: string; email: string; role: RoleName; tenant: { id: string } } },
  { input: { email: string; name?: string; role: string } }
>(/* GraphQL */ `
  mutation ($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      email
      role
      tenant {
        id
      }
    }
  }
`);

export const USERS = doc<{ users: Array<{ id: string; email: string; role: RoleName; tenant: { id: string } }> }>(
  /* GraphQL */ `
    {
      users {
        id
        email
        role
        tenant {
          id
        }
      }
    }
  `,
);

export const DELETE_TENANT = doc<{ deleteTenant: boolean }, { id: string }>(/* GraphQL */ `
  mutation ($id: ID!) {
    deleteTenant(id: $id)
  }
`);

export const UPDATE_POLICY = doc<
  { updateTenantPolicy: { id: string; policy: PolicyView } },
  { input: TenantPolicyArgs }
>(/* GraphQL */ `
  mutation ($input: UpdateTenantPolicyInput!) {
    updateTenantPolicy(input: $input) {
      id
      policy {
        allowPlatformKey
        allowedModels
        defaultModel
        monthlyBudgetUsd
        requestsPerMinute
      }
    }
  }
`);

export const SET_PLATFORM_KEY_LIMIT = doc<
  { setPlatformKeyLimit: { id: string; platformKey: PlatformKeyView } },
  { tenantId: string; input: PlatformKeyLimitArgs }
>(/* GraphQL */ `
  mutation ($tenantId: ID!, $input: PlatformKeyLimitInput!) {
    setPlatformKeyLimit(tenantId: $tenantId, input: $input) {
      id
      platformKey {
        enabled
        monthlyCapUsd
      }
    }
  }
`);

export const SET_PREFERRED_MODEL = doc<
  { setPreferredModel: { id: string; preferredModel: string | null } },
  { model: string | null }
>(/* GraphQL */ `
  mutation ($model: String) {
    setPreferredModel(model: $model) {
      id
      preferredModel
    }
  }
`);

// ---------------------------------------------------------------------------------------------
// Tokens

export interface ApiTokenView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  user: { id: string; role: RoleName };
}

export const ISSUE_TOKEN = doc<
  {
    issueApiToken: {
      token: string;
      apiToken: {
        id: string;
        name: string;
        expiresAt: string | null;
        lastUsedAt: string | null;
        revokedAt: string | null;
        user: { id: string };
      };
    };
  },
  { input: { name: string; userId?: string; expiresAt?: string | null } }
>(/* GraphQL */ `
  mutation ($input: IssueApiTokenInput!) {
    issueApiToken(input: $input) {
      token
      apiToken {
        id
        name
        expiresAt
        lastUsedAt
        revokedAt
        user {
          id
        }
      }
    }
  }
`);

export const REVOKE_TOKEN = doc<
  { revokeApiToken: { id: string; revokedAt: string | null; lastUsedAt: string | null } },
  { id: string }
>(/* GraphQL */ `
  mutation ($id: ID!) {
    revokeApiToken(id: $id) {
      id
      revokedAt
      lastUsedAt
    }
  }
`);

export const API_TOKENS = doc<{ apiTokens: ApiTokenView[] }, { userId?: string | null; tenantId?: string | null }>(
  /* GraphQL */ `
    query ($userId: ID, $tenantId: ID) {
      apiTokens(userId: $userId, tenantId: $tenantId) {
        id
        name
        createdAt
        lastUsedAt
        revokedAt
        expiresAt
        user {
          id
          role
        }
      }
    }
  `,
);

// ---------------------------------------------------------------------------------------------
// Credentials and keys

/** The contract's view of a credential: everything a client may see. */
export interface CredentialView {
  id: string;
  provider: string;
  scope: CredentialScope;
  label: string | null;
  last4: string;
  dataKeyVersion: number;
  owner: { id: string } | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

export interface SetCredentialArgs {
  provider: string;
  scope: string;
  apiKey: string;
  label?: string | null;
  validate?: boolean;
}

const CREDENTIAL_FIELDS = 'id provider scope label last4 dataKeyVersion owner { id } createdAt updatedAt lastUsedAt';

export const SET_CREDENTIAL = doc<{ setCredential: CredentialView }, { input: SetCredentialArgs }>(/* GraphQL */ `
  mutation ($input: SetCredentialInput!) { setCredential(input: $input) { ${CREDENTIAL_FIELDS} } }
`);

export const CREDENTIALS = doc<{ credentials: CredentialView[] }>(
  /* GraphQL */ `{ credentials { ${CREDENTIAL_FIELDS} } }`,
);

export const DELETE_CREDENTIAL = doc<{ deleteCredential: boolean }, { id: string }>(/* GraphQL */ `
  mutation ($id: ID!) {
    deleteCredential(id: $id)
  }
`);

export const KEY_STATUS = doc<
  { keyStatus: { provider: string; hasPersonalKey: boolean; hasTenantKey: boolean; platformKeyAvailable: boolean } },
  { provider: string }
>(/* GraphQL */ `
  query ($provider: Provider!) {
    keyStatus(provider: $provider) {
      provider
      hasPersonalKey
      hasTenantKey
      platformKeyAvailable
    }
  }
`);

export const ROTATE_DATA_KEY = doc<{ rotateDataKey: { id: string; dataKeyVersion: number; keyring: string } }>(
  /* GraphQL */ `
    mutation {
      rotateDataKey {
        id
        dataKeyVersion
        keyring
      }
    }
  `,
);

export const REWRAP_DATA_KEYS = doc<{ rewrapDataKeys: number }>(/* GraphQL */ `
  mutation {
    rewrapDataKeys
  }
`);

export const TENANT = doc<{
  tenant: {
    id: string;
    name: string;
    keyring: string;
    dataKeyVersion: number;
    policy: PolicyView;
    platformKey: PlatformKeyView;
  };
}>(/* GraphQL */ `
  {
    tenant {
      id
      name
      keyring
      dataKeyVersion
      policy {
        allowPlatformKey
        allowedModels
        defaultModel
        monthlyBudgetUsd
        requestsPerMinute
      }
      platformKey {
        enabled
        monthlyCapUsd
      }
    }
  }
`);

// ---------------------------------------------------------------------------------------------
// Models, agents, conversations

export interface ModelView {
  id: string;
  provider: string;
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
  keySources: KeySourceName[];
}

export const MODELS = doc<{ models: ModelView[] }>(/* GraphQL */ `
  {
    models {
      id
      provider
      inputUsdPerMTok
      outputUsdPerMTok
      keySources
    }
  }
`);

export const CREATE_AGENT = doc<
  { createAgent: { id: string; name: string; model: string | null; systemPrompt: string } },
  { input: { name: string; systemPrompt: string; model?: string } }
>(/* GraphQL */ `
  mutation ($input: CreateAgentInput!) {
    createAgent(input: $input) {
      id
      name
      model
      systemPrompt
    }
  }
`);

export const CONVERSATION = doc<
  {
    conversation: {
      id: string;
      title: string | null;
      agent: { id: string } | null;
      messages: Array<{
        id: string;
        role: string;
        content: string;
        model: string | null;
        keySource: KeySourceName | null;
        toolCalls: Array<{ id: string; name: string; input: unknown }> | null;
        toolResults: Array<{ toolCallId: string; output: string; isError: boolean }> | null;
      }>;
    } | null;
  },
  { id: string }
>(/* GraphQL */ `
  query ($id: ID!) {
    conversation(id: $id) {
      id
      title
      agent {
        id
      }
      messages {
        id
        role
        content
        model
        keySource
        toolCalls {
          id
          name
          input
        }
        toolResults {
          toolCallId
          output
          isError
        }
      }
    }
  }
`);

// ---------------------------------------------------------------------------------------------
// Chat

export interface ChatInputArgs {
  message: string;
  tools?: ToolDefinitionArgs[];
  conversationId?: string;
  agentId?: string;
  model?: string;
  keySource?: KeySourceName;
  maxTokens?: number;
  clientRequestId?: string;
}

export interface ChatStartedEvent {
  __typename: 'ChatStarted';
  requestId: string;
  conversationId: string;
  model: string;
  keySource: string;
}
export interface ChatDeltaEvent {
  __typename: 'ChatDelta';
  text: string;
}
export interface ChatCompletedEvent {
  __typename: 'ChatCompleted';
  stopReason: string | null;
  usage: { inputTokens: number; outputTokens: number; costUsd: number };
}
export interface ChatFailedEvent {
  __typename: 'ChatFailed';
  code: string;
  message: string;
  retryable: boolean;
}
export interface ChatToolCallEvent {
  __typename: 'ChatToolCall';
  id: string;
  name: string;
  input: unknown;
}
export type ChatEvent = ChatStartedEvent | ChatDeltaEvent | ChatCompletedEvent | ChatFailedEvent | ChatToolCallEvent;

export const CHAT = doc<{ chat: ChatEvent }, { input: ChatInputArgs }>(/* GraphQL */ `
  subscription Chat($input: ChatInput!) {
    chat(input: $input) {
      __typename
      ... on ChatStarted {
        requestId
        conversationId
        model
        keySource
      }
      ... on ChatDelta {
        text
      }
      ... on ChatCompleted {
        stopReason
        usage {
          inputTokens
          outputTokens
          costUsd
        }
      }
      ... on ChatFailed {
        code
        message
        retryable
      }
      ... on ChatToolCall {
        id
        name
        input
      }
    }
  }
`);

// ---------------------------------------------------------------------------------------------
// Tools

export interface ToolDefinitionArgs {
  name: string;
  description: string;
  inputSchema: unknown;
}

export interface ToolResultArgs {
  toolCallId: string;
  output: string;
  isError?: boolean;
}

export const SUBMIT_TOOL_RESULTS = doc<
  { submitToolResults: boolean },
  { requestId: string; results: ToolResultArgs[] }
>(/* GraphQL */ `
  mutation ($requestId: ID!, $results: [ToolResultInput!]!) {
    submitToolResults(requestId: $requestId, results: $results)
  }
`);

export interface AgentView {
  id: string;
  name: string;
  model: string | null;
  systemPrompt: string;
  tools: ToolDefinitionArgs[];
}

export const CREATE_AGENT_WITH_TOOLS = doc<
  { createAgent: AgentView },
  { input: { name: string; systemPrompt: string; model?: string; tools?: ToolDefinitionArgs[] } }
>(/* GraphQL */ `
  mutation ($input: CreateAgentInput!) {
    createAgent(input: $input) {
      id
      name
      model
      systemPrompt
      tools {
        name
        description
        inputSchema
      }
    }
  }
`);

export const UPDATE_AGENT = doc<
  { updateAgent: AgentView },
  {
    id: string;
    input: { name?: string; systemPrompt?: string; model?: string | null; tools?: ToolDefinitionArgs[] };
  }
>(/* GraphQL */ `
  mutation ($id: ID!, $input: UpdateAgentInput!) {
    updateAgent(id: $id, input: $input) {
      id
      name
      model
      systemPrompt
      tools {
        name
        description
        inputSchema
      }
    }
  }
`);

export const DELETE_AGENT = doc<{ deleteAgent: boolean }, { id: string }>(/* GraphQL */ `
  mutation ($id: ID!) {
    deleteAgent(id: $id)
  }
`);

export const AGENTS = doc<{ agents: AgentView[] }>(/* GraphQL */ `
  {
    agents {
      id
      name
      model
      systemPrompt
      tools {
        name
        description
        inputSchema
      }
    }
  }
`);

// ---------------------------------------------------------------------------------------------
// Audit and usage

export interface AuditEventView {
  id: string;
  seq: number;
  at: string;
  tenantId: string | null;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: 'SUCCESS' | 'DENIED' | 'FAILURE';
  requestId: string | null;
  ip: string | null;
  detail: string | null;
  hash: string;
}

export interface AuditFilterArgs {
  action?: string;
  actorId?: string;
  targetId?: string;
  since?: string;
  until?: string;
  tenantId?: string;
}

export interface AuditPage {
  edges: Array<{ cursor: string; node: AuditEventView }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const AUDIT_EVENTS = doc<
  { auditEvents: AuditPage },
  { filter?: AuditFilterArgs | null; first?: number; after?: string | null }
>(/* GraphQL */ `
  query ($filter: AuditFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          seq
          at
          tenantId
          actorId
          action
          targetType
          targetId
          outcome
          requestId
          ip
          detail
          hash
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export interface AuditVerification {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
}

export const VERIFY_AUDIT_LOG = doc<{ verifyAuditLog: AuditVerification }>(/* GraphQL */ `
  {
    verifyAuditLog {
      ok
      checked
      firstBrokenSeq
    }
  }
`);

export const VERIFY_AUDIT_LOG_OF = doc<{ verifyAuditLog: AuditVerification }, { tenantId: string | null }>(
  /* GraphQL */ `
    query ($tenantId: ID) {
      verifyAuditLog(tenantId: $tenantId) {
        ok
        checked
        firstBrokenSeq
      }
    }
  `,
);

export interface UsageBucketView {
  userId: string | null;
  model: string | null;
  keySource: string | null;
  day: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export const USAGE = doc<
  { usage: UsageBucketView[] },
  { filter?: Record<string, unknown> | null; groupBy?: Array<'USER' | 'MODEL' | 'KEY_SOURCE' | 'DAY'> | null }
>(/* GraphQL */ `
  query ($filter: UsageFilter, $groupBy: [UsageDimension!]) {
    usage(filter: $filter, groupBy: $groupBy) {
      userId
      model
      keySource
      day
      requests
      inputTokens
      outputTokens
      costUsd
    }
  }
`);
