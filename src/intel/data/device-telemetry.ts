/**
 * Telemetry, ACR and advertising hosts of devices and app SDKs that Ghostery's trackerdb (built from
 * browser traffic) misses. One row a host: [domain, organisation, category, source]; a row matches the
 * domain and its subdomains. Only hosts a public list or vendor document names are here.
 *
 * Kept as a TypeScript module rather than a .tsv file: tsc does not copy data files into dist/, and
 * the package ships dist/ only.
 *
 * Categories follow trackerdb's keys (advertising, site_analytics) plus two of ours:
 * - telemetry: device or app usage, diagnostics and crash reports sent to the vendor;
 * - acr: automatic content recognition, a TV fingerprinting what is on screen.
 */
export type TelemetryRow = readonly [domain: string, organisation: string, category: string, source: string];

const PERFLYST = 'https://github.com/Perflyst/PiHoleBlocklist/blob/master/';
const HAGEZI = 'https://github.com/hagezi/dns-blocklists/blob/main/domains/';
/** BSI (German federal office for information security), SiSyPHus study of Windows 10 telemetry. */
const BSI_WINDOWS =
  'https://www.bsi.bund.de/SharedDocs/Downloads/DE/BSI/Cyber-Sicherheit/SiSyPHus/Telemetrie-Endpunkte_Windows10_Build_Build_21H2.xlsx';

const ANDROID = `${PERFLYST}android-tracking.txt`;
const SMART_TV = `${PERFLYST}SmartTV.txt`;
const FIRE_TV = `${PERFLYST}AmazonFireTV.txt`;
const SAMSUNG = `${HAGEZI}native.samsung.txt`;
const LG = `${HAGEZI}native.lgwebos.txt`;
const ROKU = `${HAGEZI}native.roku.txt`;
const AMAZON = `${HAGEZI}native.amazon.txt`;
const XIAOMI = `${HAGEZI}native.xiaomi.txt`;

export const DEVICE_TELEMETRY: readonly TelemetryRow[] = [
  // App SDKs: Firebase Analytics and Crashlytics (firebase-settings.crashlytics.com and others).
  ['app-measurement.com', 'Google (Firebase Analytics)', 'site_analytics', ANDROID],
  ['crashlytics.com', 'Google (Firebase Crashlytics)', 'telemetry', ANDROID],

  // Samsung smart TVs: ACR hosts (per region), ads, device logs.
  ['samsungacr.com', 'Samsung', 'acr', SAMSUNG],
  ['acr0.samsungcloudsolution.com', 'Samsung', 'acr', SMART_TV],
  ...['au', 'br', 'ca', 'eu', 'in', 'kr', 'mx', 'nz', 'us'].map(
    (region) => [`acr-${region}-prd.samsungcloud.tv`, 'Samsung', 'acr', SAMSUNG] as const,
  ),
  ['samsungads.com', 'Samsung Ads', 'advertising', SAMSUNG],
  ['samsungadhub.com', 'Samsung Ads', 'advertising', SAMSUNG],
  ['samsungtvads.com', 'Samsung Ads', 'advertising', SAMSUNG],
  ['devicelog.samsungcloudsolution.net', 'Samsung', 'telemetry', SAMSUNG],

  // LG webOS TVs: ACR by Alphonso (LG Ad Solutions), LG's ad servers.
  ['alphonso.tv', 'LG Ad Solutions (Alphonso)', 'acr', LG],
  ['lgsmartad.com', 'LG', 'advertising', LG],
  ['lgads.tv', 'LG', 'advertising', LG],
  ['ads.lgtvcommon.com', 'LG', 'advertising', LG],
  ['ad.lgappstv.com', 'LG', 'advertising', SMART_TV],

  // Roku.
  ['ravm.tv', 'Roku', 'advertising', ROKU],
  ['ads.roku.com', 'Roku', 'advertising', ROKU],
  ['acr.roku.com', 'Roku', 'acr', ROKU],
  ['logs.roku.com', 'Roku', 'telemetry', ROKU],
  ['analytics.roku.com', 'Roku', 'telemetry', ROKU],

  // Amazon devices (Fire TV, Echo, Kindle): device metrics and mobile ads.
  ['device-metrics-us.amazon.com', 'Amazon', 'telemetry', AMAZON],
  ['device-metrics-us-2.amazon.com', 'Amazon', 'telemetry', AMAZON],
  ['fls-na.amazon.com', 'Amazon', 'telemetry', FIRE_TV],
  ['fls-eu.amazon.com', 'Amazon', 'telemetry', FIRE_TV],
  ['mads.amazon.com', 'Amazon', 'advertising', AMAZON],
  ['mads-eu.amazon.com', 'Amazon', 'advertising', FIRE_TV],

  // Xiaomi phones and TVs: MiStat analytics, MIUI tracking, ads.
  ...['', 'intl.', 'india.', 'rus.'].map(
    (region) => [`data.mistat.${region}xiaomi.com`, 'Xiaomi', 'telemetry', XIAOMI] as const,
  ),
  ...['', 'eu.', 'intl.', 'india.', 'rus.'].map(
    (region) => [`tracking.${region}miui.com`, 'Xiaomi', 'telemetry', XIAOMI] as const,
  ),
  ['ad.xiaomi.com', 'Xiaomi', 'advertising', XIAOMI],
  ['ad.intl.xiaomi.com', 'Xiaomi', 'advertising', XIAOMI],

  // Windows diagnostic data ("Connected User Experiences and Telemetry").
  ['events.data.microsoft.com', 'Microsoft (Windows diagnostic data)', 'telemetry', BSI_WINDOWS],
  ['vortex-win.data.microsoft.com', 'Microsoft (Windows diagnostic data)', 'telemetry', BSI_WINDOWS],
];
