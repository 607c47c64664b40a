-- Données essentielles de la commande publique (DECP, consolidation nationale): the contracts, one
-- snapshot (the latest consolidation), and which communes' packs list each of them.
create table marche_public (
  uid                    text primary key,  -- buyer SIRET + id, the DECP's unique key
  id                     text not null,
  type                   text not null check (type in ('marché', 'concession')),
  acheteur_siret         text not null,     -- acheteur.id (autoriteConcedante.id of a concession)
  acheteur_siren         text not null,
  acheteur_nom           text,
  nature                 text,
  objet                  text,
  code_cpv               text,
  procedure              text,
  lieu_code              text,
  lieu_type              text,
  lieu_nom               text,
  lieu_communes          text[],            -- today's communes of the place of execution, when it names one
  duree_mois             numeric,
  date_notification      date,              -- dateNotification (dateSignature of a concession)
  date_publication       date,
  montant                numeric,           -- montant HT, forfaitaire ou estimé maximum (valeurGlobale of a concession)
  forme_prix             text,
  modif_objet            text,              -- the last modification
  modif_date_publication date,
  modif_duree_mois       numeric,
  modif_montant          numeric,
  modif_date_signature   date,
  modif_titulaire_id     text,
  modif_titulaire_type   text,
  modif_titulaire_nom    text,
  fichier                text not null,
  ligne                  bigint not null
);
create index marche_public_siren on marche_public (acheteur_siren);

create table marche_public_titulaire (
  uid            text not null,
  rang           int  not null,
  titulaire_id   text,
  titulaire_type text,
  titulaire_nom  text,
  primary key (uid, rang)
);

-- lien: commune (its SIREN bought), intercommunalite (its EPCI bought), execution (executed there, another buyer).
create table marche_public_commune (
  code_commune text not null,
  uid          text not null,
  lien         text not null check (lien in ('commune', 'intercommunalite', 'execution')),
  primary key (code_commune, uid)
);
