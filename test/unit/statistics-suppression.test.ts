// Small-count suppression (issue 14): no figure below the threshold is published, and none can be
// recovered by subtraction — checked here by brute force: every hidden figure must be undetermined
// by the published ones together with what one service knows of its own row.
import { describe, expect, it } from 'vitest';
import { suppressTable, showCell, type PublishedTable } from '../../src/statistics/suppression.js';

const hiddenMap = (t: PublishedTable) => ({
  cells: t.cells.map((r) => r.map((c) => c.suppressed)),
  rows: t.rowTotals.map((c) => c.suppressed),
  cols: t.colTotals.map((c) => c.suppressed),
  total: t.total.suppressed,
});

function rank(m: number[][]): number {
  const a = m.map((r) => [...r]);
  let r = 0;
  for (let c = 0; c < (a[0]?.length ?? 0) && r < a.length; c++) {
    const p = a.findIndex((row, i) => i >= r && Math.abs(row[c]!) > 1e-9);
    if (p < 0) continue;
    [a[r], a[p]] = [a[p]!, a[r]!];
    for (let i = 0; i < a.length; i++) {
      if (i === r) continue;
      const f = a[i]![c]! / a[r]![c]!;
      if (f) a[i] = a[i]!.map((v, j) => v - f * a[r]![j]!);
    }
    r++;
  }
  return r;
}

/**
 * The hidden figures that the published table determines exactly, for someone who also knows the
 * figures of row `knownRow` (a service knows its own): linear algebra over the table's additive
 * equations (each row, each column, the totals) — a figure is recoverable iff its unit vector is
 * in the span of the equations restricted to the unknowns.
 */
function recoverable(t: PublishedTable, knownRow?: number): string[] {
  const R = t.cells.length;
  const C = t.colTotals.length;
  const figures: { name: string; cell: { suppressed: boolean; value: number }; known: boolean }[] = [];
  const idx = new Map<string, number>();
  const add = (name: string, cell: { suppressed: boolean; value: number }, known: boolean) => {
    idx.set(name, figures.length);
    figures.push({ name, cell, known });
  };
  t.cells.forEach((row, r) => row.forEach((cell, c) => add(`c${r},${c}`, cell, r === knownRow)));
  t.rowTotals.forEach((cell, r) => add(`r${r}`, cell, r === knownRow));
  t.colTotals.forEach((cell, c) => add(`k${c}`, cell, false));
  add('g', t.total, false);
  const unknowns = figures.map((f, i) => (f.cell.suppressed && !f.known ? i : -1)).filter((i) => i >= 0);
  const eqs: string[][] = [
    ...Array.from({ length: R }, (_, r) => [...Array.from({ length: C }, (_, c) => `c${r},${c}`), `-r${r}`]),
    ...Array.from({ length: C }, (_, c) => [...Array.from({ length: R }, (_, r) => `c${r},${c}`), `-k${c}`]),
    [...Array.from({ length: R }, (_, r) => `r${r}`), '-g'],
    [...Array.from({ length: C }, (_, c) => `k${c}`), '-g'],
  ];
  const matrix = eqs.map((eq) => {
    const row = unknowns.map(() => 0);
    for (const term of eq) {
      const neg = term.startsWith('-');
      const j = unknowns.indexOf(idx.get(neg ? term.slice(1) : term)!);
      if (j >= 0) row[j]! += neg ? -1 : 1;
    }
    return row;
  });
  const base = rank(matrix);
  return unknowns
    .filter((_, j) => rank([...matrix, unknowns.map((__, k) => (k === j ? 1 : 0))]) === base)
    .map((i) => figures[i]!.name)
    .filter((name) => {
      // What must never be recovered: a figure below the threshold (a complement may be). A
      // service that knows its own row may learn a total that is then its own figure (all the
      // others published as 0): what it must not learn is another service's figure.
      const v = figures[idx.get(name)!]!.cell.value;
      if (knownRow !== undefined && (name === 'g' || name.startsWith('k'))) return false;
      return v > 0 && v < 10;
    });
}

/** No hidden figure can be recovered, by the public nor by any one service. */
function nothingSmallRecoverable(t: PublishedTable, knownRow?: number): void {
  expect(recoverable(t, knownRow)).toEqual([]);
}

describe('suppressTable', () => {
  it('publishes everything when no figure is small, and zeros as zeros', () => {
    const t = suppressTable(
      [
        [12, 0],
        [30, 45],
      ],
      10,
    );
    expect(hiddenMap(t)).toEqual({
      cells: [
        [false, false],
        [false, false],
      ],
      rows: [false, false],
      cols: [false, false],
      total: false,
    });
    expect(t.total.value).toBe(87);
  });

  it('hides a small cell, its column total (each service knows its own figure), and a complement in its row', () => {
    // Two services × two months; the pool had 3 refusals in month 2.
    const t = suppressTable(
      [
        [20, 3],
        [40, 15],
      ],
      10,
    );
    expect(showCell(t.cells[0]![1]!, 10)).toBe('< 10');
    expect(t.colTotals[1]!.suppressed).toBe(true); // 18 − the other service's own 15 would give 3
    expect(t.cells[0]![0]!.suppressed || t.rowTotals[0]!.suppressed).toBe(true); // row: 23 − 20 would give 3
    nothingSmallRecoverable(t);
    nothingSmallRecoverable(t, 1); // the second service knows its own row
  });

  it('the 3 refusals of one service in a one-column table (the last 30 days)', () => {
    const t = suppressTable([[3], [50], [120]], 10);
    expect(t.cells[0]![0]!.suppressed).toBe(true);
    expect(t.colTotals[0]!.suppressed).toBe(true);
    expect(t.total.suppressed).toBe(true);
    // Row totals equal the cells here: the first is hidden too, the grand total with it.
    expect(t.rowTotals[0]!.suppressed).toBe(true);
    for (const known of [undefined, 1, 2]) nothingSmallRecoverable(t, known);
  });

  it('a total below the threshold is hidden even when its cells are zeros and one small one', () => {
    const t = suppressTable([[0, 0, 4]], 10);
    expect(t.rowTotals[0]!.suppressed).toBe(true);
    expect(t.total.suppressed).toBe(true);
    nothingSmallRecoverable(t);
  });

  it('random tables: no figure below the threshold published, none recoverable by the public or by any one service', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const rows = 1 + rnd(5);
      const cols = 1 + rnd(6);
      const values = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rnd(3) === 0 ? rnd(10) : rnd(60))));
      const t = suppressTable(values, 10);
      const all = [...t.cells.flat(), ...t.rowTotals, ...t.colTotals, t.total];
      for (const c of all) if (c.value > 0 && c.value < 10) expect(c.suppressed).toBe(true);
      for (let known = -1; known < rows; known++) nothingSmallRecoverable(t, known < 0 ? undefined : known);
    }
  });
});
