// FranceConnect federation rules — to build (see the FranceConnect issue).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface FranceConnectService {}
