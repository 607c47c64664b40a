/**
 * SIRETs of the national producers (SCDL catalogue PRODUCTEUR_SIRET), each as data.gouv.fr records
 * it for the producer's organisation: the `business_number_id` of `GET /api/1/organizations/`
 * (data.gouv.fr's "siretisation", field `extras["siretisation:found_siret"]`, records last modified
 * 2024-09-02), read in a recorded answer of that endpoint kept in a public data.gouv.fr front-end
 * mock (code search library, document id 32566418; the repository is not named by the library).
 * Each number passes the SIRET Luhn check (test/catalogue-scdl.test.ts). A producer missing here
 * has no SIRET verified in this session: its PRODUCTEUR_SIRET stays empty and LISEZMOI says so.
 */
export const PRODUCER_SIRET = {
  /** INSEE, organisation 534fff81a3a7292c64a77e5c, "INSTITUT NATIONAL DE LA STATISTIQUE ET DES ETUDES ECONOMIQUES (INSEE)". */
  INSEE: '12002701600563',
  /** IGN, organisation 534fff80a3a7292c64a77e41, "INSTITUT NATIONAL DE L'INFORMATION GEOGRAPHIQUE ET FORESTIERE (IGN)". */
  IGN: '18006701900430',
  /** Ministère de l'Intérieur et des Outre-mer, organisation 534fff91a3a7292c64a77f53. */
  INTERIEUR: '11001401600015',
  /** Arcep, organisation 534fff58a3a7292c64a77cf6. */
  ARCEP: '11000035300034',
  /**
   * DINUM (Etalab), organisation 534fff75a3a7292c64a77de4; the same SIRET is the siège of SIREN
   * 130025265 in the recorded recherche-entreprises.api.gouv.fr answer of the same mock.
   */
  DINUM: '13002526500013',
  /** Ministère de l'Économie, des Finances et de la Souveraineté industrielle et numérique, organisation 534fff8ea3a7292c64a77f02 (MEFSIN). */
  ECONOMIE: '11002001300097',
  /** Ministère de la Transition écologique, organisation 534fff8da3a7292c64a77eee (the SDES is one of its services, not a legal person). */
  TRANSITION_ECOLOGIQUE: '11006801200050',
  /** Ministère de l'Éducation nationale et de la Jeunesse, organisation 534fff8fa3a7292c64a77f22 (MENJ; the DEPP is one of its directions). */
  EDUCATION: '11004301500012',
  /** Ministère des Solidarités et de la Santé, organisation 534fff94a3a7292c64a77fc1 (siretisation: « MINISTERE DU TRAVAIL DE LA SANTE ET DES SOLIDARITES »). */
  SANTE: '11000007200014',
} as const;
