/** Extended-query protocol messages that belong to a batch ending with Sync (S). */
const EXTENDED_QUERY_MESSAGES = new Set([
  0x50, // P Parse
  0x42, // B Bind
  0x44, // D Describe
  0x45, // E Execute
  0x43, // C Close
  0x48, // H Flush
]);

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData(data: Uint8Array): void;
  resolve(bytes: number): void;
  reject(error: unknown): void;
}

/** The internals of pglite-socket 0.2.17's QueryQueueManager this patch relies on. */
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(run: () => Promise<T>): Promise<T>;
    execProtocolRawStream(message: Uint8Array, options: { onRawData(data: Uint8Array): void }): Promise<unknown>;
  };
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/**
 * PGlite is one PostgreSQL session behind a socket shared by every connection, and
 * pglite-socket (0.2.17) queues each protocol message on its own. node-postgres sends a
 * parameterised query as Parse/Bind/Describe/Execute/Sync, so two connections' messages could
 * interleave — one connection's parameters bound to another's statement, or one reading
 * another's rows. This queue keeps a connection's extended-query batch together until its Sync
 * (and, as before, a transaction with its connection), and never leaves the queue stuck when a
 * message fails or a connection goes away mid-batch.
 */
export function keepProtocolBatchesTogether(server: object): void {
  const queue = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  if (!queue || typeof queue.processQueue !== 'function' || !Array.isArray(queue.queue)) {
    throw new Error('pglite-socket internals changed: review src/db/pglite-batch-queue.ts for this version');
  }
  let batchOwner: number | null = null;

  queue.processQueue = async function processQueue(this: QueryQueue): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = batchOwner ?? (this.db.isInTransaction() ? this.lastHandlerId : null);
        const index = owner === null ? 0 : this.queue.findIndex((entry) => entry.handlerId === owner);
        if (index === -1) break; // the owner's next message has not arrived yet
        const [item] = this.queue.splice(index, 1);
        batchOwner = EXTENDED_QUERY_MESSAGES.has(item.message[0]) ? item.handlerId : null;
        this.lastHandlerId = item.handlerId;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          item.reject(error);
          continue;
        }
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };

  const clearQueueForHandler = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number) => {
    clearQueueForHandler(handlerId);
    if (batchOwner === handlerId) batchOwner = null;
    void queue.processQueue();
  };
}
