/** Pieces shared by the pages: badges, device cards, findings, tables. All text goes in as text. */
import { h, route } from './dom.js';
import { bytes, count, percent, plural, rate, time } from './format.js';
import { ENCRYPTION, STANDARD_NAMES, STANDARD_SHORT, deviceName, severityRank, stateOf, verdictOf } from './labels.js';

/** An icon that screen readers skip (the word next to it says the same). */
const icon = (glyph) => h('span', { class: 'icon', 'aria-hidden': 'true' }, glyph);

export function verdictBadge(verdict, large = false) {
  const v = verdictOf(verdict);
  return h('span', { class: `badge verdict verdict-${verdict}${large ? ' badge-large' : ''}` }, icon(v.icon), ' ', v.word);
}

export function stateBadge(state) {
  const s = stateOf(state);
  return h('span', { class: `badge state state-${state}` }, icon(s.icon), ' ', s.word);
}

export function severityBadge(severity) {
  return h('span', { class: `badge severity severity-${severity}` }, severity);
}

export function encryptionLabel(encryption) {
  const key = ENCRYPTION[encryption] ? encryption : 'unknown';
  const e = ENCRYPTION[key];
  const help = key === 'plaintext' || key === 'partly' ? 'anyone on the path (Wi-Fi, internet provider, router) can read it' : null;
  return h('span', { class: `enc enc-${key}`, title: help }, icon(e.icon), ' ', e.word);
}

/** "garden-cam", with the vendor and addresses as a second line. */
function deviceSubtitle(device) {
  const parts = [];
  if (device.vendor && device.vendor !== deviceName(device)) parts.push(device.vendor);
  else if (device.locally_administered) parts.push('randomised MAC');
  if (device.ips?.length) parts.push(device.ips[0]);
  const name = deviceName(device);
  if (device.mac && device.mac !== name) parts.push(device.mac);
  else if (!device.mac && device.id !== name && !device.ips?.includes(device.id)) parts.push(device.id);
  return parts.join(' · ');
}

/** The five standards of a report card, one row each: icon + word + standard. */
export function standardsRow(report) {
  return h(
    'ul',
    { class: 'standards', 'aria-label': 'The five standards' },
    (report?.standards ?? []).map((cell) =>
      h(
        'li',
        { class: `standard state-${cell.state}`, title: cell.sentence },
        h('span', { class: 'standard-state' }, icon(stateOf(cell.state).icon), ' ', stateOf(cell.state).word),
        h('span', { class: 'standard-name' }, STANDARD_SHORT[cell.standard] ?? cell.name),
      ),
    ),
  );
}

/**
 * Why a device got its verdict, in one sentence: for creepy or questionable, the sentence of the
 * first standard it fails (else warns on); otherwise the card's overall sentence.
 */
function whySentence(report) {
  const cells = report?.standards ?? [];
  const worst = cells.find((c) => c.state === 'fail') ?? cells.find((c) => c.state === 'warn');
  if (!worst) return h('p', { class: 'sentence' }, report?.sentence ?? '');
  const others = cells.filter((c) => c !== worst && (c.state === 'fail' || c.state === 'warn')).length;
  return h(
    'p',
    { class: 'sentence' },
    h('span', { class: 'why-label' }, `${worst.name}: `),
    worst.sentence,
    others > 0 ? h('span', { class: 'muted' }, ` (and ${plural(others, 'more standard')})`) : null,
  );
}

/** A device on the overview (DeviceListItem). */
export function deviceCard(device) {
  const findings = device.findings ?? { total: 0, by_severity: {} };
  const worst = ['critical', 'high', 'medium', 'low']
    .filter((s) => findings.by_severity?.[s] > 0)
    .map((s) => `${findings.by_severity[s]} ${s}`)
    .join(', ');
  const plaintextBytes = device.encryption?.plaintext?.bytes ?? 0;
  const allBytes = (device.bytes_sent ?? 0) + (device.bytes_received ?? 0);
  return h(
    'article',
    { class: `card device-card verdict-edge-${device.report?.verdict}`, 'data-device': device.id },
    h(
      'header',
      { class: 'card-head' },
      verdictBadge(device.report?.verdict),
      h('h3', { class: 'device-name' }, h('a', { href: route('device', device.id) }, deviceName(device))),
      h('p', { class: 'muted small' }, deviceSubtitle(device)),
    ),
    whySentence(device.report),
    standardsRow(device.report),
    h(
      'p',
      { class: 'card-foot small' },
      findings.total > 0 ? `${plural(findings.total, 'finding')} (${worst})` : 'No findings',
      ' · ',
      `${bytes(allBytes)} in ${plural(device.flows ?? 0, 'flow')}`,
      plaintextBytes > 0 ? ` · ${percent(plaintextBytes, allBytes)} readable` : '',
      ' · ',
      h('a', { href: route('device', device.id), 'aria-label': `Details of ${deviceName(device)}` }, 'Details'),
    ),
  );
}

