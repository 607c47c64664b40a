-- INSEE COG communes table as published for a given year (v_commune_YYYY), when a mirror provides it.
create table cog_communes_insee (
  cog int not null, typecom text not null, com text not null, reg text, dep text, ctcd text, arr text,
  tncc text, ncc text, nccenr text, libelle text not null, can text, comparent text,
  primary key (cog, typecom, com)
);

/*
 * Current commune(s) of every code valid in COG `p_cog`.
 * Stage 1 walks INSEE movements (COM → COM) after 1 January p_cog, dates strictly increasing
 * (codes are reused: 60694 was Villotran, merged in 2019, and names Les Hauts-Talican since 2024).
 * Stage 2 finishes with the referential itself (déléguées, associées, anciens codes), which covers
 * changes newer than the movements table. A code that ends in several communes is a split:
 * `nb` > 1, and callers keep the commune that kept the code or quarantine the row.
 */
create or replace function commune_passage(p_cog int)
returns table (code text, code_actuel text, nature text, nb bigint)
language plpgsql volatile as $$
begin
  -- Edges after 1 January p_cog, as a hashed/indexed temp table (the recursive walk joins it at each step).
  create temp table if not exists pg_temp.passage_e (com_av text, com_ap text, date_eff date) on commit drop;
  create temp table if not exists pg_temp.passage_ends (code text, cur text) on commit drop;
  truncate pg_temp.passage_e; truncate pg_temp.passage_ends;
  insert into pg_temp.passage_e
    select distinct m.com_av, m.com_ap, m.date_eff from cog_mouvements m
     where m.typecom_av = 'COM' and m.typecom_ap = 'COM' and m.date_eff > make_date(p_cog, 1, 1);
  create index if not exists passage_e_av on pg_temp.passage_e (com_av);
  analyze pg_temp.passage_e;
  insert into pg_temp.passage_ends
    with recursive walk(code, cur, d) as (
      select distinct e.com_av, e.com_av, make_date(p_cog, 1, 1) from pg_temp.passage_e e
      union
      select w.code, e.com_ap, e.date_eff from walk w join pg_temp.passage_e e on e.com_av = w.cur and e.date_eff > w.d
    )
    select distinct w.code, w.cur from walk w
     where not exists (select 1 from pg_temp.passage_e e where e.com_av = w.cur and e.date_eff > w.d);
  return query
  with moved as (select distinct e.com_av as code from pg_temp.passage_e e),
  actuelles as (select c.code from communes c where c.type = 'commune-actuelle'),
  -- every code a source may carry: walked codes, current communes, déléguées/associées, anciens codes
  seeds as (
    select n.code, n.cur, 'mouvement'::text as nature from pg_temp.passage_ends n
    union
    select a.code, a.code, 'actuelle' from actuelles a where a.code not in (select m.code from moved m)
    union
    select x.code, x.code, 'ancienne' from (
      select c.code from communes c where c.type in ('commune-deleguee','commune-associee')
      union select unnest(c.anciens_codes) from communes c where c.type = 'commune-actuelle'
    ) x
     where x.code not in (select m.code from moved m) and x.code not in (select a.code from actuelles a)
  ),
  -- a code that is no longer a commune actuelle goes to its commune nouvelle (changes newer than the movements)
  parent as (
    select distinct on (c.code) c.code, c.commune_parent as p from communes c
     where c.type in ('commune-deleguee','commune-associee') order by c.code, c.type desc
  ),
  ancien as (
    select distinct on (u.ac) u.ac as code, u.code as p from (select c.code, unnest(c.anciens_codes) as ac from communes c where c.type = 'commune-actuelle') u
     order by u.ac, u.code
  ),
  resolved as (
    select s.code,
           case when s.cur in (select a.code from actuelles a) then s.cur else coalesce(pa.p, an.p, s.cur) end as code_actuel,
           case when s.cur in (select a.code from actuelles a) then s.nature else 'ancienne' end as nature
      from seeds s left join parent pa on pa.code = s.cur left join ancien an on an.code = s.cur
  ),
  kept as (
    select r.code, r.code_actuel, min(r.nature) as nature from resolved r
     where r.code_actuel in (select a.code from actuelles a)
     group by r.code, r.code_actuel
  )
  select k.code, k.code_actuel, k.nature, count(*) over (partition by k.code) from kept k;
end
$$;
