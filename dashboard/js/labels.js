/**
 * Words and icons for verdicts, card states and severities. Every state is shown as an icon AND a
 * word (colour is only a third cue), so the page reads the same in grey or to a screen reader.
 */

export const VERDICTS = {
  creepy: { icon: '✗', word: 'Creepy', rank: 0 },
  questionable: { icon: '!', word: 'Questionable', rank: 1 },
  'not-creepy': { icon: '✓', word: 'Not creepy', rank: 2 },
  'not-enough-seen': { icon: '?', word: 'Not enough seen', rank: 3 },
};

export const STATES = {
  fail: { icon: '✗', word: 'Fail', rank: 0 },
  warn: { icon: '!', word: 'Warn', rank: 1 },
  pass: { icon: '✓', word: 'Pass', rank: 2 },
  'not-observed': { icon: '–', word: 'Not seen', rank: 3 },
};

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

export const STANDARD_NAMES = {
  1: 'Encrypted communications',
  2: 'Security updates',
  3: 'Strong passwords',
  4: 'Vulnerability management',
  5: 'Privacy practices',
};

/** Short names that fit a phone-width card row. */
export const STANDARD_SHORT = {
  1: 'Encryption',
  2: 'Updates',
  3: 'Passwords',
  4: 'Vulnerabilities',
  5: 'Privacy',
};

/** Flow encryption verdicts. "Readable": anyone on the path (Wi-Fi, ISP, router) can read it. */
export const ENCRYPTION = {
  encrypted: { icon: '✓', word: 'Encrypted' },
  plaintext: { icon: '⚠', word: 'Readable' },
  partly: { icon: '⚠', word: 'Partly readable' },
  unknown: { icon: '·', word: 'Not judged' },
};

export function verdictOf(verdict) {
  return VERDICTS[verdict] ?? { icon: '?', word: String(verdict ?? 'unknown'), rank: 9 };
}

export function stateOf(state) {
  return STATES[state] ?? { icon: '?', word: String(state ?? 'unknown'), rank: 9 };
}

export function severityRank(severity) {
  const i = SEVERITIES.indexOf(severity);
  return i < 0 ? SEVERITIES.length : i;
}

/** A device's name for people: its hostname, else its vendor, else its id. */
export function deviceName(device) {
  return device.hostname || device.name || device.vendor || device.id;
}

/** Finding codes by standard (src/standards/types.ts FINDING_CODES), for the filters. */
export const FINDING_CODES = {
  'plaintext-flow': 1,
  'plaintext-dns': 1,
  'tls-obsolete-version': 1,
  'tls-weak-cipher': 1,
  'tls-self-signed': 1,
  'tls-expired-certificate': 1,
  'tls-hostname-mismatch': 1,
  'ssh-obsolete': 1,
  'update-over-plaintext': 2,
  'update-unsigned': 2,
  'update-manifest-plaintext': 2,
  'executable-over-plaintext': 2,
  'cleartext-credentials': 3,
  'default-credentials': 3,
  'weak-password': 3,
  'snmp-default-community': 3,
  'outdated-software': 4,
  'risky-service-exposed': 4,
  'upnp-port-mapping': 4,
  'tracker-contact': 5,
  'pii-in-plaintext': 5,
};
