// The one error type of GLC's HTTP layer: a status, whether its message may be shown, and an
// OAuth-style code for APIs. The error handler (middleware.ts) turns it into a French page for a
// resident, a JSON error for a service, and one log line for an operator.
export class HttpError extends Error {
  readonly status: number;
  /** Whether `message` may be shown to the client (never for 5xx). */
  readonly expose: boolean;
  /** OAuth-style error code for APIs (`invalid_request`…); a few pages key on it (`csrf`). */
  readonly code: string | undefined;

  constructor(status: number, message: string, options: { expose?: boolean; code?: string } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.code = options.code;
  }
}
