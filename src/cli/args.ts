/**
 * What every command shares: option parsing, and the two kinds of error a user can fix, which
 * main.ts prints as one line (usage: exit 2; anything else: exit 1).
 */
import { parseArgs } from 'node:util';

/** A mistake in how the command was called. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A problem the user can fix that is not about the command line (a port in use, a folder missing). */
export class UserError extends Error {
  override name = 'UserError';
}

export type ArgSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parseArgsOrUsage(args: string[], options: ArgSpec): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
