// The bench's CPU per operation (bench/cpu.ts) is read per thread: a PostgreSQL backend that a
// pool closes during a round gave that round a negative PostgreSQL figure when groups were summed.
import { describe, expect, it } from 'vitest';
import { cpuPerOperation, type CpuReading } from '../../bench/cpu.js';

const reading = (threads: Record<string, [group: 'PostgreSQL' | 'server main thread', seconds: number]>): CpuReading =>
  new Map(Object.entries(threads).map(([id, [group, seconds]]) => [id, { group, seconds }]));

describe('CPU per operation between two readings', () => {
  it('does not take a finished thread’s past out of its group', () => {
    const before = reading({ '10/10': ['PostgreSQL', 5], '11/11': ['PostgreSQL', 1], '20/20': ['server main thread', 2] });
    // Backend 10 ended (its 5 s are gone from the second reading), backend 12 started.
    const after = reading({ '11/11': ['PostgreSQL', 1.5], '12/12': ['PostgreSQL', 0.25], '20/20': ['server main thread', 3] });
    const ms = cpuPerOperation(before, after, 100);
    expect(ms.PostgreSQL).toBe(7.5); // (0.5 + 0.25) s over 100 operations
    expect(ms['server main thread']).toBe(10);
  });

  it('adds what a process reported apart, and nothing for no operation', () => {
    const same = reading({ '20/20': ['server main thread', 2] });
    expect(cpuPerOperation(same, same, 50, { 'load generator': 0.1 })['load generator']).toBe(2);
    expect(cpuPerOperation(same, same, 0)['server main thread']).toBe(0);
  });
});
