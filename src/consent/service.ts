// Consent rules — to build (see the consent issue).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConsentService {}
