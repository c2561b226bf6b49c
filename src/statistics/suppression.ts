// Small-count suppression of a published table (pure). A cell below the threshold is shown as
// « < n ». So that no suppressed cell can be recovered by subtraction from a published total,
// each row and each column that has exactly one suppressed cell gets a second one suppressed
// (its smallest remaining nonzero cell, or else its total), repeated until stable: then every
// line's total minus its published cells leaves at least two unknowns. Zeros are published:
// « nobody » at a service reveals nothing about a person and protects nobody once hidden.

export type Cell = { value: number; suppressed: boolean };

export interface PublishedTable {
  /** cells[r][c] */
  cells: Cell[][];
  rowTotals: Cell[];
  colTotals: Cell[];
  total: Cell;
}

const open = (value: number): Cell => ({ value, suppressed: false });

/** Applies primary then complementary suppression to a table of counts (rows × columns). */
export function suppressTable(values: readonly (readonly number[])[], minCount: number): PublishedTable {
  const rows = values.length;
  const cols = rows ? values[0]!.length : 0;
  const cells: Cell[][] = values.map((row) => row.map((v) => ({ value: v, suppressed: v > 0 && v < minCount })));
  const rowSums = values.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = Array.from({ length: cols }, (_, c) => values.reduce((a, row) => a + row[c]!, 0));
  const grand = rowSums.reduce((a, b) => a + b, 0);
  const rowTotals = rowSums.map((v) => ({ value: v, suppressed: v > 0 && v < minCount }));
  const colTotals = colSums.map((v) => ({ value: v, suppressed: v > 0 && v < minCount }));
  const total: Cell = { value: grand, suppressed: grand > 0 && grand < minCount };

  // One line: its cells plus its total. With exactly one hidden among them, it can be recovered.
  const fixLine = (line: Cell[]): boolean => {
    const hidden = line.filter((c) => c.suppressed).length;
    if (hidden !== 1) return false;
    const candidates = line.filter((c) => !c.suppressed && c.value > 0).sort((a, b) => a.value - b.value);
    // Cells before the total (the last): the smallest published cell, or the total.
    const next = candidates[0] ?? line[line.length - 1]!;
    if (next.suppressed) return false;
    next.suppressed = true;
    return true;
  };

  for (let changed = true; changed;) {
    changed = false;
    for (let r = 0; r < rows; r++) changed = fixLine([...cells[r]!, rowTotals[r]!]) || changed;
    for (let c = 0; c < cols; c++) changed = fixLine([...cells.map((row) => row[c]!), colTotals[c]!]) || changed;
    changed = fixLine([...rowTotals, total]) || changed;
    changed = fixLine([...colTotals, total]) || changed;
  }
  return { cells, rowTotals, colTotals, total };
}

/** How a cell is published: the figure, or « < n ». */
export const showCell = (cell: Cell, minCount: number): string => (cell.suppressed ? `< ${minCount}` : String(cell.value));

export { open as openCell };
