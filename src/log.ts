// Structured JSON logs (pino). Never log personal data or secrets: log ids, codes, counts.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'glc' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: should a caller pass one of these by mistake, it is masked.
      redact: {
        paths: [
          'password',
          '*.password',
          'email',
          '*.email',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'headers.authorization',
          'headers.cookie',
          'req.headers.cookie',
          'req.headers.authorization',
        ],
        censor: '[masqué]',
      },
    },
    destination ?? pino.destination(1),
  );
}
