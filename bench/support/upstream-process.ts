import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BenchFormat } from './chat-clients';

export interface UpstreamProcess {
  baseURL: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The upstream child (./upstream-child.js) of `format`, streaming `tokens` text deltas, once it listens. */
export async function startUpstreamProcess(format: BenchFormat, tokens: number): Promise<UpstreamProcess> {
  // The child also stops when its stdin closes, so it never outlives the bench.
  const child = spawn(process.execPath, [join(__dirname, 'upstream-child.js'), format, String(tokens)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await Promise.race([
    (async () => {
      for await (const first of createInterface({ input: child.stdout! })) return first;
      return '';
    })(),
    exited.then(() => ''),
  ]);
  if (!line) throw new Error('the upstream child exited before listening');
  const { baseURL } = JSON.parse(line) as { baseURL: string };
  return {
    baseURL,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
