export enum MessageRole {
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
}
