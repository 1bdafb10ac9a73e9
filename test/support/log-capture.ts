import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/common/logger';

/** A real pino logger writing into memory, so tests can search what the gateway logged. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;

  constructor(level = 'debug') {
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    this.logger = createLogger(level, sink);
  }

  get text(): string {
    return this.lines.join('\n');
  }

  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
