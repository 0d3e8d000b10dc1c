/**
 * JSON schemas of the API (src/server/api-types.ts in schema form). Fastify validates requests
 * with them (bad or unknown parameters: 400) and serializes responses with them, which also
 * keeps any field not listed here out of the answers.
 */
import { FINDING_CODES, SEVERITIES } from '../standards/types.js';

const nullable = (type: string): { type: string[] } => ({ type: [type, 'null'] });
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const strings = { type: 'array', items: str } as const;

function object(properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false, ...extra };
}

// -------------------------------------------------------------------------------------------------
// Request parameters

/** A device id: a MAC address or (for devices seen without one) an IPv4/IPv6 address. */
export const DEVICE_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f:.]+$' } as const;
const ISO_TIME = {
  type: 'string',
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?$',
} as const;
const SEVERITY = { type: 'string', enum: [...SEVERITIES] } as const;
const PAGE = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
} as const;

const findingFilters = {
  device: DEVICE_ID,
  standard: { type: 'integer', minimum: 1, maximum: 5 },
  severity: SEVERITY,
  min_severity: SEVERITY,
  code: { type: 'string', maxLength: 64, pattern: '^[a-z0-9-]+$', enum: Object.keys(FINDING_CODES) },
  since: ISO_TIME,
  until: ISO_TIME,
};

export const findingsQuery = { type: 'object', properties: { ...findingFilters, ...PAGE }, additionalProperties: false } as const;
export const exportQuery = { type: 'object', properties: findingFilters, additionalProperties: false } as const;

export const flowsQuery = {
  type: 'object',
  properties: {
    id: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 50 },
    device: DEVICE_ID,
    encryption: { type: 'string', enum: ['encrypted', 'plaintext', 'unknown'] },
    app: { type: 'string', maxLength: 32, pattern: '^[a-z0-9_-]+$' },
    proto: { type: 'string', maxLength: 16, pattern: '^[a-z0-9]+$' },
    remote: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_\\[\\]-]+$' },
    since: ISO_TIME,
    until: ISO_TIME,
    ...PAGE,
  },
  additionalProperties: false,
} as const;

export const trafficQuery = {
  type: 'object',
  properties: { device: DEVICE_ID, since: ISO_TIME, until: ISO_TIME, buckets: { type: 'integer', minimum: 1, maximum: 500, default: 60 } },
  additionalProperties: false,
} as const;

export const trackersQuery = { type: 'object', properties: { device: DEVICE_ID }, additionalProperties: false } as const;
export const noQuery = { type: 'object', properties: {}, additionalProperties: false } as const;
export const deviceParams = { type: 'object', properties: { id: DEVICE_ID }, required: ['id'], additionalProperties: false } as const;

export const setupBody = object({
  token: { type: 'string', minLength: 1, maxLength: 200 },
  password: { type: 'string', minLength: 1, maxLength: 1024 },
});
export const loginBody = object({ password: { type: 'string', minLength: 1, maxLength: 1024 } });
export const changePasswordBody = object({
  current: { type: 'string', minLength: 1, maxLength: 1024 },
  password: { type: 'string', minLength: 1, maxLength: 1024 },
});
export const settingsBody = object({ retain_days: { type: ['integer', 'null'], minimum: 1, maximum: 3650 } });

// -------------------------------------------------------------------------------------------------
// Responses

const severityCounts = object(Object.fromEntries(SEVERITIES.map((s) => [s, int])));
const encryptionTotals = object({
  encrypted: object({ flows: int, bytes: int }),
  plaintext: object({ flows: int, bytes: int }),
  unknown: object({ flows: int, bytes: int }),
});
const reportCard = object({
  verdict: str,
  sentence: str,
  standards: {
    type: 'array',
    items: object({ standard: int, name: str, state: str, sentence: str, because: strings, limits: str }),
  },
});
/** Evidence carries per-code details (masked secrets only): passed through as stored. */
const evidence = { type: 'object', additionalProperties: true, properties: { flows: { type: 'array', items: int }, bytes_sent: int, bytes_received: int } };

