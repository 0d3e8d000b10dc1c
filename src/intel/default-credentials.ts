/**
 * Factory-default credentials that attackers try first. Each entry names its source.
 *
 * Sources:
 * - mirai: the credential table of the Mirai botnet's scanner (mirai/bot/scanner.c in the source
 *   code published in September 2016), the passwords it used to take over cameras and DVRs.
 * - vendor: defaults printed in vendors' own manuals (Ubiquiti ubnt/ubnt, Raspberry Pi OS pi/raspberry
 *   before April 2022, many routers' admin/admin and admin/password).
 * "" stands for an empty password.
 */
export interface DefaultCredential {
  user: string;
  password: string;
  source: 'mirai' | 'vendor';
}

const MIRAI: [string, string][] = [
  ['root', 'xc3511'], ['root', 'vizxv'], ['root', 'admin'], ['admin', 'admin'], ['root', '888888'],
  ['root', 'xmhdipc'], ['root', 'default'], ['root', 'juantech'], ['root', '123456'], ['root', '54321'],
  ['support', 'support'], ['root', ''], ['admin', 'password'], ['root', 'root'], ['root', '12345'],
  ['user', 'user'], ['admin', ''], ['root', 'pass'], ['admin', 'admin1234'], ['root', '1111'],
  ['admin', 'smcadmin'], ['admin', '1111'], ['root', '666666'], ['root', 'password'], ['root', '1234'],
  ['root', 'klv123'], ['Administrator', 'admin'], ['service', 'service'], ['supervisor', 'supervisor'],
  ['guest', 'guest'], ['guest', '12345'], ['admin1', 'password'], ['administrator', '1234'],
  ['666666', '666666'], ['888888', '888888'], ['ubnt', 'ubnt'], ['root', 'klv1234'], ['root', 'Zte521'],
  ['root', 'hi3518'], ['root', 'jvbzd'], ['root', 'anko'], ['root', 'zlxx.'], ['root', '7ujMko0vizxv'],
  ['root', '7ujMko0admin'], ['root', 'system'], ['root', 'ikwb'], ['root', 'dreambox'], ['root', 'user'],
  ['root', 'realtek'], ['root', '00000000'], ['admin', '1111111'], ['admin', '1234'], ['admin', '12345'],
  ['admin', '54321'], ['admin', '123456'], ['admin', '7ujMko0admin'], ['admin', 'pass'], ['admin', 'meinsm'],
  ['tech', 'tech'],
];

const VENDOR: [string, string][] = [
  ['pi', 'raspberry'], ['admin', '1234'], ['admin', 'admin123'], ['root', 'toor'], ['admin', '9999'],
  ['root', 'calvin'], ['cisco', 'cisco'], ['admin', 'epicrouter'], ['Admin', ''], ['admin', 'changeme'],
];

export const DEFAULT_CREDENTIALS: DefaultCredential[] = [
  ...MIRAI.map(([user, password]) => ({ user, password, source: 'mirai' as const })),
  ...VENDOR.map(([user, password]) => ({ user, password, source: 'vendor' as const })),
];

const pairs = new Set(DEFAULT_CREDENTIALS.map((c) => `${c.user}\u0000${c.password}`));
const defaultPasswords = new Set(DEFAULT_CREDENTIALS.map((c) => c.password));

/** Is this user/password pair a known factory default? Without a user, is the password one? */
export function isDefaultCredential(user: string | null, password: string): boolean {
  return user === null ? defaultPasswords.has(password) : pairs.has(`${user}\u0000${password}`);
}

/**
 * The most common passwords in public breach compilations (the top of SecLists'
 * 10-million-password-list), for the weak-password check.
 */
export const COMMON_PASSWORDS = new Set([
  '123456', 'password', '12345678', 'qwerty', '123456789', '12345', '1234', '111111', '1234567', 'dragon',
  '123123', 'baseball', 'abc123', 'football', 'monkey', 'letmein', '696969', 'shadow', 'master', '666666',
  'qwertyuiop', '123321', 'mustang', '1234567890', 'michael', '654321', 'superman', '1qaz2wsx', '7777777',
  '121212', '000000', 'qazwsx', '123qwe', 'killer', 'trustno1', 'jordan', 'jennifer', 'zxcvbnm', 'asdfgh',
  'hunter', 'buster', 'soccer', 'harley', 'batman', 'andrew', 'tigger', 'sunshine', 'iloveyou', '2000',
  'charlie', 'robert', 'thomas', 'hockey', 'ranger', 'daniel', 'starwars', 'klaster', '112233', 'george',
  'computer', 'michelle', 'jessica', 'pepper', '1111', 'zxcvbn', '555555', '11111111', '131313', 'freedom',
  '777777', 'pass', 'maggie', '159753', 'aaaaaa', 'ginger', 'princess', 'joshua', 'cheese', 'amanda',
  'summer', 'love', 'ashley', '6969', 'nicole', 'chelsea', 'biteme', 'matthew', 'access', 'yankees',
  '987654321', 'dallas', 'austin', 'thunder', 'taylor', 'matrix',
  // Added for devices and services: account names and placeholders used as passwords, and the
  // SNMP community strings agents ship with, "public" (read) and "private" (write).
  'admin', 'root', 'welcome', 'passw0rd', 'password1', 'changeme', 'default', 'guest', 'test', 'secret',
  'public', 'private',
]);
