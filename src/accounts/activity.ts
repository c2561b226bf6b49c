// How the activity journal (account_events) reads on the security page, in French.
const METHODS: Record<string, string> = {
  pwd: 'mot de passe',
  password: 'mot de passe',
  fc: 'FranceConnect',
  franceconnect: 'FranceConnect',
};

export function describeMethods(amr: string[]): string {
  const names = [...new Set(amr.map((m) => METHODS[m] ?? m))];
  return names.length ? names.join(', ') : 'inconnue';
}

const EVENTS: Record<string, string> = {
  signup: 'Création du compte',
  email_verified: 'Adresse électronique confirmée',
  login_failed: 'Échec de connexion (mot de passe incorrect)',
  password_changed: 'Mot de passe modifié',
  password_change_failed: 'Échec de changement du mot de passe (mot de passe actuel incorrect)',
  password_reset_requested: 'Demande de réinitialisation du mot de passe',
  password_reset: 'Mot de passe réinitialisé par lien envoyé par courriel',
  email_change_requested: 'Demande de changement d’adresse électronique',
  email_changed: 'Adresse électronique modifiée',
  identity_updated: 'Fiche d’identité modifiée',
  logout_everywhere: 'Déconnexion de tous les appareils',
  franceconnect_linked: 'Compte relié à FranceConnect',
  franceconnect_unlinked: 'Compte détaché de FranceConnect',
  franceconnect_link_undone: 'Association automatique à FranceConnect annulée (« Ce n’est pas mon compte »)',
  franceconnect_sub_change_detected: 'Connexion FranceConnect avec un nouvel identifiant : demande transmise à l’assistance',
  consent_given: 'Consentement donné',
  consent_withdrawn: 'Consentement retiré',
  consent_renewed: 'Consentement renouvelé',
  data_exported: 'Téléchargement de mes données',
  staff_second_factor: 'Connexion à la console du personnel (second facteur)',
  staff_second_factor_enrolled: 'Second facteur de la console du personnel activé',
  staff_second_factor_failed: 'Échec du second facteur de la console du personnel',
};

export function describeEvent(type: string, detail: Record<string, unknown> = {}): string {
  if (type === 'login') {
    const method = typeof detail.method === 'string' ? detail.method : undefined;
    return `Connexion${method ? ` (${METHODS[method] ?? method})` : ''}`;
  }
  const base = EVENTS[type] ?? `Autre opération (${type})`;
  const service = typeof detail.clientName === 'string' ? detail.clientName : undefined;
  return service ? `${base} : ${service}` : base;
}
