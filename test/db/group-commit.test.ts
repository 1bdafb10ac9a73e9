import { GroupCommit } from '../../src/db/group-commit';

/** A writer that records each batch it is given and takes `ms` per write. */
function recordingWriter(ms = 5, failOn?: (job: number) => boolean) {
  const batches: number[][] = [];
  const write = async (jobs: number[]) => {
    batches.push([...jobs]);
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (failOn && jobs.some(failOn)) throw new Error(`job ${jobs.find(failOn)} is bad`);
  };
  return { batches, write };
}

test('a job submitted alone is written at once, in a batch of its own', async () => {
  const writer = recordingWriter();
  const commits = new GroupCommit(writer.write);
  await commits.submit(1);
  await commits.submit(2);
  expect(writer.batches).toEqual([[1], [2]]);
});

test('jobs submitted while a write runs are written together by the next write', async () => {
  const writer = recordingWriter(20);
  const commits = new GroupCommit(writer.write);
  const first = commits.submit(0);
  const rest = Array.from({ length: 10 }, (_, i) => commits.submit(i + 1));
  await Promise.all([first, ...rest]);
  expect(writer.batches).toEqual([[0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
});

test('batches are capped at maxBatch jobs', async () => {
  const writer = recordingWriter(10);
  const commits = new GroupCommit(writer.write, 4);
  await Promise.all(Array.from({ length: 10 }, (_, i) => commits.submit(i)));
  // The first job goes out alone, at once; the rest queue up behind it.
  expect(writer.batches.map((batch) => batch.length)).toEqual([1, 4, 4, 1]);
  expect(writer.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('when a batch fails, each job is retried alone: only the bad one fails', async () => {
  const writer = recordingWriter(5, (job) => job === 3);
  const commits = new GroupCommit(writer.write);
  const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => commits.submit(i)));
  expect(results.map((result) => result.status)).toEqual([
    'fulfilled',
    'fulfilled',
    'fulfilled',
    'rejected',
    'fulfilled',
    'fulfilled',
  ]);
  expect((results[3] as PromiseRejectedResult).reason).toEqual(new Error('job 3 is bad'));
  // [0] alone, then [1..5] together (failed), then each of 1..5 alone.
  expect(writer.batches[1]).toEqual([1, 2, 3, 4, 5]);
  expect(writer.batches.slice(2).map((batch) => batch.length)).toEqual([1, 1, 1, 1, 1]);
});

test('the queue keeps working after a failure', async () => {
  const writer = recordingWriter(1, (job) => job === 0);
  const commits = new GroupCommit(writer.write);
  await expect(commits.submit(0)).rejects.toThrow('job 0 is bad');
  await expect(commits.submit(1)).resolves.toBeUndefined();
});

test('a write that answers each job resolves every submitter with its own answer, batched or retried alone', async () => {
  const batches: number[][] = [];
  const commits = new GroupCommit<number, string>(async (jobs) => {
    batches.push(jobs);
    if (jobs.includes(13) && jobs.length > 1) throw new Error('batch refused');
    await new Promise((resolve) => setImmediate(resolve));
    return jobs.map((job) => `answer ${job}`);
  });
  const answers = await Promise.all([1, 2, 13, 4].map((job) => commits.submit(job)));
  expect(answers).toEqual(['answer 1', 'answer 2', 'answer 13', 'answer 4']);
  expect(batches[0]).toEqual([1]);
  expect(batches.some((batch) => batch.length > 1)).toBe(true);
});
