import { describe, expect, it } from 'vitest';
import { compareVersions, outdatedSoftware, parseVersion, SOFTWARE_EOL_PRODUCTS } from '../../src/intel/software-eol.js';

describe('compareVersions', () => {
  it('compares numerically, part by part', () => {
    expect(compareVersions('1.4.35', '1.4.9')).toBeGreaterThan(0);
    expect(compareVersions('2014.63', '2016.74')).toBeLessThan(0);
    expect(compareVersions('3.0', '3.0.0')).toBe(0);
    expect(compareVersions('7.7', '7.7.1')).toBeLessThan(0);
  });

  it('sorts pre-releases before the release and patch letters after it', () => {
    expect(parseVersion('0.94.14rc21')).toEqual([0, 94, 14, 'rc', 21]);
    expect(compareVersions('0.94.14rc21', '0.94.14')).toBeLessThan(0);
    expect(compareVersions('0.94.14rc21', '0.94.13')).toBeGreaterThan(0);
    expect(compareVersions('1.0.2k', '1.0.2')).toBeGreaterThan(0);
    expect(compareVersions('1.0.2k', '1.0.2l')).toBeLessThan(0);
    expect(compareVersions('1.0.2k', '1.1.0')).toBeLessThan(0);
    expect(compareVersions('1.0.1f', '1.0.1g')).toBeLessThan(0);
    expect(compareVersions('7.4p1', '7.4')).toBeGreaterThan(0);
    expect(compareVersions('7.4p1', '7.5')).toBeLessThan(0);
    expect(compareVersions('2.25b', '2.28')).toBeLessThan(0);
  });
});

/** banner → [product, version, a word of the reason or source] for each finding, in table order. */
const OUTDATED: [string, [string, string | null, string][]][] = [
  ['SSH-2.0-dropbear_2014.63', [['Dropbear', '2014.63', 'CVE-2016-7406']]],
  ['SSH-2.0-dropbear_2019.78', [['Dropbear', '2019.78', 'CVE-2020-36254']]],
  ['SSH-2.0-dropbear_0.52', [['Dropbear', '0.52', 'CVE-2016-7406']]],
  ['SSH-2.0-OpenSSH_5.3', [['OpenSSH', '5.3', 'CVE-2018-15473']]],
  ['SSH-2.0-OpenSSH_4.3', [['OpenSSH', '4.3', 'CVE-2006-5051']]],
  ['SSH-2.0-OpenSSH_9.6p1', [['OpenSSH', '9.6p1', 'CVE-2024-6387']]],
  ['Linux/2.6.36, UPnP/1.0, MiniUPnPd/1.4', [['Linux kernel', '2.6.36', 'end of life'], ['MiniUPnPd', '1.4', 'CVE-2017-1000494']]],
  ['Linux 2.6.21 UPnP/1.0 miniupnpd/1.0', [['Linux kernel', '2.6.21', 'end of life'], ['MiniUPnPd', '1.0', 'CVE-2013-0229']]],
  ['Linux/4.9.0, UPnP/1.0, MiniUPnPd/2.1', [['Linux kernel', '4.9.0', '4.19']]],
  ['Linux/3.10.14 UPnP/1.0 Portable SDK for UPnP devices/1.6.6', [['Linux kernel', '3.10.14', '3.16'], ['libupnp (Portable SDK for UPnP Devices)', '1.6.6', 'CVE-2012-5958']]],
  ['Boa/0.94.14rc21', [['Boa', '0.94.14rc21', '2005']]],
  ['Boa/0.94.13', [['Boa', '0.94.13', '2005']]],
  ['GoAhead-Webs', [['GoAhead', null, 'CVE-2017-17562']]],
  ['GoAhead-http/5.1.1', [['GoAhead', '5.1.1', 'CVE-2021-42342']]],
  ['RomPager/4.07 UPnP/1.0', [['RomPager', '4.07', 'Misfortune Cookie']]],
  ['Allegro-Software-RomPager/4.06', [['RomPager', '4.06', 'CVE-2014-9222']]],
  ['220 (vsFTPd 2.3.4)', [['vsftpd', '2.3.4', 'CVE-2011-2523']]],
  ['220 ProFTPD 1.3.5 Server (ProFTPD Default Installation) [192.168.1.10]', [['ProFTPD', '1.3.5', 'CVE-2015-3306']]],
  ['220 mail.example.com ESMTP Exim 4.89 Mon, 03 Jun 2019 10:00:00 +0000', [['Exim', '4.89', 'CVE-2019-10149']]],
  ['Apache/2.2.15 (CentOS)', [['Apache httpd', '2.2.15', 'end of life']]],
  ['Apache/2.4.49 (Unix)', [['Apache httpd', '2.4.49', 'CVE-2021-41773']]],
  ['Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips PHP/5.4.16', [['OpenSSL', '1.0.2k', '1.0.2']]],
  ['Apache/2.2.22 (Debian) mod_ssl/2.2.22 OpenSSL/1.0.1e', [['OpenSSL', '1.0.1e', 'Heartbleed'], ['Apache httpd', '2.2.22', '2.2']]],
  ['OpenSSL/1.0.1g', [['OpenSSL', '1.0.1g', 'end of life']]],
  ['OpenSSL/1.1.1w', [['OpenSSL', '1.1.1w', '2023-09-11']]],
  ['OpenSSL/3.1.5', [['OpenSSL', '3.1.5', '3.1']]],
  ['Microsoft-IIS/6.0', [['Microsoft IIS', '6.0', 'CVE-2017-7269']]],
  ['Microsoft-IIS/8.5', [['Microsoft IIS', '8.5', 'extended support']]],
  ['nginx/1.14.0', [['nginx', '1.14.0', 'CVE-2021-23017']]],
  ['lighttpd/1.4.28', [['lighttpd', '1.4.28', 'CVE-2014-2323']]],
  ['lighttpd/1.4.45', [['lighttpd', '1.4.45', 'CVE-2018-19052']]],
  ['Wget/1.12 (linux-gnu)', [['Wget', '1.12', 'CVE-2017-13089']]],
  ['Wget/1.21.2', [['Wget', '1.21.2', 'CVE-2024-38428']]],
  ['curl/7.88.1', [['curl', '7.88.1', 'CVE-2023-38545']]],
  ['okhttp/2.7.2', [['OkHttp', '2.7.2', 'CVE-2016-2402']]],
  ['okhttp/3.12.13', [['OkHttp', '3.12.13', 'unsupported']]],
  ['BusyBox v1.19.4 (2013-02-19 10:31:17 CST) built-in shell (ash)', [['BusyBox', '1.19.4', 'CVE-2021-42386']]],
  ['thttpd/2.25b 29dec2003', [['thttpd', '2.25b', 'CVE-2017-17663']]],
  ['mini_httpd/1.19 19dec2003', [['mini_httpd', '1.19', 'CVE-2018-18778']]],
];

