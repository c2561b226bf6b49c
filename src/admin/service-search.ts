// Finding a service in the console: by its name, its commune or organisation, or its client_id,
// whatever the case and the accents (« Villeurbanne », « mediatheque » for « Médiathèque »).

const fold = (text: string): string => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();

/** Every word of the query appears in the name, the organisation or the client_id. */
export function serviceMatches(service: { name: string; organisation: string | null; client_id: string }, query: string): boolean {
  const haystack = fold(`${service.name} ${service.organisation ?? ''} ${service.client_id}`);
  return fold(query)
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}
