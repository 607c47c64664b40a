-- ARCEP "Mon réseau mobile": theoretical coverage per commune × operator × technology and quarter,
-- from ARCEP's per-commune statistics (`<AAAA>T<n>_op_communes.csv`: techno, mcc_mnc, commune,
-- couv_nc…couv_tbc, pop_nc…pop_tbc). Shares in % of the commune's surface (surface_*) and
-- population (population_*), by level: nc non couvert, cl couverture limitée, bc bonne
-- couverture, tbc très bonne couverture; NULL where the file gives none (a level the technology
-- does not have). Shares cannot be summed: a commune merged since keeps one row per former commune
-- (code_source), never an invented total.
create table arcep_couverture (
  millesime        text not null,          -- quarter, as ARCEP names it: 2024_T3
  code_commune     text not null,
  type             text not null,          -- commune-actuelle | arrondissement-municipal
  code_source      text not null,          -- the commune code of the file (a former commune when merged since)
  code_op          text not null,          -- MCC-MNC: 20801 Orange, 20810 SFR, 20815 Free, 20820 Bouygues
  operateur        text,                   -- NULL when the code is not a known operator
  technologie      text not null check (technologie in ('2G', '2G/3G', '3G', '4G', '5G')),
  surface_nc       numeric(6, 2),
  surface_cl       numeric(6, 2),
  surface_bc       numeric(6, 2),
  surface_tbc      numeric(6, 2),
  population_nc    numeric(6, 2),
  population_cl    numeric(6, 2),
  population_bc    numeric(6, 2),
  population_tbc   numeric(6, 2),
  primary key (millesime, code_commune, code_source, code_op, technologie)
);
create index arcep_couverture_commune on arcep_couverture (code_commune);

-- What the publication guard measures (src/engine/guard.ts): every row of the source by commune
-- and quarter. A run may load coverage or sites alone: for a quarter, a table it did not load counts
-- with its latest quarter up to it (carried forward), so a sites-only quarter is compared on its sites
-- and never refused for the coverage it did not bring. Quarter labels (2024_T3) sort as text.
create view arcep_lignes as
  with q as (select millesime from arcep_couverture union select millesime from arcep_sites)
  select q.millesime, c.code_commune
    from q join arcep_couverture c on c.millesime = (select max(x.millesime) from arcep_couverture x where x.millesime <= q.millesime)
  union all
  select q.millesime, s.code_commune
    from q join arcep_sites s on s.millesime = (select max(x.millesime) from arcep_sites x where x.millesime <= q.millesime);
