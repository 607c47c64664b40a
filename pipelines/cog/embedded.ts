import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The referential shipped in the npm package @etalab/decoupage-administratif (built by Etalab
 * from the INSEE COG, La Poste postal codes and BANATIC SIRENs). Its major version is the COG year.
 */
const PACKAGE_COG_YEAR: Record<number, number> = { 1: 2021, 2: 2022, 3: 2023, 4: 2024, 5: 2025, 6: 2026 };

const packageDir = path.dirname(require.resolve('@etalab/decoupage-administratif/package.json'));

export function packageInfo(): { version: string; cog: number } {
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const major = Number(version.split('.')[0]);
  const cog = PACKAGE_COG_YEAR[major];
  if (!cog) throw new Error(`@etalab/decoupage-administratif ${version}: unknown COG year; add it to PACKAGE_COG_YEAR`);
  return { version, cog };
}

export const PackageCommune = z.object({
  code: z.string(),
  nom: z.string(),
  type: z.enum(['commune-actuelle', 'commune-deleguee', 'commune-associee', 'arrondissement-municipal']),
  zone: z.string().optional(),
  departement: z.string().optional(),
  region: z.string().optional(),
  arrondissement: z.string().optional(),
  siren: z.string().optional(),
  codesPostaux: z.array(z.string()).optional(),
  population: z.number().int().optional(),
  chefLieu: z.string().optional(),
  commune: z.string().optional(),
  anciensCodes: z.array(z.string()).optional(),
  /** The COG's TNCC (type de nom en clair) as a number: src/communes/names.ts. */
  typeLiaison: z.number().int().min(0).max(8).optional(),
});
export type PackageCommune = z.infer<typeof PackageCommune>;

export const PackageEpci = z.object({
  code: z.string(),
  nom: z.string(),
  type: z.string().optional(),
  modeFinancement: z.string().optional(),
  populationMunicipale: z.number().optional(),
  membres: z.array(z.object({ code: z.string() })),
});

/** Reads one of the package's JSON arrays (a few MB, shipped with the code, not a national file). */
export function readPackageArray(name: 'communes' | 'epci' | 'departements' | 'regions' | 'arrondissements'): unknown[] {
  return JSON.parse(fs.readFileSync(path.join(packageDir, 'data', `${name}.json`), 'utf8')) as unknown[];
}
