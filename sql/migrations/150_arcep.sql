-- ARCEP "Mon réseau mobile": mobile sites counted per commune × operator × technology and quarter,
-- re-coded to the current COG. technologie '2G'…'5G', or 'tous' = sites of the operator whatever
-- the technology (a site carrying 4G and 5G counts once there).
create table arcep_sites (
  millesime     text not null,          -- quarter, as ARCEP names it: 2024_T3
  code_commune  text not null,
  type          text not null,          -- commune-actuelle | arrondissement-municipal
  code_op       text not null,          -- MCC-MNC: 20801 Orange, 20810 SFR, 20815 Free, 20820 Bouygues
  operateur     text not null,
  technologie   text not null check (technologie in ('2G', '3G', '4G', '5G', 'tous')),
  sites         int  not null check (sites >= 0),
  codes_sources text[] not null,        -- codes insee_com of the file summed into this row
  primary key (millesime, code_commune, code_op, technologie)
);
create index arcep_sites_commune on arcep_sites (code_commune);
