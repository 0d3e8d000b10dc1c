/**
 * Software past its end of life, or at a version with a well-known serious flaw, as named in the
 * banners devices show: HTTP Server and User-Agent values, SSH identification strings, UPnP SERVER
 * strings, FTP and SMTP greetings. Each rule names its source (vendor lifecycle page, advisory, NVD).
 *
 * Banners are a claim, not proof: distributions backport fixes without changing the upstream version,
 * so rules marked `backportable` are skipped when the banner names a distribution package
 * (e.g. "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"). End-of-life rules with a date apply once that date has
 * passed (judged when this module loads).
 */

export interface OutdatedSoftware {
  product: string;
  /** The version in the banner, or null when the banner names the product only. */
  version: string | null;
  reason: string;
  source: string;
}

/** [range, reason, source, options]; range is '*' (any version, even none), '<v', or '>=v <w'. */
type RuleSpec = readonly [range: string, reason: string, source: string, options?: RuleOptions];

interface RuleOptions {
  /** An end-of-life date (YYYY-MM-DD): the rule applies once it has passed. */
  since?: string;
  /** Distributions often patch this flaw in place: skip when the banner names a distribution. */
  backportable?: boolean;
}

interface ProductSpec {
  product: string;
  /** Group 1, when present, is the version. */
  pattern: RegExp;
  rules: readonly RuleSpec[];
}

const nvd = (cve: string): string => `https://nvd.nist.gov/vuln/detail/${cve}`;
const OPENSSL_POLICY = 'https://openssl-library.org/policies/releasestrat/';
const KERNEL_RELEASES = 'https://www.kernel.org/category/releases.html';

/** A version token: digits with dots, optionally letters and digits after (1.0.2k, 0.94.14rc21, 7.4p1). */
const V = String.raw`(\d+(?:\.\d+)+[a-z]*\d*)`;

