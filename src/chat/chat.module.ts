import type { GatewayModule } from '../common/gateway-module';
import { ChatResolver } from './chat.resolver';
import { ToolResultsResolver } from './tool-results.resolver';
import type { ToolResults } from './tool-results';

/**
 * The chat subscription, whose resolver holds nothing (the stream starts from the context, see
 * ChatResolver), and the mutation that answers a chat's tool calls.
 */
export const chatModule: GatewayModule<{ toolResults: ToolResults }> = {
  name: 'chat',
  entities: [],
  resolvers: [ChatResolver, ToolResultsResolver],
  createResolvers: ({ toolResults }) => [new ChatResolver(), new ToolResultsResolver(toolResults)],
};
