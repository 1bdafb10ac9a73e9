import type { Principal } from '../../../../src/auth/principal';
import type { OperationFacts } from '../../../../src/observability/operation-log';
import { operationKey, OperationTracker } from '../../../../src/server/ws/operation-tracker';

function tracker() {
  let clock = 1_000;
  const ended: OperationFacts[] = [];
  const operations = new OperationTracker(
    (facts) => ended.push(facts),
    () => clock,
  );
  return { operations, ended, advance: (ms: number) => (clock += ms) };
}

describe('OperationTracker', () => {
  test('a finished operation is reported once, with what was learnt of it and its duration', () => {
    const { operations, ended, advance } = tracker();
    const tracked = operations.start('s:1', 'req-1', 'Chat');
    tracked.type = 'subscription';
    tracked.resolved = true;
    tracked.principal = { tenantId: 't', userId: 'u' } as Principal;
    tracked.errorCodes.push('FORBIDDEN');
    advance(42);
    operations.finish('s:1');
    operations.finish('s:1');
    expect(ended).toEqual([
      {
        transport: 'ws',
        operationName: 'Chat',
        operationType: 'subscription',
        resolved: true,
        requestId: 'req-1',
        principal: { tenantId: 't', userId: 'u' },
        durationMs: 42,
        errorCodes: ['FORBIDDEN'],
      },
    ]);
  });

  test('an operation that never resolved is reported as such', () => {
    const { operations, ended } = tracker();
    operations.start('s:1', 'req-1', null);
    operations.finish('s:1');
    expect(ended[0]).toMatchObject({
      operationName: null,
      operationType: null,
      resolved: false,
      principal: null,
      errorCodes: [],
    });
  });

  test('operations are found by key until they finish; unknown keys are ignored', () => {
    const { operations, ended } = tracker();
    const tracked = operations.start('s:1', 'req-1', null);
    expect(operations.get('s:1')).toBe(tracked);
    operations.finish('s:2');
    expect(ended).toEqual([]);
    operations.finish('s:1');
    expect(operations.get('s:1')).toBeUndefined();
  });

  test('without a listener, finishing only forgets the operation', () => {
    const operations = new OperationTracker(undefined);
    operations.start('s:1', 'req-1', null);
    operations.finish('s:1');
    expect(operations.get('s:1')).toBeUndefined();
  });
});

describe('operationKey', () => {
  test('the same subscription id on two sockets gives two keys; on one socket, the same key', () => {
    const a = {};
    const b = {};
    expect(operationKey(a, '1')).toBe(operationKey(a, '1'));
    expect(operationKey(a, '1')).not.toBe(operationKey(b, '1'));
    expect(operationKey(a, '1')).not.toBe(operationKey(a, '2'));
  });
});
