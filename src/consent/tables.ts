// Tables of this domain, merged into the Database interface of db/schema.ts.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConsentTables {}
