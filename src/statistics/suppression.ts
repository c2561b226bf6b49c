// Small-count suppression of a published table (pure). Rows are services, columns are periods
// (months, or one column for « the last 30 days »); each row, each column and the whole table
// have a total.
//
// 1. Primary: a nonzero cell below the threshold is shown as « < n ». Zeros are published (« no
//    one » reveals nothing about a person).
// 2. A column total (a period, over all services) is hidden as soon as one of its cells is: every
//    service knows its own figures, so a published total minus its own figure would give another
//    service's hidden one. Likewise the grand total once a column total is hidden.
// 3. Complementary: a line (a row or a column with its total, the row totals with the grand total,
//    the column totals with the grand total) with exactly one hidden figure gets a second one
//    hidden — its smallest published nonzero figure, else its total — so that no subtraction
//    isolates it. Steps 2 and 3 repeat until nothing changes.

export interface Cell {
  value: number;
  suppressed: boolean;
}

export interface PublishedTable {
  /** cells[row][column] */
  cells: Cell[][];
  rowTotals: Cell[];
  colTotals: Cell[];
  total: Cell;
}

export function suppressTable(values: readonly (readonly number[])[], minCount: number): PublishedTable {
  const small = (v: number) => v > 0 && v < minCount;
  const rows = values.length;
  const cols = rows ? values[0]!.length : 0;
  const cells: Cell[][] = values.map((row) => row.map((v) => ({ value: v, suppressed: small(v) })));
  const rowTotals: Cell[] = values.map((row) => {
    const v = row.reduce((a, b) => a + b, 0);
    return { value: v, suppressed: small(v) };
  });
  const colTotals: Cell[] = Array.from({ length: cols }, (_, c) => {
    const v = values.reduce((a, row) => a + row[c]!, 0);
    return { value: v, suppressed: small(v) };
  });
  const grand = rowTotals.reduce((a, t) => a + t.value, 0);
  const total: Cell = { value: grand, suppressed: small(grand) };

  const hide = (cell: Cell): boolean => {
    if (cell.suppressed) return false;
    cell.suppressed = true;
    return true;
  };
  // `line` ends with its total.
  const complement = (line: Cell[]): boolean => {
    if (line.filter((c) => c.suppressed).length !== 1) return false;
    const next = line.filter((c) => !c.suppressed && c.value > 0).sort((a, b) => a.value - b.value)[0] ?? line[line.length - 1]!;
    return hide(next);
  };

  for (let changed = true; changed;) {
    changed = false;
    for (let c = 0; c < cols; c++) if (cells.some((row) => row[c]!.suppressed)) changed = hide(colTotals[c]!) || changed;
    if (colTotals.some((t) => t.suppressed)) changed = hide(total) || changed;
    for (let r = 0; r < rows; r++) changed = complement([...cells[r]!, rowTotals[r]!]) || changed;
    for (let c = 0; c < cols; c++) changed = complement([...cells.map((row) => row[c]!), colTotals[c]!]) || changed;
    changed = complement([...rowTotals, total]) || changed;
    changed = complement([...colTotals, total]) || changed;
  }
  return { cells, rowTotals, colTotals, total };
}

/** How a figure is published: the number, or « < n ». */
export const showCell = (cell: Cell, minCount: number): string => (cell.suppressed ? `< ${minCount}` : String(cell.value));
