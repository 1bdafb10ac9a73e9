export enum MessageRole {
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
  /** The client's results of the assistant's tool calls just before it (`toolResults`). */
  TOOL = 'TOOL',
}
