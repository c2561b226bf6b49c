// INSEE commune codes with their names, from @etalab/decoupage-administratif (the « code officiel
// géographique » published by INSEE, maintained by Etalab, one package version per year).
// Municipal arrondissements (Lyon, Paris, Marseille), delegated and associated communes and the
// former codes of merged communes are known too: FranceConnect gives the birthplace as the code
// of the commune at the time of birth. Loaded once, on first use (the file is 8 MB).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface InseeCommune {
  code: string;
  name: string;
  departement: string;
  /** Current code of the commune this one is part of now, when it is a former or delegated commune. */
  partOf?: string;
  former?: boolean;
}

interface RawCommune {
  code: string;
  nom: string;
  type: string;
  departement?: string;
  commune?: string;
  chefLieu?: string;
  anciensCodes?: string[];
  codesPostaux?: string[];
}

interface Index {
  byCode: Map<string, InseeCommune>;
  byName: Map<string, InseeCommune[]>;
  postalCodes: Set<string>;
}

let index: Index | undefined;

export function normaliseName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[’'`\-‐–]/g, ' ')
    .replace(/\bst\b/g, 'saint')
    .replace(/\bste\b/g, 'sainte')
    .replace(/\s+/g, ' ')
    .trim();
}

function load(): Index {
  if (index) return index;
  const require = createRequire(import.meta.url);
  const raw = JSON.parse(readFileSync(require.resolve('@etalab/decoupage-administratif/data/communes.json'), 'utf8')) as RawCommune[];
  const byCode = new Map<string, InseeCommune>();
  const byName = new Map<string, InseeCommune[]>();
  const postalCodes = new Set<string>();
  const rank = (type: string) => (type === 'commune-actuelle' || type === 'arrondissement-municipal' ? 0 : 1);
  for (const c of [...raw].sort((a, b) => rank(a.type) - rank(b.type))) {
    c.codesPostaux?.forEach((p) => postalCodes.add(p));
    const entry: InseeCommune = { code: c.code, name: c.nom, departement: c.departement ?? c.code.slice(0, 2) };
    if (c.type === 'commune-deleguee' || c.type === 'commune-associee') entry.partOf = c.chefLieu;
    if (!byCode.has(c.code)) byCode.set(c.code, entry);
    const key = normaliseName(c.nom);
    const list = byName.get(key) ?? [];
    if (!list.some((x) => x.code === c.code)) list.push(entry);
    byName.set(key, list);
  }
  // Former codes of merged communes: known, shown with the name of the commune of today.
  for (const c of raw) {
    if (c.type !== 'commune-actuelle') continue;
    for (const old of c.anciensCodes ?? []) {
      if (!byCode.has(old))
        byCode.set(old, { code: old, name: c.nom, departement: c.departement ?? old.slice(0, 2), partOf: c.code, former: true });
    }
  }
  index = { byCode, byName, postalCodes };
  return index;
}

export const COMMUNE_CODE = /^(\d{5}|2[AB]\d{3})$/;

export function communeByCode(code: string): InseeCommune | undefined {
  return load().byCode.get(code.toUpperCase());
}

/** Communes whose name is exactly this one (accents, case, hyphens and « St » ignored). */
export function communesNamed(name: string): InseeCommune[] {
  return load().byName.get(normaliseName(name)) ?? [];
}

export function isFrenchPostalCode(code: string): boolean {
  return load().postalCodes.has(code);
}

/** « Lyon 1er Arrondissement (69) », « Villeurbanne (69) ». */
export function communeLabel(c: InseeCommune): string {
  const base = `${c.name} (${c.departement})`;
  if (c.former) return `ancienne commune, aujourd’hui ${base}`;
  if (c.partOf) {
    const parent = load().byCode.get(c.partOf);
    return parent && parent.name !== c.name ? `${base}, aujourd’hui ${parent.name}` : base;
  }
  return base;
}
