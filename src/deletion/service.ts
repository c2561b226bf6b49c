// The one account-deletion routine (self-deletion, inactivity purge, operator) — to build.
export type DeletionReason = 'user_request' | 'inactivity' | 'operator';

export interface DeletionService {
  /** Deletes everything of the account in one transaction and records what communes must learn. */
  deleteAccount(accountId: string, reason: DeletionReason, now: Date): Promise<void>;
}
