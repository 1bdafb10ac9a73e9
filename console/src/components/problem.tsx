import type { Explained } from '../errors';

/** An error in words with the next step as a link. */
export function Problem({ problem }: { problem: Explained | null }) {
  if (!problem) return null;
  return (
    <p class="problem" role="alert">
      {problem.text}
      {problem.next && (
        <>
          {' '}
          <a href={problem.next.href}>{problem.next.label}</a>
        </>
      )}
      <span class="code"> ({problem.code})</span>
    </p>
  );
}