/** Key facts as a description list; rows with no value are left out. */
export function factList(rows, className = 'facts') {
  return h(
    'dl',
    { class: className },
    rows
      .filter(([, value]) => value !== null && value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0))
      .map(([term, value]) => h('div', null, h('dt', null, term), h('dd', null, Array.isArray(value) ? value.join(', ') : value))),
  );
}

/** An evidence value as one readable line (nested objects such as a masked password included). */
function evidenceText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map(evidenceText).join(', ');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${evidenceText(v)}`)
      .join('; ');
  }
  return String(value);
}

/** The evidence fields of a finding other than flows and byte counts (already masked by the analyzer). */
function evidenceDetails(evidence) {
  const rows = [];
  for (const [key, value] of Object.entries(evidence ?? {})) {
    if (key === 'flows' || key === 'bytes_sent' || key === 'bytes_received') continue;
    const text = evidenceText(value);
    if (text === '') continue;
    rows.push([key.replace(/_/g, ' '), text.length > 400 ? `${text.slice(0, 400)}…` : text]);
  }
  return rows;
}

function seenText(finding) {
  const first = time(finding.first_seen);
  return finding.first_seen === finding.last_seen ? `seen ${first}` : `first seen ${first}, last seen ${time(finding.last_seen)}`;
}

/**
 * One finding (FindingItem or FindingReport): title, sentence, where and when; its evidence
 * (the analyzer's masked details and the flows behind it) in a <details> whose flows load when
 * it opens (source.flows({ id: [...] })).
 */
export function findingItem(finding, source, options = {}) {
  const ev = finding.evidence ?? { flows: [] };
  const flowIds = Array.isArray(ev.flows) ? ev.flows : [];
  const sent = ev.bytes_sent ?? 0;
  const received = ev.bytes_received ?? 0;
  const flowsBox = h('div', { class: 'evidence-flows' });
  const evidence = h(
    'details',
    { class: 'evidence' },
    h('summary', null, flowIds.length ? `Evidence (${plural(flowIds.length, 'flow')})` : 'Evidence'),
    factList(
      [
        ['Code', h('code', null, finding.code)],
        ['First seen', h('time', { datetime: finding.first_seen }, time(finding.first_seen))],
        ['Last seen', h('time', { datetime: finding.last_seen }, time(finding.last_seen))],
        sent || received ? ['Bytes', `${bytes(sent)} sent, ${bytes(received)} received`] : null,
        ...evidenceDetails(ev),
      ].filter(Boolean),
      'facts facts-inline',
    ),
    flowsBox,
  );
  let loaded = false;
  evidence.addEventListener('toggle', async () => {
    if (!evidence.open || loaded || flowIds.length === 0) return;
    loaded = true;
    flowsBox.replaceChildren(h('p', { class: 'muted' }, 'Loading the flows…'));
    try {
      const page = await source.flows({ id: flowIds.slice(0, 50), limit: 50 });
      flowsBox.replaceChildren(
        page.flows.length ? flowsTable(page.flows, { compact: true, caption: 'The flows behind this finding' }) : h('p', { class: 'muted' }, 'These flows are no longer stored.'),
      );
    } catch (err) {
      loaded = false;
      flowsBox.replaceChildren(errorMessage(err));
    }
  });
  const meta = [
    options.showDevice ? h('a', { href: route('device', finding.device_id) }, finding.device_name ?? finding.device_id) : null,
    options.showStandard ? `${finding.standard}. ${STANDARD_NAMES[finding.standard] ?? ''}` : null,
    finding.remote || null,
    seenText(finding),
    finding.count > 1 ? `${count(finding.count)} times` : null,
  ].filter(Boolean);
  return h(
    'li',
    { class: `finding severity-edge-${finding.severity}`, 'data-code': finding.code, 'data-finding': finding.id ?? null },
    h('div', { class: 'finding-head' }, severityBadge(finding.severity), h('strong', { class: 'finding-title' }, finding.title)),
    h('p', { class: 'finding-detail' }, finding.detail),
    h('p', { class: 'finding-meta small muted' }, meta.map((m, i) => [i ? ' · ' : '', m])),
    evidence,
  );
}

export function findingList(findings, source, options = {}) {
  if (findings.length === 0) return h('p', { class: 'muted' }, options.empty ?? 'No findings.');
  return h('ul', { class: 'findings' }, findings.map((f) => findingItem(f, source, options)));
}

/**
 * A data table. On a phone each row becomes a small block of "label: value" lines (the labels
 * come from the headers), so nothing needs sideways scrolling; wider screens get the table.
 */
export function table(headers, rows, caption) {
  for (const row of rows) {
    [...row.children].forEach((cell, i) => {
      if (!headers[i]) return;
      cell.setAttribute('data-label', headers[i]);
      // One box for the value, so the stacked layout has exactly two columns: label, value.
      const value = h('div', { class: 'cell-value' });
      value.append(...cell.childNodes);
      cell.append(value);
    });
  }
  return h(
    'div',
    { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption ?? 'table' },
    h(
      'table',
      { class: 'stack-on-phone' },
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows),
    ),
  );
}

/** "2026-11-22 07:49:44" for table cells (the column header says UTC). */
function cellTime(iso) {
  return h('time', { datetime: iso }, time(iso).replace(' UTC', ''));
}

/**
 * Flows (FlowReport[]). options.compact: fewer columns (inside a finding, on a device page);
 * options.names: Map of device id to name, for the device column.
 */
export function flowsTable(flows, options = {}) {
  const compact = Boolean(options.compact);
  const headers = compact
    ? ['#', 'From', 'To', 'App', 'Encryption', 'Bytes', 'First seen (UTC)']
    : ['#', 'Device', 'From', 'To', 'App', 'Encryption', 'Packets', 'Bytes', 'First seen (UTC)'];
  const rows = flows.map((f) =>
    h(
      'tr',
      { 'data-flow': f.id },
      h('td', null, String(f.id)),
      compact ? null : h('td', null, f.device ? h('a', { href: route('device', f.device) }, options.names?.get(f.device) ?? f.device) : '–'),
      h('td', { class: 'mono' }, f.src),
      h('td', { class: 'mono' }, f.dst, f.server_name ? h('div', { class: 'muted small' }, f.server_name) : null),
      h('td', null, f.app ?? f.proto),
      h('td', null, encryptionLabel(f.encryption), f.reason ? h('div', { class: 'muted small' }, f.reason) : null),
      compact ? null : h('td', { class: 'num' }, count(f.packets)),
      h('td', { class: 'num' }, bytes(f.bytes)),
      h('td', { class: 'nowrap' }, cellTime(f.first_seen)),
    ),
  );
  return table(headers, rows, options.caption ?? 'Flows');
}

/** Where a device's traffic goes (RemoteEndpoint[]). */
export function remotesTable(remotes) {
  const rows = remotes.map((r) => {
    const readable = r.plaintext_bytes ?? 0;
    return h(
      'tr',
      { class: r.tracker ? 'is-tracker' : null },
      h('td', null, h('div', null, r.server_name ?? r.ip), r.server_name ? h('div', { class: 'muted small mono' }, r.ip) : null, r.local ? h('div', { class: 'muted small' }, 'on the LAN') : null),
      h(
        'td',
        null,
        r.organisation ?? '–',
        r.category ? h('div', { class: 'muted small' }, r.category.replace(/_/g, ' ')) : null,
        r.tracker ? h('div', null, h('span', { class: 'badge tracker' }, 'tracker')) : null,
      ),
      h('td', { class: 'num' }, bytes(r.bytes), h('div', { class: 'muted small' }, `${bytes(r.bytes_sent)} sent`)),
      h(
        'td',
        null,
        encryptionLabel(readable > 0 ? (r.encrypted_bytes > 0 ? 'partly' : 'plaintext') : r.encrypted_bytes > 0 ? 'encrypted' : 'unknown'),
        (r.encrypted_bytes ?? 0) > 0 && readable > 0 ? h('div', { class: 'muted small' }, `${percent(r.encrypted_bytes, r.bytes)} encrypted`) : null,
      ),
      h('td', { class: 'small' }, (r.services ?? []).join(' '), r.apps?.length ? h('div', { class: 'muted' }, r.apps.join(', ')) : null),
    );
  });
  return table(['Where', 'Organisation', 'Bytes', 'Encryption', 'Services'], rows, 'Where its traffic goes');
}

/** Findings in time order, as a timeline. */
export function timeline(findings) {
  const items = [...findings].sort((a, b) => (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : severityRank(a.severity) - severityRank(b.severity)));
  if (items.length === 0) return h('p', { class: 'muted' }, 'Nothing to show.');
  return h(
    'ol',
    { class: 'timeline' },
    items.map((f) =>
      h(
        'li',
        { class: `severity-edge-${f.severity}` },
        h('time', { datetime: f.first_seen }, time(f.first_seen)),
        ' ',
        severityBadge(f.severity),
        ' ',
        h('span', null, f.title),
        f.remote ? h('span', { class: 'muted' }, ` — ${f.remote}`) : null,
      ),
    ),
  );
}

/** Capture status: the daemon's figures when one runs, else the last capture run. */
export function statusPanel(status) {
  if (!status) return h('p', { class: 'muted' }, 'No status.');
  const d = status.daemon;
  if (d) {
    const drops = [d.drops_kernel, d.drops_interface, d.drops_queue].filter((x) => typeof x === 'number').reduce((a, b) => a + b, 0);
    const state = !d.running ? 'stopped' : status.daemon_stale ? 'not responding' : 'capturing';
    return h(
      'div',
      { class: 'status' },
      h('p', null, h('span', { class: `badge run-${state.replace(/ /g, '-')}` }, state), ' ', `${d.mode} on ${(d.interfaces ?? []).join(', ') || '–'}`, d.filter ? ` (filter: ${d.filter})` : ''),
      factList([
        ['Packets', count(d.packets)],
        ['Data', bytes(d.bytes)],
        ['Rate', `${rate(d.packets_per_second, 'packets/s')}, ${bytes(d.bytes_per_second)}/s`],
        ['Dropped', `${count(drops)} (kernel ${d.drops_kernel ?? 'n/a'}, interface ${d.drops_interface ?? 'n/a'}, queue ${count(d.drops_queue)})`],
        ['Malformed', count(d.malformed)],
        ['Live flows', count(d.flows_live)],
        ['Stored flows', count(d.flows_stored)],
        ['Since', time(d.started_at)],
        ['Last update', time(d.updated_at)],
      ]),
      d.warnings?.length ? h('ul', { class: 'warnings' }, d.warnings.map((w) => h('li', null, w))) : null,
    );
  }
  const c = status.database?.last_capture;
  return h(
    'div',
    { class: 'status' },
    h('p', { class: 'muted' }, 'No capture daemon writes to this database; these figures are from the last analysis.'),
    c
      ? factList([
          ['Files', c.files],
          ['Packets', count(c.packets)],
          ['Data', bytes(c.bytes)],
          ['Flows', count(c.flows)],
          ['Malformed', count(c.malformed)],
          ['Analysed', time(c.finished_at ?? c.started_at)],
          ['Warnings', c.warnings],
        ])
      : h('p', null, 'No capture yet.'),
  );
}

export function errorMessage(err) {
  return h('p', { class: 'error', role: 'alert' }, err?.message ?? String(err));
}

export function loading() {
  return h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…');
}

/**
 * Ask before something that cannot be undone. A modal <dialog>: focus moves into it, Escape
 * cancels, and focus returns to the button that opened it. Resolves true only on confirm.
 */
export function confirmDialog({ title, body, confirmLabel, cancelLabel = 'Cancel' }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const headingId = `dialog-${Date.now()}`;
    const confirmButton = h('button', { type: 'submit', value: 'confirm', class: 'danger' }, confirmLabel);
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': headingId },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: headingId }, title),
        h('p', null, body),
        h('div', { class: 'button-row' }, h('button', { type: 'submit', value: 'cancel', autofocus: true }, cancelLabel), confirmButton),
      ),
    );
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'confirm';
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(ok);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}
