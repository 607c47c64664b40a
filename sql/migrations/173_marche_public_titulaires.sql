-- Each contract's titulaires as the packs list them ("SIRET 12345678900011 Nom | SIRET …", in their
-- order), written once when the contract is loaded. The per-commune list (commande_publique.csv)
-- computed it with a subquery for each of the commune's contracts, and a commune of a large
-- intercommunalité lists every contract its EPCI bought: thousands of subqueries per pack.
alter table marche_public add column titulaires text;

update marche_public m
   set titulaires = t.titulaires
  from (select uid, string_agg(concat_ws(' ', titulaire_type, titulaire_id, titulaire_nom), ' | ' order by rang) as titulaires
          from marche_public_titulaire group by uid) t
 where t.uid = m.uid;
