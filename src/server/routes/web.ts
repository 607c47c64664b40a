import type { FastifyInstance } from 'fastify';
import { settings } from '../../../config/settings';
import { pool } from '../../db/pool';
import { COMMUNE_CODE } from '../../communes/codes';
import { cachedManifest } from '../pack-files';

/**
 * GET /communes/:code/page: a plain French web page for a secretary of mairie — what the pack
 * is, the download button, each file with its size, where the data come from.
 */
const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const size = (n: number) =>
  n < 1024
    ? `${n} octets`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1).replace('.', ',')} Ko`
      : `${(n / 1024 / 1024).toFixed(1).replace('.', ',')} Mo`;

export default async function web(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { code: string } }>('/communes/:code/page', async (req, reply) => {
    const code = req.params.code.toUpperCase();
    const notFound = (msg: string) =>
      reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><html lang="fr"><meta charset="utf-8"><title>Commune introuvable</title><p>${esc(msg)}</p></html>`);
    if (!COMMUNE_CODE.test(code)) return notFound(`« ${code} » n'est pas un code de commune (5 caractères, par exemple 35238 ou 2A004).`);
    const {
      rows: [c],
    } = await pool().query(
      `select c.code, c.nom, c.type, d.nom as dep from communes c left join departements d on d.code = c.departement
        where c.code = $1 and c.type in ('commune-actuelle', 'arrondissement-municipal') limit 1`,
      [code],
    );
    if (!c) {
      const { rows } = await pool().query(
        `select distinct code_actuel from commune_correspondance where code = $1 and code_actuel <> $1 and nature in ('ancienne', 'mouvement')`,
        [code],
      );
      if (rows.length === 1) return reply.code(301).header('location', `/communes/${rows[0].code_actuel}/page`).send();
      return notFound(`Aucune commune n'a le code ${code}.`);
    }
    const m = await cachedManifest(settings().PACKS_DIR, c.code);
    const v = m?.versions[0];
    const {
      rows: [b],
    } = await pool().query(`select donnees from pack_builds where code = $1`, [c.code]);
    const donnees = Object.entries((b?.donnees ?? {}) as Record<string, { millesime: string; lignes: Record<string, number> }>);
    const html = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Données ouvertes de ${esc(c.nom)} (${esc(c.code)})</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
a.bouton{display:inline-block;background:#000091;color:#fff;padding:.6rem 1rem;border-radius:4px;text-decoration:none}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}</style></head>
<body>
<h1>Données ouvertes de ${esc(c.nom)}</h1>
<p>Code INSEE ${esc(c.code)}${c.dep ? ` — ${esc(c.dep)}` : ''}.</p>
<p>Ce dossier rassemble des données publiques nationales (INSEE et autres producteurs) découpées pour votre commune,
prêtes à être publiées sur data.gouv.fr ou sur votre portail de données. Le fichier LISEZMOI.md du dossier explique chaque fichier et comment le publier.</p>
${
  v
    ? `<p><a class="bouton" href="/communes/${esc(c.code)}/pack.zip">Télécharger le dossier (${esc(size(v.bytes))})</a></p>
<p>Version ${esc(v.version)}, construite le ${esc(new Date(v.createdAt).toLocaleDateString('fr-FR', { timeZone: 'Europe/Paris' }))}.</p>
<h2>Fichiers</h2>
<table><tr><th>Fichier</th><th>Taille</th></tr>
${v.files.map((f) => `<tr><td><a href="/communes/${esc(c.code)}/fichiers/${encodeURIComponent(f.name)}">${esc(f.name)}</a></td><td>${esc(size(f.bytes))}</td></tr>`).join('\n')}
</table>`
    : "<p>Le dossier de cette commune n'est pas encore construit.</p>"
}
${
  donnees.length
    ? `<h2>Données incluses</h2><ul>${donnees
        .map(
          ([src, d]) =>
            `<li>${esc(src)} : millésime ${esc(d.millesime)} (${Object.entries(d.lignes)
              .map(([f, n]) => `${esc(f)} : ${n} ligne${n > 1 ? 's' : ''}`)
              .join(', ')})</li>`,
        )
        .join('')}</ul>`
    : ''
}
</body></html>
`;
    return reply.type('text/html; charset=utf-8').send(html);
  });
}
