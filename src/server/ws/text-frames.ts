/** FIN set, opcode 1: a whole text message in one frame. */
const FINAL_TEXT_FRAME = 0x81;
const LONGEST_SHORT_LENGTH = 125;
const LONGEST_16_BIT_LENGTH = 0xffff;

/**
 * Text messages as the WebSocket frames a server sends for them (RFC 6455 §5.2: unmasked, one
 * frame each, no extension bits), one after another in one buffer: the bytes ws's Sender would
 * write for each `send` of a string on a socket without permessage-deflate, in one write and
 * one allocation instead of a header buffer, a write request and an iovec per message.
 */
export function textFrames(messages: readonly string[]): Buffer {
  const lengths = new Array<number>(messages.length);
  let size = 0;
  for (let index = 0; index < messages.length; index++) {
    const length = Buffer.byteLength(messages[index]);
    lengths[index] = length;
    size += headerSize(length) + length;
  }
  const frames = Buffer.allocUnsafe(size);
  let at = 0;
  for (let index = 0; index < messages.length; index++) {
    const length = lengths[index];
    frames[at++] = FINAL_TEXT_FRAME;
    if (length <= LONGEST_SHORT_LENGTH) {
      frames[at++] = length;
    } else if (length <= LONGEST_16_BIT_LENGTH) {
      frames[at++] = 126;
      at = frames.writeUInt16BE(length, at);
    } else {
      frames[at++] = 127;
      at = frames.writeBigUInt64BE(BigInt(length), at);
    }
    at += frames.write(messages[index], at, length, 'utf8');
  }
  return frames;
}

function headerSize(length: number): number {
  if (length <= LONGEST_SHORT_LENGTH) return 2;
  return length <= LONGEST_16_BIT_LENGTH ? 4 : 10;
}
