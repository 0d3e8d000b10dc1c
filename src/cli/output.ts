/**
 * What `analyze` prints: a readable summary per device, or one JSON document.
 */
import type { CaptureReport, DeviceReport, FlowReport } from '../store/report.js';
import type { CellState, Overall } from '../standards/report-card.js';
import { formatBytes } from './progress.js';

const JSON_CHUNK_CHARS = 1 << 16;

/**
 * One JSON document: { capture, devices, flows }. Flows are streamed from the store in chunks,
 * so the document can be larger than memory.
 */
export function writeJsonReport(
  out: NodeJS.WritableStream,
  capture: CaptureReport,
  devices: DeviceReport[],
  flows: Iterable<FlowReport>,
): void {
  let buffer = `{"capture":${JSON.stringify(capture)},\n"devices":${JSON.stringify(devices)},\n"flows":[`;
  let first = true;
  for (const f of flows) {
    buffer += (first ? '\n' : ',\n') + JSON.stringify(f);
    first = false;
    if (buffer.length >= JSON_CHUNK_CHARS) {
      out.write(buffer);
      buffer = '';
    }
  }
  out.write(`${buffer}\n]}\n`);
}

function plural(n: number, word: string): string {
  // Thousands separators without Intl, which is slow to start.
  const digits = String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${digits} ${word}${n === 1 ? '' : 's'}`;
}

/** ANSI colours on a terminal (never colour alone: every state also has an icon and a word). */
interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

function paint(enabled: boolean): Paint {
  const sgr = (code: string) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { red: sgr('31'), yellow: sgr('33'), green: sgr('32'), dim: sgr('2'), bold: sgr('1') };
}

export function useColour(out: NodeJS.WritableStream): boolean {
  return (out as NodeJS.WriteStream).isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
}

const CELL: Record<CellState, { icon: string; word: string; colour: keyof Paint }> = {
  fail: { icon: '✗', word: 'FAIL', colour: 'red' },
  warn: { icon: '!', word: 'WARN', colour: 'yellow' },
  pass: { icon: '✓', word: 'PASS', colour: 'green' },
  'not-observed': { icon: '–', word: 'not seen', colour: 'dim' },
};

const OVERALL: Record<Overall, { word: string; colour: keyof Paint }> = {
  creepy: { word: 'CREEPY', colour: 'red' },
  questionable: { word: 'QUESTIONABLE', colour: 'yellow' },
  'not-creepy': { word: 'NOT CREEPY', colour: 'green' },
  'not-enough-seen': { word: 'NOT ENOUGH SEEN', colour: 'dim' },
};

const OVERALL_ORDER: Overall[] = ['creepy', 'questionable', 'not-creepy', 'not-enough-seen'];

function deviceName(d: DeviceReport): string {
  const names = [d.hostname, d.vendor ?? (d.locally_administered ? 'randomised MAC' : null)].filter(Boolean);
  return `${d.id}${names.length ? `  ${names.join(' — ')}` : ''}`;
}

/** The report cards, worst device first. */
function cardLines(devices: DeviceReport[], p: Paint): string[] {
  const lines: string[] = ['Report cards (minimum security and privacy standards)'];
  const sorted = [...devices].sort(
    (a, b) =>
      OVERALL_ORDER.indexOf(a.report.verdict) - OVERALL_ORDER.indexOf(b.report.verdict) ||
      b.findings.length - a.findings.length ||
      a.id.localeCompare(b.id),
  );
  for (const d of sorted) {
    const o = OVERALL[d.report.verdict];
    lines.push('');
    lines.push(`${p.bold(deviceName(d))}   ${p[o.colour](p.bold(o.word))}`);
    for (const c of d.report.standards) {
      const s = CELL[c.state];
      const label = `${s.icon} ${s.word}`.padEnd(10);
      lines.push(`  ${p[s.colour](label)} ${c.standard} ${c.name.padEnd(26)} ${c.state === 'not-observed' ? p.dim(c.sentence) : c.sentence}`);
    }
  }
  return lines;
}

export function printSummary(
  out: NodeJS.WritableStream,
  capture: CaptureReport,
  devices: DeviceReport[],
  colour = useColour(out),
): void {
  const p = paint(colour);
  const lines: string[] = cardLines(devices, p);
  lines.push('');
  lines.push(
    `${capture.files.join(', ')}: ${plural(capture.packets, 'packet')} (${formatBytes(capture.bytes)}), ` +
      `${plural(capture.flows, 'flow')}, ${plural(devices.length, 'device')}` +
      (capture.malformed > 0 ? `, ${plural(capture.malformed, 'malformed packet')} skipped` : ''),
  );
  for (const w of capture.warnings) lines.push(`warning: ${w}`);
  // Busiest devices first: they are what a reader looks for.
  const sorted = [...devices].sort((a, b) => b.bytes_sent + b.bytes_received - (a.bytes_sent + a.bytes_received));
  for (const d of sorted) {
    lines.push('');
    lines.push(`Device ${deviceName(d)}`);
    if (d.ips.length > 0) lines.push(`  IPs: ${d.ips.join(', ')}`);
    if (d.vendor_class) lines.push(`  DHCP vendor class: ${d.vendor_class}`);
    lines.push(
      `  ${plural(d.flows, 'flow')}, sent ${formatBytes(d.bytes_sent)}, received ${formatBytes(d.bytes_received)}` +
        `, seen ${d.first_seen} – ${d.last_seen}`,
    );
    const e = d.encryption;
    lines.push(
      `  encrypted: ${plural(e.encrypted.flows, 'flow')} (${formatBytes(e.encrypted.bytes)}); ` +
        `readable by anyone on the path: ${plural(e.plaintext.flows, 'flow')} (${formatBytes(e.plaintext.bytes)}); ` +
        `not judged: ${plural(e.unknown.flows, 'flow')}`,
    );
    if (d.findings.length > 0) {
      lines.push('  findings:');
      for (const f of d.findings) {
        const times = f.count > 1 ? ` (×${f.count})` : '';
        lines.push(`    [${f.severity}] ${f.code}  ${f.title}${times}`);
        lines.push(`      ${f.detail}${f.evidence.flows.length > 0 ? `  flows: ${f.evidence.flows.slice(0, 5).join(', ')}${f.evidence.flows.length > 5 ? '…' : ''}` : ''}`);
      }
    }
    if (d.plaintext_flows.length > 0) {
      lines.push('  in clear:');
      for (const f of d.plaintext_flows.slice(0, 10)) {
        const name = f.server_name ? ` (${f.server_name})` : '';
        lines.push(`    ${f.remote}${name}  ${f.reason ?? f.app ?? ''}, ${formatBytes(f.bytes)}`);
      }
      if (d.plaintext_flows.length > 10) lines.push(`    … and ${d.plaintext_flows.length - 10} more`);
    }
    if (d.remotes.length > 0) {
      lines.push('  talks to:');
      for (const r of d.remotes.slice(0, 10)) {
        const name = r.server_name ? ` (${r.server_name})` : '';
        lines.push(`    ${r.ip}${name}  ${plural(r.flows, 'flow')}, ${formatBytes(r.bytes)}  ${r.services.join(' ')}`);
      }
      if (d.remotes.length > 10) lines.push(`    … and ${d.remotes.length - 10} more`);
    }
  }
  if (capture.unattributed_flows > 0) {
    lines.push('');
    lines.push(`${plural(capture.unattributed_flows, 'flow')} had no LAN-side device (no local address on either end; see --lan).`);
  }
  out.write(`${lines.join('\n')}\n`);
}