const PRODUCTS: readonly ProductSpec[] = [
  {
    product: 'BusyBox',
    pattern: new RegExp(String.raw`\bBusyBox v?${V}`, 'i'),
    rules: [['<1.34.0', 'memory-corruption flaws in awk, hush, unlzma and other applets (CVE-2021-42373 to CVE-2021-42386), fixed in 1.34', 'https://jfrog.com/blog/unboxing-busybox-14-new-vulnerabilities-uncovered-by-claroty-and-jfrog/']],
  },
  {
    product: 'Boa',
    pattern: /(?:^|[\s(,;])Boa(?:\/(\d[\w.]*))?(?=$|[\s),;])/,
    rules: [['*', 'the Boa web server has been unmaintained since 2005, with known unfixed flaws (e.g. CVE-2017-9833)', 'https://www.microsoft.com/en-us/security/blog/2022/11/22/vulnerable-sdk-components-lead-to-supply-chain-risks-in-iot-and-ot-environments/']],
  },
  {
    // "GoAhead-Webs" is the 2.x server, which never states its version.
    product: 'GoAhead',
    pattern: /\bGoAhead-Webs\b(?:\/(\d[\w.]*))?/,
    rules: [['*', 'GoAhead 2.x, older than 3.6.5: remote code execution through CGI (CVE-2017-17562)', nvd('CVE-2017-17562')]],
  },
  {
    product: 'GoAhead',
    pattern: new RegExp(String.raw`\bGoAhead(?:-http)?\/${V}`),
    rules: [
      ['<3.6.5', 'remote code execution through CGI (CVE-2017-17562)', nvd('CVE-2017-17562')],
      ['>=4.0 <5.1.5', 'remote code execution through the upload filter and CGI (CVE-2021-42342)', nvd('CVE-2021-42342')],
    ],
  },
  {
    product: 'Dropbear',
    pattern: /\bdropbear[_/ -]v?(\d+\.\d+)/i,
    rules: [
      ['<2016.74', 'format-string remote code execution through the user name (CVE-2016-7406)', nvd('CVE-2016-7406')],
      ['<2020.79', 'older than 2020.79: scp path validation flaw (CVE-2020-36254)', nvd('CVE-2020-36254')],
    ],
  },
  {
    product: 'lighttpd',
    pattern: new RegExp(String.raw`\blighttpd\/${V}`, 'i'),
    rules: [
      ['<1.4.35', 'SQL injection and path traversal through the Host header (CVE-2014-2323, CVE-2014-2324)', nvd('CVE-2014-2323')],
      ['<1.4.50', 'path traversal in mod_alias (CVE-2018-19052)', nvd('CVE-2018-19052')],
    ],
  },
  {
    product: 'OpenSSL',
    pattern: new RegExp(String.raw`\bOpenSSL[/ ]${V}`, 'i'),
    rules: [
      ['>=1.0.1 <1.0.1g', 'Heartbleed: remote memory disclosure (CVE-2014-0160)', nvd('CVE-2014-0160')],
      ['<1.1.0', 'OpenSSL 1.0.2 and older are past end of life (1.0.2 since 2019-12-31)', OPENSSL_POLICY],
      ['<3.0.0', 'OpenSSL 1.1.x is past end of life (1.1.1 since 2023-09-11)', OPENSSL_POLICY],
      ['>=3.0.0 <3.1.0', 'OpenSSL 3.0 is past end of life (since 2026-09-07)', OPENSSL_POLICY, { since: '2026-09-08' }],
      ['>=3.1.0 <3.2.0', 'OpenSSL 3.1 is past end of life (since 2025-03-14)', OPENSSL_POLICY, { since: '2025-03-15' }],
      ['>=3.2.0 <3.3.0', 'OpenSSL 3.2 is past end of life (since 2025-11-23)', OPENSSL_POLICY, { since: '2025-11-24' }],
      ['>=3.3.0 <3.4.0', 'OpenSSL 3.3 is past end of life (since 2026-04-09)', OPENSSL_POLICY, { since: '2026-04-10' }],
    ],
  },
  {
    product: 'OpenSSH',
    pattern: /\bOpenSSH_(?:for_Windows_)?(\d+\.\d+(?:\.\d+)?(?:p\d+)?)/,
    rules: [
      ['<4.4', 'signal-handler race allowing remote code execution (CVE-2006-5051)', nvd('CVE-2006-5051')],
      ['<7.7', 'older than 7.7 (2018): user enumeration (CVE-2018-15473) among other fixed flaws', nvd('CVE-2018-15473')],
      ['>=8.5 <9.8', 'regreSSHion: unauthenticated remote code execution as root on glibc systems (CVE-2024-6387)', 'https://www.openssh.com/txt/release-9.8', { backportable: true }],
    ],
  },
  {
    // Kernel versions in UPnP SERVER strings and the like ("Linux/2.6.36, UPnP/1.0").
    product: 'Linux kernel',
    pattern: /\bLinux[/ ](\d+\.\d+(?:\.\d+)?)/,
    rules: [
      ['<4.0', 'Linux 2.6 and 3.x: every branch is past end of life (the last, 3.16, in 2020)', KERNEL_RELEASES],
      ['<5.10', 'Linux 4.x and 5.4 and older: every branch is past end of life (4.19 in 2024-12, 5.4 in 2025-12)', KERNEL_RELEASES],
    ],
  },
  {
    product: 'MiniUPnPd',
    pattern: new RegExp(String.raw`\bMiniUPnPd\/(\d+(?:\.\d+)+)`, 'i'),
    rules: [
      ['<1.4', 'SSDP and SOAP buffer overflows (CVE-2013-0229, CVE-2013-0230)', nvd('CVE-2013-0229')],
      ['<2.0', 'older than 2.0: uninitialized stack variable in the SOAP parser (CVE-2017-1000494)', nvd('CVE-2017-1000494')],
    ],
  },
  {
    product: 'libupnp (Portable SDK for UPnP Devices)',
    pattern: new RegExp(String.raw`\bPortable SDK for UPnP devices\/${V}`, 'i'),
    rules: [['<1.6.18', 'remotely exploitable stack overflows in SSDP parsing (CVE-2012-5958 to CVE-2012-5965)', nvd('CVE-2012-5958')]],
  },
  {
    product: 'curl',
    pattern: new RegExp(String.raw`\b(?:lib)?curl\/${V}`),
    rules: [['>=7.69.0 <8.4.0', 'SOCKS5 heap buffer overflow (CVE-2023-38545)', 'https://curl.se/docs/CVE-2023-38545.html', { backportable: true }]],
  },
  {
    product: 'Wget',
    pattern: new RegExp(String.raw`\bWget\/${V}`, 'i'),
    rules: [
      ['<1.19.2', 'stack buffer overflow in chunked responses, remote code execution (CVE-2017-13089)', nvd('CVE-2017-13089')],
      ['<1.25.0', 'URL userinfo mishandling lets a server be confused with another (CVE-2024-38428)', nvd('CVE-2024-38428'), { backportable: true }],
    ],
  },
  {
    product: 'OkHttp',
    pattern: new RegExp(String.raw`\bokhttp\/${V}`, 'i'),
    rules: [
      ['<2.7.4', 'certificate pinning bypass (CVE-2016-2402)', nvd('CVE-2016-2402')],
      ['<4.0.0', 'OkHttp 3.x and older are unsupported (fixes for 3.12.x ended 2021-12-31)', 'https://square.github.io/okhttp/security/security/'],
    ],
  },
  {
    product: 'Apache httpd',
    pattern: new RegExp(String.raw`\bApache\/${V}`),
    rules: [
      ['<2.4.0', 'Apache httpd 2.2 and older are past end of life (last 2.2 release, 2.2.34, in July 2017)', 'https://httpd.apache.org/security/vulnerabilities_22.html'],
      ['>=2.4.49 <2.4.51', 'path traversal and remote code execution (CVE-2021-41773, CVE-2021-42013)', 'https://httpd.apache.org/security/vulnerabilities_24.html'],
    ],
  },
  {
    product: 'nginx',
    pattern: new RegExp(String.raw`\bnginx\/${V}`, 'i'),
    rules: [['>=0.6.18 <1.20.1', 'DNS resolver off-by-one, memory overwrite (CVE-2021-23017)', 'https://nginx.org/en/security_advisories.html', { backportable: true }]],
  },
  {
    product: 'Microsoft IIS',
    pattern: /\bMicrosoft-IIS\/(\d+\.\d+)/,
    rules: [
      ['<7.0', 'IIS 6.0 (Windows Server 2003, unsupported since 2015): WebDAV remote code execution (CVE-2017-7269)', nvd('CVE-2017-7269')],
      ['<10.0', 'IIS 7.x and 8.x come with Windows Server 2008 and 2012, out of extended support (2020-01-14, 2023-10-10)', 'https://learn.microsoft.com/en-us/lifecycle/products/windows-server-2012-r2'],
    ],
  },
  {
    product: 'thttpd',
    pattern: /\bthttpd\/(\d+\.\d+[a-z]?)/,
    rules: [['<2.28', 'buffer overflow in the htpasswd implementation (CVE-2017-17663); unmaintained', nvd('CVE-2017-17663')]],
  },
  {
    product: 'mini_httpd',
    pattern: /\bmini_httpd\/(\d+\.\d+)/,
    rules: [['<1.30', 'remote arbitrary file read (CVE-2018-18778)', nvd('CVE-2018-18778')]],
  },
  {
    // Allegro Software's embedded server, also "Allegro-Software-RomPager/4.07".
    product: 'RomPager',
    pattern: /\bRomPager\/(\d+\.\d+)/,
    rules: [['<4.34', 'Misfortune Cookie: remote takeover through a crafted cookie (CVE-2014-9222)', nvd('CVE-2014-9222')]],
  },
  {
    product: 'vsftpd',
    pattern: new RegExp(String.raw`\bvsFTPd ${V}`, 'i'),
    rules: [['>=2.3.4 <2.3.5', 'the backdoored 2.3.4 release: a shell for a user name ending in ":)" (CVE-2011-2523)', nvd('CVE-2011-2523')]],
  },
  {
    product: 'ProFTPD',
    pattern: new RegExp(String.raw`\bProFTPD ${V}`),
    rules: [['>=1.3.5 <1.3.5a', 'mod_copy lets anyone copy files (SITE CPFR/CPTO) without logging in (CVE-2015-3306)', nvd('CVE-2015-3306')]],
  },
  {
    product: 'Exim',
    pattern: new RegExp(String.raw`\bExim ${V}`),
    rules: [['>=4.87 <4.92', '"Return of the WIZard": remote command execution as root (CVE-2019-10149)', nvd('CVE-2019-10149')]],
  },
];

