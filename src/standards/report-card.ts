/**
 * The report card of one device (DESIGN.md): per standard fail / warn / pass / not-observed, each
 * with one sentence a non-expert understands and the findings or positive evidence behind it;
 * overall creepy (any fail), questionable (any warn), not creepy (at least one pass, nothing
 * worse), or not enough seen (nothing in the traffic spoke to any standard).
 */
import { SEVERITIES, STANDARD_NUMBERS, STANDARDS, type Severity, type Standard } from './types.js';

export type CellState = 'fail' | 'warn' | 'pass' | 'not-observed';
export type Overall = 'creepy' | 'questionable' | 'not-creepy' | 'not-enough-seen';

export interface FindingSummary {
  standard: Standard;
  code: string;
  severity: Severity;
  title: string;
  remote: string;
  count: number;
}

export interface ObservationSummary {
  standard: Standard;
  kind: string;
  remote: string;
  count: number;
}

export interface CardCell {
  standard: Standard;
  name: string;
  state: CellState;
  sentence: string;
  /** Finding codes behind a fail/warn, kinds of evidence behind a pass. */
  because: string[];
  /** What passive monitoring cannot tell about this standard. */
  limits: string;
}

export interface ReportCard {
  verdict: Overall;
  sentence: string;
  standards: CardCell[];
}

const PASS_SENTENCES: Record<Standard, (o: ObservationSummary[]) => string> = {
  1: (o) => `Everything it sent that we could judge was encrypted (${count(o, 'encrypted-traffic')} encrypted flows).`,
  2: (o) => `Fetched its updates over an encrypted connection (${names(o, 'update-over-tls')}).`,
  3: () => 'Its logins were seen only inside encrypted connections.',
  4: (o) => `The software it announced is not known to be out of date (${names(o, 'software-current')}).`,
  5: (o) => `Talked to ${count(o, 'endpoint-contacted')} named services, none a known tracker, and sent no personal data in clear.`,
};

const NOT_OBSERVED: Record<Standard, string> = {
  1: 'No application data was seen.',
  2: 'No update traffic was seen.',
  3: 'No login was seen.',
  4: 'No software version or exposed service was seen.',
  5: 'No named service was seen.',
};

const LIMITS: Record<Standard, string> = {
  1: 'Only traffic that crossed the capture point is judged.',
  2: 'Update checks inside TLS look like any other TLS; how long the vendor ships updates cannot be seen on the network.',
  3: 'Passwords inside encrypted connections cannot be judged; a device may still have a weak one.',
  4: "Versions are read from banners and agents only; the vendor's disclosure process cannot be seen on the network.",
  5: 'Encrypted data sent to the vendor itself cannot be read; a privacy policy cannot be seen on the network.',
};

const OVERALL_SENTENCES: Record<Overall, string> = {
  creepy: 'Creepy: it fails at least one of the minimum security and privacy standards.',
  questionable: 'Questionable: nothing alarming, but it falls short of the minimum standards somewhere.',
  'not-creepy': 'Not creepy: what we saw of it meets the minimum standards.',
  'not-enough-seen': 'Not enough seen: its traffic said nothing about the standards.',
};

function count(o: ObservationSummary[], kind: string): number {
  return o.filter((x) => x.kind === kind).reduce((n, x) => n + x.count, 0);
}

function names(o: ObservationSummary[], kind: string): string {
  const list = [...new Set(o.filter((x) => x.kind === kind && x.remote !== '').map((x) => x.remote))];
  return list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`;
}

function rank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Up to three distinct titles, worst first, as one sentence. */
function findingsSentence(findings: FindingSummary[]): string {
  const titles = [
    ...new Set([...findings].sort((a, b) => rank(b.severity) - rank(a.severity) || b.count - a.count).map((f) => f.title)),
  ];
  const shown = titles.slice(0, 3).map((t, i) => (i === 0 ? t : t.charAt(0).toLowerCase() + t.slice(1)));
  const more = titles.length > 3 ? `; and ${titles.length - 3} more` : '';
  return `${shown.join('; ')}${more}.`;
}

export function reportCard(findings: FindingSummary[], observations: ObservationSummary[]): ReportCard {
  const standards = STANDARD_NUMBERS.map((standard): CardCell => {
    const f = findings.filter((x) => x.standard === standard);
    const o = observations.filter((x) => x.standard === standard);
    const base = { standard, name: STANDARDS[standard], limits: LIMITS[standard] };
    if (f.some((x) => x.severity === 'high' || x.severity === 'critical')) {
      return { ...base, state: 'fail', sentence: findingsSentence(f), because: [...new Set(f.map((x) => x.code))] };
    }
    if (f.length > 0) return { ...base, state: 'warn', sentence: findingsSentence(f), because: [...new Set(f.map((x) => x.code))] };
    if (o.length > 0) return { ...base, state: 'pass', sentence: PASS_SENTENCES[standard](o), because: [...new Set(o.map((x) => x.kind))] };
    return { ...base, state: 'not-observed', sentence: NOT_OBSERVED[standard], because: [] };
  });
  const verdict: Overall = standards.some((c) => c.state === 'fail')
    ? 'creepy'
    : standards.some((c) => c.state === 'warn')
      ? 'questionable'
      : standards.some((c) => c.state === 'pass')
        ? 'not-creepy'
        : 'not-enough-seen';
  return { verdict, sentence: OVERALL_SENTENCES[verdict], standards };
}
