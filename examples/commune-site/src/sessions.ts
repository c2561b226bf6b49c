// The site's own sessions, kept in memory (one process). Each one remembers the GLC session it
// came from (`sid`) and the resident (`sub`), so that a back-channel logout can find and end it.
// A site running several processes keeps them in a shared store instead (database, Redis).
import { randomBytes } from 'node:crypto';

export interface Session {
  id: string;
  sub: string;
  /** GLC's session id, from the ID token: what a logout token names. */
  sid: string | undefined;
  /** Kept for RP-initiated logout (id_token_hint); never logged, never sent to the browser. */
  idToken: string;
  claims: Record<string, unknown>;
  expiresAt: number;
}

const LIFETIME_MS = 8 * 3600_000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  create(values: Omit<Session, 'id' | 'expiresAt'>, now = Date.now()): Session {
    const session = { ...values, id: randomBytes(32).toString('base64url'), expiresAt: now + LIFETIME_MS };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined, now = Date.now()): Session | undefined {
    const session = id ? this.sessions.get(id) : undefined;
    if (session && session.expiresAt <= now) {
      this.sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Back-channel logout: `sid` names one GLC session; `sub` alone means every session of the resident. */
  endFromGlc(sid: string | undefined, sub: string | undefined): number {
    let ended = 0;
    for (const session of this.sessions.values()) {
      const match = sid !== undefined ? session.sid === sid && (sub === undefined || session.sub === sub) : session.sub === sub;
      if (match) {
        this.sessions.delete(session.id);
        ended++;
      }
    }
    return ended;
  }

  activeFor(sub: string): number {
    return [...this.sessions.values()].filter((s) => s.sub === sub).length;
  }
}