/** A banner's text just after the version that names a distribution package. */
const DISTRIBUTION = /^[^\r\n]{0,24}?\b(?:ubuntu|debian|deb\d+u\d+|raspbian|el\d|fc\d\d|fedora|centos|red ?hat|suse|alpine|freebsd|openbsd)/i;
/** Pre-release tags sort before the release (1.0rc1 < 1.0); other letters after it (1.0.2k > 1.0.2). */
const PRERELEASE = new Set(['rc', 'alpha', 'beta', 'pre', 'dev', 'test']);

type Version = readonly (number | string)[];

/** "0.94.14rc21" → [0, 94, 14, 'rc', 21]; "1.0.2k" → [1, 0, 2, 'k']; "7.4p1" → [7, 4, 'p', 1]. */
export function parseVersion(text: string): Version {
  const parts: (number | string)[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    let j = i;
    if (c >= 0x30 && c <= 0x39) {
      let n = 0;
      for (; j < text.length && isDigit(text.charCodeAt(j)); j++) n = n * 10 + text.charCodeAt(j) - 0x30;
      parts.push(n);
    } else if (isLetter(c)) {
      while (j < text.length && isLetter(text.charCodeAt(j))) j++;
      parts.push(text.slice(i, j).toLowerCase());
    } else {
      j++; // a separator
    }
    i = j;
  }
  return parts;
}

