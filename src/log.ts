/**
 * The project's logger (pino, to stderr). Quiet by default for the command-line tools, whose
 * output is the report; `--verbose` or NOTCREEPY_LOG_LEVEL turns it up. Never log per packet.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string = process.env.NOTCREEPY_LOG_LEVEL ?? 'silent'): Logger {
  level ||= 'silent';
  return pino({ name: 'notcreepy', level }, pino.destination({ fd: 2, sync: true }));
}
