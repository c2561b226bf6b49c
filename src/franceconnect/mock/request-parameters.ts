/** A request refused for the names of its parameters, before any value is looked at. */
export interface ParameterRefusal {
  kind: 'page';
  reason: 'unknown_parameter' | 'duplicate_parameter' | 'missing_parameter';
  parameter: string;
}

/**
 * FranceConnect's first check on /authorize and /session/end: no parameter outside the list,
 * none repeated, none of the required ones missing or empty.
 */
export function checkParameterNames(
  params: URLSearchParams,
  allowed: ReadonlySet<string>,
  required: readonly string[],
): ParameterRefusal | undefined {
  for (const name of new Set(params.keys())) {
    if (!allowed.has(name)) return { kind: 'page', reason: 'unknown_parameter', parameter: truncate(name) };
    if (params.getAll(name).length > 1) return { kind: 'page', reason: 'duplicate_parameter', parameter: name };
  }
  const missing = required.find((name) => !params.get(name));
  return missing === undefined ? undefined : { kind: 'page', reason: 'missing_parameter', parameter: missing };
}

/** Splits a space-separated list as FranceConnect does (runs of spaces, no empty items). */
export function splitList(value: string): string[] {
  return value.split(/ +/).filter((item) => item !== '');
}

/** Unknown parameter names are echoed on the error page: keep them short. */
function truncate(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}