/** Negative, zero or positive as a < b, a = b, a > b; missing numbers count as 0 (3.0 = 3.0.0). */
export function compareVersions(a: Version | string, b: Version | string): number {
  const x = typeof a === 'string' ? parseVersion(a) : a;
  const y = typeof b === 'string' ? parseVersion(b) : b;
  for (let i = 0; i < x.length || i < y.length; i++) {
    let p = x[i];
    let q = y[i];
    if (p === undefined && typeof q === 'number') p = 0;
    if (q === undefined && typeof p === 'number') q = 0;
    const kp = kind(p);
    const kq = kind(q);
    if (kp !== kq) return kp - kq;
    if (typeof p === 'number' && typeof q === 'number') {
      if (p !== q) return p - q;
    } else if (typeof p === 'string' && typeof q === 'string' && p !== q) {
      return p < q ? -1 : 1;
    }
  }
  return 0;
}

/** Sort rank of a version part: pre-release tag < end of version < patch letter < number. */
function kind(part: number | string | undefined): number {
  if (part === undefined) return 0;
  if (typeof part === 'number') return 2;
  return PRERELEASE.has(part) ? -1 : 1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

interface Rule {
  from: Version | null;
  below: Version | null;
  /** '*' rules also judge a banner without a version. */
  any: boolean;
  reason: string;
  source: string;
  backportable: boolean;
}

interface Product {
  product: string;
  pattern: RegExp;
  rules: Rule[];
}

function compile(now: number): Product[] {
  return PRODUCTS.map(({ product, pattern, rules }) => ({
    product,
    pattern,
    rules: rules
      .filter(([, , , options]) => options?.since === undefined || Date.parse(options.since) <= now)
      .map(([range, reason, source, options]) => {
        let from: Version | null = null;
        let below: Version | null = null;
        for (const bound of range === '*' ? [] : range.split(' ')) {
          if (bound.startsWith('>=')) from = parseVersion(bound.slice(2));
          else if (bound.startsWith('<')) below = parseVersion(bound.slice(1));
          else throw new Error(`software-eol: bad range "${range}" for ${product}`);
        }
        return { from, below, any: range === '*', reason, source, backportable: options?.backportable === true };
      }),
  }));
}

const TABLE = compile(Date.now());

/** Every product in the banner at an outdated or flawed version (one finding a product, the oldest flaw first). */
export function outdatedSoftware(banner: string): OutdatedSoftware[] {
  const found: OutdatedSoftware[] = [];
  for (const { product, pattern, rules } of TABLE) {
    const m = pattern.exec(banner);
    if (m === null || found.some((f) => f.product === product)) continue;
    const text = m[1] ?? null;
    const version = text === null ? null : parseVersion(text);
    for (const rule of rules) {
      if (!applies(rule, version)) continue;
      if (rule.backportable && DISTRIBUTION.test(banner.slice(m.index + m[0].length))) continue;
      found.push({ product, version: text, reason: rule.reason, source: rule.source });
      break;
    }
  }
  return found;
}

function applies(rule: Rule, version: Version | null): boolean {
  if (rule.any) return true;
  if (version === null) return false;
  if (rule.from !== null && compareVersions(version, rule.from) < 0) return false;
  return rule.below === null || compareVersions(version, rule.below) < 0;
}

/** The names of the products the table knows. */
export const SOFTWARE_EOL_PRODUCTS: readonly string[] = [...new Set(PRODUCTS.map((p) => p.product))];
