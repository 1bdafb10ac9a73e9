interface Pending<J, R> {
  job: J;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: jobs submitted while a write is running are written together by the next one,
 * so under load many chats share one transaction (one commit, one statement per table) and
 * alone a job is written at once. `write` must write all of its jobs or none. When a batch
 * fails, each of its jobs is tried on its own, so one bad job fails alone. A write may answer
 * each job (`R`): its results, in the order of the jobs.
 */
export class GroupCommit<J, R = void> {
  private queue: Array<Pending<J, R>> = [];
  private running = false;

  constructor(
    private readonly write: (jobs: J[]) => Promise<R[] | void>,
    private readonly maxBatch = 200,
  ) {}

  submit(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.write(batch.map((pending) => pending.job));
          batch.forEach((pending, index) => pending.resolve(results?.[index] as R));
        } catch (error) {
          if (batch.length === 1) batch[0].reject(error);
          else await Promise.all(batch.map((pending) => this.writeAlone(pending)));
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async writeAlone(pending: Pending<J, R>): Promise<void> {
    try {
      const results = await this.write([pending.job]);
      pending.resolve(results?.[0] as R);
    } catch (error) {
      pending.reject(error);
    }
  }
}
