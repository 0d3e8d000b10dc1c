/**
 * What `analyze` prints: a readable summary per device, or one JSON document.
 */
import type { CaptureReport, DeviceReport, FlowReport } from '../store/report.js';
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

export function printSummary(
  out: NodeJS.WritableStream,
  capture: CaptureReport,
  devices: DeviceReport[],
): void {
  const lines: string[] = [];
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
    const names = [d.hostname, d.vendor ?? (d.locally_administered ? 'randomised MAC' : null)].filter(Boolean);
    lines.push(`Device ${d.id}${names.length ? `  ${names.join(' — ')}` : ''}`);
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
