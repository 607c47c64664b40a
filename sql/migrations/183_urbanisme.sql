-- Géoportail de l'Urbanisme: the planning documents of each commune (one snapshot: the latest
-- extract of the WFS layers). A PLUi is listed under every member commune of its EPCI; Paris,
-- Lyon and Marseille's documents under each arrondissement too.
create table urbanisme_municipalite (
  code_commune text not null,
  type         text not null,
  nom          text,
  est_rnu      boolean,          -- is_rnu of wfs_du:municipality (all the codes of a commune nouvelle agree, else false)
  codes_sources text[] not null,
  primary key (code_commune)
);

create table urbanisme_document (
  code_commune     text not null,
  type             text not null,
  gpu_doc_id       text not null,
  nom              text,            -- <grid>_<du_type>_<YYYYMMDD>
  du_type          text,            -- PLU, PLUi, CC, PSMV, POS…
  date_approbation date,            -- from the name
  gpu_status       text,
  gpu_timestamp    text,
  grid_name        text not null,   -- code INSEE of the commune or SIREN of the EPCI carrying the document
  grid_title       text,
  partition        text,
  rattachement     text not null,   -- how the commune was found: code INSEE, EPCI members, commune SIREN, city of the arrondissement
  fichier          text not null,
  ligne            bigint not null,
  primary key (code_commune, gpu_doc_id)
);

create table urbanisme_zonage (
  code_commune text not null,
  type         text not null,
  partition    text,
  gpu_doc_id   text,
  libelle      text,
  libelong     text,
  typezone     text,
  destdomi     text,
  urlfic       text,
  geom         geometry(MultiPolygon, 4326) not null,
  fichier      text not null,
  ligne        bigint not null,
  primary key (code_commune, fichier, ligne)
);

-- The document in force for each commune: its PLU, PLUi or carte communale (the most recently
-- approved), else the RNU when the Géoportail says so; PSMV and others are listed beside.
create view urbanisme_commune as
with d as (
  select code_commune, type, gpu_doc_id, nom, du_type, date_approbation,
         row_number() over (partition by code_commune
                            order by (du_type in ('PLU', 'PLUi', 'CC')) desc, date_approbation desc nulls last, gpu_doc_id) as rang,
         count(*) over (partition by code_commune) as nb
    from urbanisme_document
)
select coalesce(m.code_commune, d.code_commune) as code_commune, coalesce(m.type, d.type) as type,
       case when d.du_type in ('PLU', 'PLUi', 'CC') then d.du_type
            when m.est_rnu then 'RNU'
            else 'inconnu' end as regime,
       case when d.du_type in ('PLU', 'PLUi', 'CC') then d.gpu_doc_id end as gpu_doc_id,
       case when d.du_type in ('PLU', 'PLUi', 'CC') then d.nom end as nom_document,
       case when d.du_type in ('PLU', 'PLUi', 'CC') then d.date_approbation end as date_approbation,
       m.est_rnu, coalesce(d.nb, 0)::int as documents
  from (select * from d where rang = 1) d
  full join urbanisme_municipalite m on m.code_commune = d.code_commune;

-- A date written YYYYMMDD or YYYY-MM-DD (with anything after), null for anything else or an impossible day.
create or replace function try_date(t text) returns date language plpgsql immutable as $$
begin
  if t ~ '^[0-9]{8}$' then return make_date(substr(t, 1, 4)::int, substr(t, 5, 2)::int, substr(t, 7, 2)::int); end if;
  if t ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' then return make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, substr(t, 9, 2)::int); end if;
  return null;
exception when others then return null;
end $$;