export const findingItem = object({
  id: int,
  device_id: str,
  device_name: str,
  code: str,
  severity: str,
  title: str,
  standard: int,
  detail: str,
  remote: str,
  evidence,
  first_seen: str,
  last_seen: str,
  count: int,
});
const observation = object({ kind: str, standard: int, detail: str, remote: str, evidence, first_seen: str, last_seen: str, count: int });
const flowReport = object({
  id: int,
  proto: str,
  src: str,
  dst: str,
  device: nullable('string'),
  peer_device: nullable('string'),
  vlan: int,
  packets: int,
  bytes: int,
  packets_c2s: int,
  packets_s2c: int,
  bytes_c2s: int,
  bytes_s2c: int,
  first_seen: str,
  last_seen: str,
  tcp_state: nullable('string'),
  end_reason: str,
  app: nullable('string'),
  encryption: nullable('string'),
  reason: nullable('string'),
  server_name: nullable('string'),
});
const trackerOrganisation = object({
  organisation: str,
  category: str,
  domains: strings,
  devices: strings,
  contacts: int,
  bytes_sent: int,
  last_seen: str,
});
const deviceItemProperties = {
  id: str,
  mac: nullable('string'),
  locally_administered: bool,
  ips: strings,
  vendor: nullable('string'),
  hostname: nullable('string'),
  vendor_class: nullable('string'),
  name: str,
  first_seen: str,
  last_seen: str,
  flows: int,
  bytes_sent: int,
  bytes_received: int,
  encryption: encryptionTotals,
  report: reportCard,
  findings: object({ total: int, by_severity: severityCounts }),
};
const remoteEndpoint = object({
  ip: str,
  server_name: nullable('string'),
  organisation: nullable('string'),
  category: nullable('string'),
  tracker: bool,
  local: bool,
  flows: int,
  bytes: int,
  bytes_sent: int,
  bytes_received: int,
  encrypted_bytes: int,
  plaintext_bytes: int,
  unknown_bytes: int,
  services: strings,
  apps: strings,
  first_seen: str,
  last_seen: str,
});

export const authStateResponse = object({
  setup_required: bool,
  authenticated: bool,
  https: bool,
  session_expires_at: nullable('string'),
  password_rules: str,
});

export const summaryResponse = object({
  devices: int,
  verdicts: object({ creepy: int, questionable: int, 'not-creepy': int, 'not-enough-seen': int }),
  findings: object({
    total: int,
    by_severity: severityCounts,
    by_standard: { type: 'array', items: object({ standard: int, name: str, total: int, by_severity: severityCounts }) },
  }),
  traffic: encryptionTotals,
  top_trackers: { type: 'array', items: trackerOrganisation },
  first_seen: nullable('string'),
  last_seen: nullable('string'),
  captures: int,
});

export const deviceListResponse = object({ devices: { type: 'array', items: object(deviceItemProperties) } });
export const deviceDetailResponse = object({
  ...deviceItemProperties,
  remotes: { type: 'array', items: remoteEndpoint },
  findings_list: { type: 'array', items: findingItem },
  observations: { type: 'array', items: observation },
  recent_flows: { type: 'array', items: flowReport },
  flows_total: int,
});
export const forgetResponse = object({
  device: str,
  deleted: object({ devices: int, flows: int, findings: int, observations: int }),
});
export const findingPageResponse = object({ total: int, limit: int, offset: int, findings: { type: 'array', items: findingItem } });
export const flowPageResponse = object({ total: int, limit: int, offset: int, flows: { type: 'array', items: flowReport } });
export const trafficResponse = object({
  bucket_seconds: num,
  from: nullable('string'),
  to: nullable('string'),
  points: { type: 'array', items: object({ start: str, encrypted: int, plaintext: int, unknown: int }) },
});
export const trackerListResponse = object({ trackers: { type: 'array', items: trackerOrganisation } });

const daemonStatus = {
  type: ['object', 'null'],
  properties: {
    mode: str,
    version: str,
    pid: int,
    started_at: str,
    updated_at: str,
    running: bool,
    interfaces: strings,
    filter: nullable('string'),
    packets: int,
    bytes: int,
    malformed: int,
    drops_kernel: nullable('integer'),
    drops_interface: nullable('integer'),
    drops_queue: int,
    packets_per_second: num,
    bytes_per_second: num,
    flows_live: int,
    flows_stored: int,
    findings: int,
    warnings: strings,
  },
  additionalProperties: false,
};
const captureRun = {
  type: ['object', 'null'],
  properties: {
    id: int,
    mode: str,
    files: strings,
    started_at: str,
    finished_at: nullable('string'),
    packets: int,
    bytes: int,
    flows: int,
    malformed: int,
    warnings: strings,
  },
  additionalProperties: false,
};
export const statusResponse = object({
  daemon: daemonStatus,
  daemon_stale: bool,
  database: object({ devices: int, flows: int, findings: int, captures: int, last_capture: captureRun }),
  server: object({ version: str, started_at: str, https: bool }),
});
export const settingsResponse = object({ retain_days: nullable('integer') });