const CURRENT = [
  'SSH-2.0-OpenSSH_9.9',
  'SSH-2.0-OpenSSH_10.0',
  'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10', // regreSSHion range, but the distribution patches it
  'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3',
  'SSH-2.0-dropbear_2025.88',
  'Linux/5.15.0 UPnP/1.0 MiniUPnPd/2.3.7',
  'Linux/6.6.30, UPnP/1.0, MiniUPnPd/2.1.20190502',
  'Linux/3.x, UPnP/1.0, Portable SDK for UPnP devices/1.14.18',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP2A.240805.005)',
  'Apache/2.4.62 (Debian)',
  'Apache-Coyote/1.1',
  'Apache',
  'nginx/1.27.3',
  'nginx/1.18.0 (Ubuntu)',
  'nginx',
  'lighttpd/1.4.76',
  'OpenSSL/3.5.1',
  'Microsoft-IIS/10.0',
  'curl/8.11.1',
  'curl/7.29.0',
  'Wget/1.25.0',
  'okhttp/4.12.0',
  'BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) built-in shell (ash)',
  'GoAhead-http',
  'GoAhead/6.0.0',
  'RomPager/4.51 UPnP/1.0',
  '220 (vsFTPd 3.0.3)',
  '220 ProFTPD 1.3.5e Server (Debian)',
  '220 mail.example.com ESMTP Exim 4.97.1 Ubuntu Mon, 18 Nov 2024 10:00:00 +0000',
  'mini_httpd/1.30 26Oct2018',
  'SimpleHTTP/0.6 Python/3.12.3',
  'Boaz/1.0 Boat/2.0', // not Boa
  '',
];

describe('outdatedSoftware', () => {
  it.each(OUTDATED)('flags %s', (banner, expected) => {
    const found = outdatedSoftware(banner);
    expect(found.map((f) => [f.product, f.version])).toEqual(expected.map(([p, v]) => [p, v]));
    found.forEach((f, i) => {
      expect(f.reason + ' ' + f.source).toContain(expected[i][2]);
      expect(f.source).toMatch(/^https:\/\//);
    });
  });

  it.each(CURRENT)('leaves %j alone', (banner) => {
    expect(outdatedSoftware(banner)).toEqual([]);
  });

  it('knows every product the brief names', () => {
    for (const p of ['BusyBox', 'Boa', 'GoAhead', 'Dropbear', 'lighttpd', 'OpenSSL', 'OpenSSH', 'Linux kernel', 'MiniUPnPd', 'curl', 'Wget', 'OkHttp', 'Apache httpd', 'nginx', 'Microsoft IIS', 'thttpd', 'mini_httpd', 'RomPager']) {
      expect(SOFTWARE_EOL_PRODUCTS).toContain(p);
    }
  });
});
