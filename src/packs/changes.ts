import { parseCsv } from './format';
import type { PackFile } from './zip';
import type { PackPlan } from './content';

interface TableChange {
  fichier: string;
  lignesAjoutees: number;
  lignesRetirees: number;
  lignesModifiees: number;
  /** Keys (primary key values joined by '|') of the rows concerned, at most 50 per kind. */
  exemples: { ajoutees: string[]; retirees: string[]; modifiees: string[] };
}

export interface Changes {
  versionPrecedente: string | null;
  premiereVersion: boolean;
  jeuxDeDonnees: { ajoutes: string[]; retires: string[]; millesimesChanges: { source: string; avant: string; apres: string }[] };
  fichiers: { ajoutes: string[]; retires: string[] };
  tables: TableChange[];
}

function keyed(csv: string, pk: string[] | undefined): Map<string, string> {
  const [header, ...rows] = parseCsv(csv);
  const idx = (pk ?? []).map((k) => header?.indexOf(k) ?? -1);
  const out = new Map<string, string>();
  rows.forEach((r, i) => {
    const line = r.join(';');
    const key = idx.length && idx.every((k) => k >= 0) ? idx.map((k) => r[k]).join('|') : line;
    out.set(out.has(key) ? `${key}#${i}` : key, line);
  });
  return out;
}

function sourcesOf(dp: Buffer | undefined): Map<string, string> {
  if (!dp) return new Map();
  try {
    const j = JSON.parse(dp.toString('utf8')) as { sources?: { title: string; version?: string }[] };
    return new Map((j.sources ?? []).map((s) => [s.title, s.version ?? '']));
  } catch {
    return new Map();
  }
}

/** What changed between the previous version's files and the new data files. Deterministic. */
export function computeChanges(
  prevVersion: string | null,
  prev: Map<string, Buffer> | null,
  files: PackFile[],
  plan: PackPlan,
  currentDatapackageSources: Map<string, string>,
): Changes {
  if (!prev) {
    return {
      versionPrecedente: null,
      premiereVersion: true,
      jeuxDeDonnees: { ajoutes: [...currentDatapackageSources.keys()], retires: [], millesimesChanges: [] },
      fichiers: { ajoutes: files.map((f) => f.name), retires: [] },
      tables: [],
    };
  }
  const before = sourcesOf(prev.get('datapackage.json'));
  const ajoutes = [...currentDatapackageSources.keys()].filter((k) => !before.has(k));
  const retires = [...before.keys()].filter((k) => !currentDatapackageSources.has(k));
  const millesimesChanges = [...currentDatapackageSources.entries()]
    .filter(([k, v]) => before.has(k) && before.get(k) !== v)
    .map(([k, v]) => ({ source: k, avant: before.get(k)!, apres: v }));
  const skip = new Set(['datapackage.json', 'changes.json']);
  const names = new Set(files.map((f) => f.name));
  const prevNames = [...prev.keys()].filter((n) => !skip.has(n));
  const tables: TableChange[] = [];
  for (const t of plan.tables) {
    const now = files.find((f) => f.name === t.file);
    const old = prev.get(t.file);
    if (!now || !old || old.equals(now.data)) continue;
    const a = keyed(old.toString('utf8'), t.table.primaryKey);
    const b = keyed(now.data.toString('utf8'), t.table.primaryKey);
    const added = [...b.keys()].filter((k) => !a.has(k));
    const removed = [...a.keys()].filter((k) => !b.has(k));
    const changed = [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k));
    if (!added.length && !removed.length && !changed.length) continue;
    tables.push({
      fichier: t.file,
      lignesAjoutees: added.length,
      lignesRetirees: removed.length,
      lignesModifiees: changed.length,
      exemples: { ajoutees: added.slice(0, 50), retirees: removed.slice(0, 50), modifiees: changed.slice(0, 50) },
    });
  }
  return {
    versionPrecedente: prevVersion,
    premiereVersion: false,
    jeuxDeDonnees: { ajoutes, retires, millesimesChanges },
    fichiers: { ajoutes: [...names].filter((n) => !skip.has(n) && !prev.has(n)), retires: prevNames.filter((n) => !names.has(n)) },
    tables,
  };
}
