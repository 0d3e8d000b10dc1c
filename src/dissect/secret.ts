/**
 * Turn a captured secret into what may be stored and shown (DESIGN.md): its masked form and a
 * strength summary. The secret itself never leaves this function.
 */
import { COMMON_PASSWORDS, isDefaultCredential } from '../intel/default-credentials.js';
import type { MaskedSecret } from './types.js';

const MIN_LENGTH_TO_SHOW_ENDS = 8;

export function maskSecret(secret: string, user: string | null = null): MaskedSecret {
  const classes: MaskedSecret['classes'] = [];
  if (/[a-z]/.test(secret)) classes.push('lower');
  if (/[A-Z]/.test(secret)) classes.push('upper');
  if (/[0-9]/.test(secret)) classes.push('digit');
  if (/[^a-zA-Z0-9]/.test(secret)) classes.push('symbol');
  const length = [...secret].length;
  // Short secrets are all stars: showing two characters of a 4-digit PIN gives half of it away.
  const masked =
    length >= MIN_LENGTH_TO_SHOW_ENDS
      ? `${[...secret][0]}${'*'.repeat(length - 2)}${[...secret][length - 1]}`
      : '*'.repeat(Math.max(length, 1));
  const matchesDefault = isDefaultCredential(user, secret);
  const common = COMMON_PASSWORDS.has(secret.toLowerCase());
  let score = 0;
  if (!matchesDefault && !common && length > 0) {
    score = length >= 16 ? 3 : length >= 12 ? 2 : length >= 8 ? 1 : 0;
    if (classes.length >= 3 && score > 0) score++;
    score = Math.min(score, 4);
  }
  const sameAsUser = user !== null && user === secret;
  if (sameAsUser) score = 0;
  return { masked, length, classes, matches_default: matchesDefault, same_as_user: sameAsUser, common, score };
}

/** The user name as it may be kept next to its masked password: masked too when it is the password. */
export function userShown(user: string | null, secret: MaskedSecret): string | null {
  return secret.same_as_user ? secret.masked : user;
}
