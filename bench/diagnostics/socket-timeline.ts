/**
 * A diagnostic preload, not a benchmark: it timestamps every read and write on the gateway's
 * sockets, chat by chat, to show where one chat's time goes (which hop, which wait). Chats must
 * not overlap, so drive the gateway at concurrency 1.
 *
 *   node -r ./dist/bench/diagnostics/socket-timeline.js dist/src/main.js
 *
 * or, for a harness that starts the gateway itself, NODE_OPTIONS="-r <that path>": it stays
 * inactive in every process that is not the gateway. When the gateway exits it writes
 * KEYWARD_TIMELINE_OUT (default socket-timeline.txt): how many reads and writes a chat made on
 * each kind of socket, and the median time of each one after the chat's subscribe message.
 *
 * Sockets are told apart by port: the database's (DATABASE_URL, default 5432), the upstreams'
 * (ANTHROPIC_BASE_URL, OPENAI_BASE_URL, OPENROUTER_BASE_URL) and the gateway's own (PORT) for
 * clients. A chat starts with a client read of at least 100 bytes (a subscribe message; client
 * frames are masked, so their text cannot be read) and ends with the write of its `complete`.
 * It wraps two methods private to node:net (`_writeGeneric`, `push`) and is only for measuring.
 */
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

type Mark = [label: string, ms: number];

interface ChatTimeline {
  startedAt: number;
  marks: Mark[];
}

/** Chats before this many are start-up and warm-up, left out of the medians. */
const WARM_UP_CHATS = 50;
const SUBSCRIBE_MIN_BYTES = 100;

const isGateway = /dist\/src\/main\.js$/.test(process.argv[1] ?? '');
if (isGateway) install();

function install(): void {
  const portOf = (url: string | undefined, defaultPort: number): number | null => {
    if (!url) return null;
    const parsed = new URL(url);
    if (parsed.port) return Number(parsed.port);
    return parsed.protocol === 'http:' ? 80 : parsed.protocol === 'https:' ? 443 : defaultPort;
  };
  const databasePort = portOf(process.env.DATABASE_URL, 5432) ?? 5432;
  const upstreamPorts = new Set(
    [process.env.ANTHROPIC_BASE_URL, process.env.OPENAI_BASE_URL, process.env.OPENROUTER_BASE_URL]
      .map((url) => portOf(url, 443))
      .filter((port): port is number => port !== null),
  );
  const gatewayPort = Number(process.env.PORT ?? 4000);
  const kindOf = (socket: Socket): string =>
    socket.remotePort === databasePort
      ? 'db'
      : upstreamPorts.has(socket.remotePort ?? -1)
        ? 'upstream'
        : socket.localPort === gatewayPort
          ? 'client'
          : 'other';

  const done: ChatTimeline[] = [];
  let open: ChatTimeline | null = null;
  const mark = (label: string) => open?.marks.push([label, performance.now() - open.startedAt]);

  type WriteGeneric = (writev: boolean, data: unknown, encoding: string, callback: () => void) => unknown;
  const internals = Socket.prototype as unknown as { _writeGeneric: WriteGeneric; push: Socket['push'] };
  const writeGeneric = internals._writeGeneric;
  internals._writeGeneric = function (this: Socket, writev, data, encoding, callback) {
    const kind = kindOf(this);
    if (kind !== 'client') mark(`${kind} write`);
    else {
      const chunks = writev ? (data as Array<{ chunk: Buffer | string }>).map((entry) => entry.chunk) : [data];
      const text = chunks.map(String).join('');
      if (open && text.includes('"type":"complete"')) {
        mark('client write (end)');
        done.push(open);
        open = null;
      } else mark(`client write${text.includes('ChatStarted') ? ' (ChatStarted)' : ''}`);
    }
    return writeGeneric.call(this, writev, data, encoding, callback);
  };
  const push = internals.push;
  internals.push = function (this: Socket, chunk: Buffer | null, encoding?: BufferEncoding) {
    if (chunk) {
      const kind = kindOf(this);
      if (kind === 'client' && !open && chunk.length >= SUBSCRIBE_MIN_BYTES) {
        open = { startedAt: performance.now(), marks: [] };
      } else mark(`${kind} read`);
    }
    return push.call(this, chunk, encoding);
  };

  process.on('exit', () => {
    writeFileSync(process.env.KEYWARD_TIMELINE_OUT ?? 'socket-timeline.txt', report(done.slice(WARM_UP_CHATS)));
  });
}

/** Per chat counts, then the median time of each n-th event present in at least half of the chats. */
function report(chats: ChatTimeline[]): string {
  if (chats.length === 0) return `no chats after the first ${WARM_UP_CHATS}\n`;
  const counts = new Map<string, number>();
  const times = new Map<string, number[]>();
  for (const chat of chats) {
    const seen = new Map<string, number>();
    for (const [label, ms] of chat.marks) {
      const kind = label.replace(/ \(.*\)$/, '');
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      const nth = (seen.get(label) ?? 0) + 1;
      seen.set(label, nth);
      const key = `${label} #${nth}`;
      const earlier = times.get(key);
      if (earlier) earlier.push(ms);
      else times.set(key, [ms]);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const rows = [...times]
    .filter(([, values]) => values.length >= chats.length / 2)
    .map(([key, values]) => [key, median(values)] as const)
    .sort((a, b) => a[1] - b[1]);
  const perChat = [...counts].map(([kind, count]) => `${kind} ${(count / chats.length).toFixed(2)}`).join(', ');
  return [
    `${chats.length} chats (the first ${WARM_UP_CHATS} left out); per chat: ${perChat}`,
    'median ms after the subscribe message:',
    ...rows.map(([key, ms]) => `${ms.toFixed(3).padStart(8)}  ${key}`),
    '',
  ].join('\n');
}
