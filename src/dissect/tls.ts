/**
 * TLS over TCP (any port) and DTLS over UDP: what a client offers (versions, cipher suites,
 * extensions, SNI, ALPN, ECH, JA3/JA4 fingerprints), what the server picks (version, cipher,
 * JA3S), the server certificates while they are still in clear (TLS ≤ 1.2), alerts, and whether
 * the conversation went encrypted.
 *
 * TCP: the stream of each direction arrives in pieces through feed(); a small state machine per
 * direction cuts it into records without buffering them (only the record header and the
 * handshake messages are kept, bounded by HS_CAP), so a record or handshake message may be split
 * anywhere. Application data is skipped, not buffered.
 * DTLS: one datagram at a time; handshake fragments are reassembled in order per direction.
 *
 * probe() claims a TCP flow on a ClientHello or ServerHello record, an SSLv2-compatible
 * ClientHello, or application-data records at the very start (a session already under way when
 * the capture began: `midstream`). A STARTTLS dissector (SMTP, IMAP, POP3, FTP…) can hand over:
 * tlsDissector.start(ctx) and feed each direction from its first TLS record on.
 *
 * Roles come from the messages, not from `fromClient`: whichever side sends the ClientHello is
 * the client, so a flow whose direction was guessed wrong still reads right.
 *
 * Nothing secret is kept: no random, no session id, no key share.
 */
// crypto.hash: one call, no Hash object (a third of the fingerprinting cost with createHash).
import { hash, X509Certificate } from 'node:crypto';
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiText } from './plaintext.js';

// ---------------------------------------------------------------------------------------------
// Types

/** A parsed ClientHello: what fingerprints are computed from. Lists are in wire order, GREASE included. */
export interface TlsClientHello {
  /** legacy_version of the ClientHello body (0x0303 for TLS 1.2/1.3; 0xfefd for DTLS 1.2). */
  version: number;
  cipherSuites: number[];
  compressionMethods: number[];
  /** Extension types in wire order. */
  extensions: number[];
  /** supported_versions (ext 43); empty if absent. */
  supportedVersions: number[];
  /** supported_groups (ext 10). */
  supportedGroups: number[];
  /** ec_point_formats (ext 11). */
  ecPointFormats: number[];
  /** signature_algorithms (ext 13). */
  signatureAlgorithms: number[];
  /** server_name host_name, raw (latin1); null if absent. */
  sni: string | null;
  /** ALPN protocol names, raw (latin1). */
  alpn: string[];
  /** encrypted_client_hello (0xfe0d) present. */
  ech: boolean;
  /** Draft ESNI (0xffce) present. */
  esni: boolean;
  /** early_data (42) present: 0-RTT offered. */
  earlyData: boolean;
  /** Came in an SSLv2-compatible record (no extensions then). */
  sslv2: boolean;
  /** Lengths inside the message did not add up: fingerprints may be off. */
  truncated: boolean;
}

export interface TlsServerHello {
  /** legacy_version of the ServerHello. */
  version: number;
  /** selected_version from supported_versions (ext 43), or null. */
  selectedVersion: number | null;
  cipherSuite: number;
  compressionMethod: number;
  extensions: number[];
  alpn: string | null;
  /** The random is the HelloRetryRequest magic: a second ClientHello follows. */
  helloRetryRequest: boolean;
}

export type WeakCipherClass = 'null' | 'export' | 'anon' | 'rc4' | 'des' | '3des';

export interface WeakCipherSummary {
  /** How many of the offered suites fall in a weak class. */
  count: number;
  /** Which weak classes appear (sorted, unique). */
  classes: WeakCipherClass[];
  /** The weak suites themselves (first 32). */
  suites: number[];
}

export interface TlsClientHelloFacts {
  legacy_version: number;
  /** supported_versions without GREASE, wire order. */
  supported_versions: number[];
  /** Highest version the client offers (supported_versions, else legacy_version). */
  max_version: number;
  max_version_name: string;
  sni: string | null;
  alpn: string[];
  /** Cipher suites, wire order, GREASE removed. */
  cipher_suites: number[];
  weak_ciphers_offered: WeakCipherSummary;
  /** Compression other than NULL offered (CRIME). */
  compression_offered: boolean;
  /** Extension types, wire order, GREASE removed. */
  extensions: number[];
  supported_groups: number[];
  signature_algorithms: number[];
  ech: boolean;
  esni: boolean;
  early_data: boolean;
  sslv2_compatible: boolean;
  ja3: string;
  ja3_hash: string;
  ja4: string;
}

export interface TlsServerHelloFacts {
  legacy_version: number;
  /** Negotiated version: supported_versions (TLS 1.3) when present, else legacy_version. */
  version: number;
  version_name: string;
  cipher_suite: number;
  cipher_name: string | null;
  weak_cipher: boolean;
  weak_cipher_classes: WeakCipherClass[];
  /** Ephemeral key exchange (ECDHE/DHE, or any TLS 1.3 suite); null for an unknown suite. */
  forward_secrecy: boolean | null;
  compression: number;
  extensions: number[];
  alpn: string | null;
  hello_retry_request: boolean;
  ja3s: string;
  ja3s_hash: string;
}

export interface TlsCertificateFacts {
  subject: string;
  issuer: string;
  /** subjectAltName DNS names. */
  san_dns: string[];
  /** ISO 8601. */
  valid_from: string | null;
  valid_to: string | null;
  /** The capture time was outside [valid_from, valid_to]. */
  expired: boolean;
  not_yet_valid: boolean;
  /** subject == issuer and the signature verifies with the certificate's own key. */
  self_signed: boolean;
  is_ca: boolean;
  /** 'rsa', 'ec', 'ed25519', 'dsa', … or null when Node cannot read the key. */
  public_key_type: string | null;
  /** RSA/DSA modulus bits, EC curve bits. */
  public_key_bits: number | null;
  public_key_curve: string | null;
  /** e.g. 'sha256WithRSAEncryption', from the DER; an OID when unknown. */
  signature_algorithm: string | null;
  /** MD5 or SHA-1 based signature. */
  weak_signature: boolean;
  fingerprint256: string;
  fingerprint_sha1: string;
  /** Size of the DER. */
  der_length: number;
  /** Node could not parse it: only der_length and fingerprints are meaningful. */
  unparsed: boolean;
}

export interface TlsAlertFacts {
  from: 'client' | 'server';
  level: number;
  description: number;
  name: string;
}

export interface TlsFacts {
  transport: 'tcp' | 'dtls';
  /** Record-layer versions seen (unique, in order of appearance). */
  record_versions: number[];
  client_hello: TlsClientHelloFacts | null;
  server_hello: TlsServerHelloFacts | null;
  /** Negotiated version (from the ServerHello) or null. */
  version: number | null;
  version_name: string | null;
  /** Negotiated version below TLS 1.2 (or DTLS 1.2). */
  obsolete_version: boolean;
  /** Server certificate chain as sent (leaf first); TLS ≤ 1.2 only (encrypted in TLS 1.3). */
  certificates: TlsCertificateFacts[];
  /** More certificates than parsed, or the message was larger than the buffer. */
  certificates_truncated: boolean;
  /** SNI matches the leaf's SAN DNS names (or CN when no SAN); null when either is unknown. */
  sni_matches_certificate: boolean | null;
  /** Server key exchange (TLS ≤ 1.2): ECDHE named group or DHE prime size. */
  key_exchange_group: number | null;
  key_exchange_dh_bits: number | null;
  client_certificate_sent: boolean;
  alerts: TlsAlertFacts[];
  /** Alerts sent under encryption (content unknown). */
  encrypted_alerts: number;
  change_cipher_spec_seen: boolean;
  application_data_seen: boolean;
  heartbeat_seen: boolean;
  /** ChangeCipherSpec or application data records were seen: the payload is encrypted. */
  encrypted_after_handshake: boolean;
  /** Both sides finished the handshake (CCS both ways for ≤1.2; client's encrypted flight after ServerHello for 1.3). */
  handshake_complete: boolean;
  /** The capture starts in the middle of an established TLS session (first record was not a hello). */
  midstream: boolean;
  /** A record header that made no sense ended parsing of one direction. */
  malformed: boolean;
  /** The server asked for a second ClientHello (TLS 1.3 HelloRetryRequest). */
  hello_retry_request: boolean;
}

// ---------------------------------------------------------------------------------------------
// Tables

/** IANA TLS cipher suite registry (tls-parameters-4), plus a few pre-standard suites still seen; names without the TLS_ prefix. */
const CIPHER_TABLE = [
  '0000 NULL_WITH_NULL_NULL 0001 RSA_WITH_NULL_MD5 0002 RSA_WITH_NULL_SHA 0003 RSA_EXPORT_WITH_RC4_40_MD5',
  '0004 RSA_WITH_RC4_128_MD5 0005 RSA_WITH_RC4_128_SHA 0006 RSA_EXPORT_WITH_RC2_CBC_40_MD5',
  '0007 RSA_WITH_IDEA_CBC_SHA 0008 RSA_EXPORT_WITH_DES40_CBC_SHA 0009 RSA_WITH_DES_CBC_SHA',
  '000a RSA_WITH_3DES_EDE_CBC_SHA 000b DH_DSS_EXPORT_WITH_DES40_CBC_SHA 000c DH_DSS_WITH_DES_CBC_SHA',
  '000d DH_DSS_WITH_3DES_EDE_CBC_SHA 000e DH_RSA_EXPORT_WITH_DES40_CBC_SHA 000f DH_RSA_WITH_DES_CBC_SHA',
  '0010 DH_RSA_WITH_3DES_EDE_CBC_SHA 0011 DHE_DSS_EXPORT_WITH_DES40_CBC_SHA 0012 DHE_DSS_WITH_DES_CBC_SHA',
  '0013 DHE_DSS_WITH_3DES_EDE_CBC_SHA 0014 DHE_RSA_EXPORT_WITH_DES40_CBC_SHA 0015 DHE_RSA_WITH_DES_CBC_SHA',
  '0016 DHE_RSA_WITH_3DES_EDE_CBC_SHA 0017 DH_anon_EXPORT_WITH_RC4_40_MD5 0018 DH_anon_WITH_RC4_128_MD5',
  '0019 DH_anon_EXPORT_WITH_DES40_CBC_SHA 001a DH_anon_WITH_DES_CBC_SHA 001b DH_anon_WITH_3DES_EDE_CBC_SHA',
  '001e KRB5_WITH_DES_CBC_SHA 001f KRB5_WITH_3DES_EDE_CBC_SHA 0020 KRB5_WITH_RC4_128_SHA',
  '0021 KRB5_WITH_IDEA_CBC_SHA 0022 KRB5_WITH_DES_CBC_MD5 0023 KRB5_WITH_3DES_EDE_CBC_MD5',
  '0024 KRB5_WITH_RC4_128_MD5 0025 KRB5_WITH_IDEA_CBC_MD5 0026 KRB5_EXPORT_WITH_DES_CBC_40_SHA',
  '0027 KRB5_EXPORT_WITH_RC2_CBC_40_SHA 0028 KRB5_EXPORT_WITH_RC4_40_SHA 0029 KRB5_EXPORT_WITH_DES_CBC_40_MD5',
  '002a KRB5_EXPORT_WITH_RC2_CBC_40_MD5 002b KRB5_EXPORT_WITH_RC4_40_MD5 002c PSK_WITH_NULL_SHA',
  '002d DHE_PSK_WITH_NULL_SHA 002e RSA_PSK_WITH_NULL_SHA 002f RSA_WITH_AES_128_CBC_SHA',
  '0030 DH_DSS_WITH_AES_128_CBC_SHA 0031 DH_RSA_WITH_AES_128_CBC_SHA 0032 DHE_DSS_WITH_AES_128_CBC_SHA',
  '0033 DHE_RSA_WITH_AES_128_CBC_SHA 0034 DH_anon_WITH_AES_128_CBC_SHA 0035 RSA_WITH_AES_256_CBC_SHA',
  '0036 DH_DSS_WITH_AES_256_CBC_SHA 0037 DH_RSA_WITH_AES_256_CBC_SHA 0038 DHE_DSS_WITH_AES_256_CBC_SHA',
  '0039 DHE_RSA_WITH_AES_256_CBC_SHA 003a DH_anon_WITH_AES_256_CBC_SHA 003b RSA_WITH_NULL_SHA256',
  '003c RSA_WITH_AES_128_CBC_SHA256 003d RSA_WITH_AES_256_CBC_SHA256 003e DH_DSS_WITH_AES_128_CBC_SHA256',
  '003f DH_RSA_WITH_AES_128_CBC_SHA256 0040 DHE_DSS_WITH_AES_128_CBC_SHA256 0041 RSA_WITH_CAMELLIA_128_CBC_SHA',
  '0042 DH_DSS_WITH_CAMELLIA_128_CBC_SHA 0043 DH_RSA_WITH_CAMELLIA_128_CBC_SHA',
  '0044 DHE_DSS_WITH_CAMELLIA_128_CBC_SHA 0045 DHE_RSA_WITH_CAMELLIA_128_CBC_SHA',
  '0046 DH_anon_WITH_CAMELLIA_128_CBC_SHA 0060 RSA_EXPORT1024_WITH_RC4_56_MD5',
  '0061 RSA_EXPORT1024_WITH_RC2_CBC_56_MD5 0062 RSA_EXPORT1024_WITH_DES_CBC_SHA',
  '0063 DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA 0064 RSA_EXPORT1024_WITH_RC4_56_SHA',
  '0065 DHE_DSS_EXPORT1024_WITH_RC4_56_SHA 0066 DHE_DSS_WITH_RC4_128_SHA 0067 DHE_RSA_WITH_AES_128_CBC_SHA256',
  '0068 DH_DSS_WITH_AES_256_CBC_SHA256 0069 DH_RSA_WITH_AES_256_CBC_SHA256 006a DHE_DSS_WITH_AES_256_CBC_SHA256',
  '006b DHE_RSA_WITH_AES_256_CBC_SHA256 006c DH_anon_WITH_AES_128_CBC_SHA256 006d DH_anon_WITH_AES_256_CBC_SHA256',
  '0080 GOSTR341094_WITH_28147_CNT_IMIT 0081 GOSTR341001_WITH_28147_CNT_IMIT 0082 GOSTR341094_WITH_NULL_GOSTR3411',
  '0083 GOSTR341001_WITH_NULL_GOSTR3411 0084 RSA_WITH_CAMELLIA_256_CBC_SHA 0085 DH_DSS_WITH_CAMELLIA_256_CBC_SHA',
  '0086 DH_RSA_WITH_CAMELLIA_256_CBC_SHA 0087 DHE_DSS_WITH_CAMELLIA_256_CBC_SHA',
  '0088 DHE_RSA_WITH_CAMELLIA_256_CBC_SHA 0089 DH_anon_WITH_CAMELLIA_256_CBC_SHA 008a PSK_WITH_RC4_128_SHA',
  '008b PSK_WITH_3DES_EDE_CBC_SHA 008c PSK_WITH_AES_128_CBC_SHA 008d PSK_WITH_AES_256_CBC_SHA',
  '008e DHE_PSK_WITH_RC4_128_SHA 008f DHE_PSK_WITH_3DES_EDE_CBC_SHA 0090 DHE_PSK_WITH_AES_128_CBC_SHA',
  '0091 DHE_PSK_WITH_AES_256_CBC_SHA 0092 RSA_PSK_WITH_RC4_128_SHA 0093 RSA_PSK_WITH_3DES_EDE_CBC_SHA',
  '0094 RSA_PSK_WITH_AES_128_CBC_SHA 0095 RSA_PSK_WITH_AES_256_CBC_SHA 0096 RSA_WITH_SEED_CBC_SHA',
  '0097 DH_DSS_WITH_SEED_CBC_SHA 0098 DH_RSA_WITH_SEED_CBC_SHA 0099 DHE_DSS_WITH_SEED_CBC_SHA',
  '009a DHE_RSA_WITH_SEED_CBC_SHA 009b DH_anon_WITH_SEED_CBC_SHA 009c RSA_WITH_AES_128_GCM_SHA256',
  '009d RSA_WITH_AES_256_GCM_SHA384 009e DHE_RSA_WITH_AES_128_GCM_SHA256 009f DHE_RSA_WITH_AES_256_GCM_SHA384',
  '00a0 DH_RSA_WITH_AES_128_GCM_SHA256 00a1 DH_RSA_WITH_AES_256_GCM_SHA384 00a2 DHE_DSS_WITH_AES_128_GCM_SHA256',
  '00a3 DHE_DSS_WITH_AES_256_GCM_SHA384 00a4 DH_DSS_WITH_AES_128_GCM_SHA256 00a5 DH_DSS_WITH_AES_256_GCM_SHA384',
  '00a6 DH_anon_WITH_AES_128_GCM_SHA256 00a7 DH_anon_WITH_AES_256_GCM_SHA384 00a8 PSK_WITH_AES_128_GCM_SHA256',
  '00a9 PSK_WITH_AES_256_GCM_SHA384 00aa DHE_PSK_WITH_AES_128_GCM_SHA256 00ab DHE_PSK_WITH_AES_256_GCM_SHA384',
  '00ac RSA_PSK_WITH_AES_128_GCM_SHA256 00ad RSA_PSK_WITH_AES_256_GCM_SHA384 00ae PSK_WITH_AES_128_CBC_SHA256',
  '00af PSK_WITH_AES_256_CBC_SHA384 00b0 PSK_WITH_NULL_SHA256 00b1 PSK_WITH_NULL_SHA384',
  '00b2 DHE_PSK_WITH_AES_128_CBC_SHA256 00b3 DHE_PSK_WITH_AES_256_CBC_SHA384 00b4 DHE_PSK_WITH_NULL_SHA256',
  '00b5 DHE_PSK_WITH_NULL_SHA384 00b6 RSA_PSK_WITH_AES_128_CBC_SHA256 00b7 RSA_PSK_WITH_AES_256_CBC_SHA384',
  '00b8 RSA_PSK_WITH_NULL_SHA256 00b9 RSA_PSK_WITH_NULL_SHA384 00ba RSA_WITH_CAMELLIA_128_CBC_SHA256',
  '00bb DH_DSS_WITH_CAMELLIA_128_CBC_SHA256 00bc DH_RSA_WITH_CAMELLIA_128_CBC_SHA256',
  '00bd DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256 00be DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256',
  '00bf DH_anon_WITH_CAMELLIA_128_CBC_SHA256 00c0 RSA_WITH_CAMELLIA_256_CBC_SHA256',
  '00c1 DH_DSS_WITH_CAMELLIA_256_CBC_SHA256 00c2 DH_RSA_WITH_CAMELLIA_256_CBC_SHA256',
  '00c3 DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256 00c4 DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256',
  '00c5 DH_anon_WITH_CAMELLIA_256_CBC_SHA256 00ff EMPTY_RENEGOTIATION_INFO_SCSV 1301 AES_128_GCM_SHA256',
  '1302 AES_256_GCM_SHA384 1303 CHACHA20_POLY1305_SHA256 1304 AES_128_CCM_SHA256 1305 AES_128_CCM_8_SHA256',
  '5600 FALLBACK_SCSV c001 ECDH_ECDSA_WITH_NULL_SHA c002 ECDH_ECDSA_WITH_RC4_128_SHA',
  'c003 ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA c004 ECDH_ECDSA_WITH_AES_128_CBC_SHA',
  'c005 ECDH_ECDSA_WITH_AES_256_CBC_SHA c006 ECDHE_ECDSA_WITH_NULL_SHA c007 ECDHE_ECDSA_WITH_RC4_128_SHA',
  'c008 ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA c009 ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'c00a ECDHE_ECDSA_WITH_AES_256_CBC_SHA c00b ECDH_RSA_WITH_NULL_SHA c00c ECDH_RSA_WITH_RC4_128_SHA',
  'c00d ECDH_RSA_WITH_3DES_EDE_CBC_SHA c00e ECDH_RSA_WITH_AES_128_CBC_SHA c00f ECDH_RSA_WITH_AES_256_CBC_SHA',
  'c010 ECDHE_RSA_WITH_NULL_SHA c011 ECDHE_RSA_WITH_RC4_128_SHA c012 ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  'c013 ECDHE_RSA_WITH_AES_128_CBC_SHA c014 ECDHE_RSA_WITH_AES_256_CBC_SHA c015 ECDH_anon_WITH_NULL_SHA',
  'c016 ECDH_anon_WITH_RC4_128_SHA c017 ECDH_anon_WITH_3DES_EDE_CBC_SHA c018 ECDH_anon_WITH_AES_128_CBC_SHA',
  'c019 ECDH_anon_WITH_AES_256_CBC_SHA c01a SRP_SHA_WITH_3DES_EDE_CBC_SHA c01b SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA',
  'c01c SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA c01d SRP_SHA_WITH_AES_128_CBC_SHA c01e SRP_SHA_RSA_WITH_AES_128_CBC_SHA',
  'c01f SRP_SHA_DSS_WITH_AES_128_CBC_SHA c020 SRP_SHA_WITH_AES_256_CBC_SHA c021 SRP_SHA_RSA_WITH_AES_256_CBC_SHA',
  'c022 SRP_SHA_DSS_WITH_AES_256_CBC_SHA c023 ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'c024 ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 c025 ECDH_ECDSA_WITH_AES_128_CBC_SHA256',
  'c026 ECDH_ECDSA_WITH_AES_256_CBC_SHA384 c027 ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'c028 ECDHE_RSA_WITH_AES_256_CBC_SHA384 c029 ECDH_RSA_WITH_AES_128_CBC_SHA256',
  'c02a ECDH_RSA_WITH_AES_256_CBC_SHA384 c02b ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'c02c ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 c02d ECDH_ECDSA_WITH_AES_128_GCM_SHA256',
  'c02e ECDH_ECDSA_WITH_AES_256_GCM_SHA384 c02f ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'c030 ECDHE_RSA_WITH_AES_256_GCM_SHA384 c031 ECDH_RSA_WITH_AES_128_GCM_SHA256',
  'c032 ECDH_RSA_WITH_AES_256_GCM_SHA384 c033 ECDHE_PSK_WITH_RC4_128_SHA c034 ECDHE_PSK_WITH_3DES_EDE_CBC_SHA',
  'c035 ECDHE_PSK_WITH_AES_128_CBC_SHA c036 ECDHE_PSK_WITH_AES_256_CBC_SHA c037 ECDHE_PSK_WITH_AES_128_CBC_SHA256',
  'c038 ECDHE_PSK_WITH_AES_256_CBC_SHA384 c039 ECDHE_PSK_WITH_NULL_SHA c03a ECDHE_PSK_WITH_NULL_SHA256',
  'c03b ECDHE_PSK_WITH_NULL_SHA384 c03c RSA_WITH_ARIA_128_CBC_SHA256 c03d RSA_WITH_ARIA_256_CBC_SHA384',
  'c03e DH_DSS_WITH_ARIA_128_CBC_SHA256 c03f DH_DSS_WITH_ARIA_256_CBC_SHA384 c040 DH_RSA_WITH_ARIA_128_CBC_SHA256',
  'c041 DH_RSA_WITH_ARIA_256_CBC_SHA384 c042 DHE_DSS_WITH_ARIA_128_CBC_SHA256',
  'c043 DHE_DSS_WITH_ARIA_256_CBC_SHA384 c044 DHE_RSA_WITH_ARIA_128_CBC_SHA256',
  'c045 DHE_RSA_WITH_ARIA_256_CBC_SHA384 c046 DH_anon_WITH_ARIA_128_CBC_SHA256',
  'c047 DH_anon_WITH_ARIA_256_CBC_SHA384 c048 ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256',
  'c049 ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384 c04a ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256',
  'c04b ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384 c04c ECDHE_RSA_WITH_ARIA_128_CBC_SHA256',
  'c04d ECDHE_RSA_WITH_ARIA_256_CBC_SHA384 c04e ECDH_RSA_WITH_ARIA_128_CBC_SHA256',
  'c04f ECDH_RSA_WITH_ARIA_256_CBC_SHA384 c050 RSA_WITH_ARIA_128_GCM_SHA256 c051 RSA_WITH_ARIA_256_GCM_SHA384',
  'c052 DHE_RSA_WITH_ARIA_128_GCM_SHA256 c053 DHE_RSA_WITH_ARIA_256_GCM_SHA384',
  'c054 DH_RSA_WITH_ARIA_128_GCM_SHA256 c055 DH_RSA_WITH_ARIA_256_GCM_SHA384',
  'c056 DHE_DSS_WITH_ARIA_128_GCM_SHA256 c057 DHE_DSS_WITH_ARIA_256_GCM_SHA384',
  'c058 DH_DSS_WITH_ARIA_128_GCM_SHA256 c059 DH_DSS_WITH_ARIA_256_GCM_SHA384',
  'c05a DH_anon_WITH_ARIA_128_GCM_SHA256 c05b DH_anon_WITH_ARIA_256_GCM_SHA384',
  'c05c ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256 c05d ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384',
  'c05e ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256 c05f ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384',
  'c060 ECDHE_RSA_WITH_ARIA_128_GCM_SHA256 c061 ECDHE_RSA_WITH_ARIA_256_GCM_SHA384',
  'c062 ECDH_RSA_WITH_ARIA_128_GCM_SHA256 c063 ECDH_RSA_WITH_ARIA_256_GCM_SHA384',
  'c064 PSK_WITH_ARIA_128_CBC_SHA256 c065 PSK_WITH_ARIA_256_CBC_SHA384 c066 DHE_PSK_WITH_ARIA_128_CBC_SHA256',
  'c067 DHE_PSK_WITH_ARIA_256_CBC_SHA384 c068 RSA_PSK_WITH_ARIA_128_CBC_SHA256',
  'c069 RSA_PSK_WITH_ARIA_256_CBC_SHA384 c06a PSK_WITH_ARIA_128_GCM_SHA256 c06b PSK_WITH_ARIA_256_GCM_SHA384',
  'c06c DHE_PSK_WITH_ARIA_128_GCM_SHA256 c06d DHE_PSK_WITH_ARIA_256_GCM_SHA384',
  'c06e RSA_PSK_WITH_ARIA_128_GCM_SHA256 c06f RSA_PSK_WITH_ARIA_256_GCM_SHA384',
  'c070 ECDHE_PSK_WITH_ARIA_128_CBC_SHA256 c071 ECDHE_PSK_WITH_ARIA_256_CBC_SHA384',
  'c072 ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256 c073 ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384',
  'c074 ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256 c075 ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384',
  'c076 ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 c077 ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384',
  'c078 ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256 c079 ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384',
  'c07a RSA_WITH_CAMELLIA_128_GCM_SHA256 c07b RSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c07c DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256 c07d DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c07e DH_RSA_WITH_CAMELLIA_128_GCM_SHA256 c07f DH_RSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c080 DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256 c081 DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384',
  'c082 DH_DSS_WITH_CAMELLIA_128_GCM_SHA256 c083 DH_DSS_WITH_CAMELLIA_256_GCM_SHA384',
  'c084 DH_anon_WITH_CAMELLIA_128_GCM_SHA256 c085 DH_anon_WITH_CAMELLIA_256_GCM_SHA384',
  'c086 ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256 c087 ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c088 ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256 c089 ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c08a ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256 c08b ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c08c ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256 c08d ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384',
  'c08e PSK_WITH_CAMELLIA_128_GCM_SHA256 c08f PSK_WITH_CAMELLIA_256_GCM_SHA384',
  'c090 DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256 c091 DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384',
  'c092 RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256 c093 RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384',
  'c094 PSK_WITH_CAMELLIA_128_CBC_SHA256 c095 PSK_WITH_CAMELLIA_256_CBC_SHA384',
  'c096 DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256 c097 DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384',
  'c098 RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256 c099 RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384',
  'c09a ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256 c09b ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384',
  'c09c RSA_WITH_AES_128_CCM c09d RSA_WITH_AES_256_CCM c09e DHE_RSA_WITH_AES_128_CCM',
  'c09f DHE_RSA_WITH_AES_256_CCM c0a0 RSA_WITH_AES_128_CCM_8 c0a1 RSA_WITH_AES_256_CCM_8',
  'c0a2 DHE_RSA_WITH_AES_128_CCM_8 c0a3 DHE_RSA_WITH_AES_256_CCM_8 c0a4 PSK_WITH_AES_128_CCM',
  'c0a5 PSK_WITH_AES_256_CCM c0a6 DHE_PSK_WITH_AES_128_CCM c0a7 DHE_PSK_WITH_AES_256_CCM',
  'c0a8 PSK_WITH_AES_128_CCM_8 c0a9 PSK_WITH_AES_256_CCM_8 c0aa PSK_DHE_WITH_AES_128_CCM_8',
  'c0ab PSK_DHE_WITH_AES_256_CCM_8 c0ac ECDHE_ECDSA_WITH_AES_128_CCM c0ad ECDHE_ECDSA_WITH_AES_256_CCM',
  'c0ae ECDHE_ECDSA_WITH_AES_128_CCM_8 c0af ECDHE_ECDSA_WITH_AES_256_CCM_8',
  'cc13 OLD_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 cc14 OLD_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'cc15 OLD_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 cca8 ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'cca9 ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ccaa DHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'ccab PSK_WITH_CHACHA20_POLY1305_SHA256 ccac ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256',
  'ccad DHE_PSK_WITH_CHACHA20_POLY1305_SHA256 ccae RSA_PSK_WITH_CHACHA20_POLY1305_SHA256',
  'fefe SSL_RSA_FIPS_WITH_DES_CBC_SHA feff SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA',
  'ffe0 SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA ffe1 SSL_RSA_FIPS_WITH_DES_CBC_SHA',
].join(' ');

const CIPHER_NAMES = new Map<number, string>();
{
  const parts = CIPHER_TABLE.split(' ');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const n = parts[i + 1];
    CIPHER_NAMES.set(parseInt(parts[i], 16), n.startsWith('SSL_') ? n : n.startsWith('OLD_') ? `OLD_TLS_${n.slice(4)}` : `TLS_${n}`);
  }
}

/** IANA name of a cipher suite (common ones), or null. */
export function cipherSuiteName(suite: number): string | null {
  return CIPHER_NAMES.get(suite) ?? null;
}

/** Weak classes of a suite: NULL encryption, EXPORT grade, anonymous key exchange, RC4, DES, 3DES. */
/** Weak classes of every named suite, worked out once (ClientHellos offer dozens of suites each). */
const WEAKNESS = new Map<number, readonly WeakCipherClass[]>();
for (const [suite, name] of CIPHER_NAMES) {
  const out: WeakCipherClass[] = [];
  if (name.includes('_NULL') && !name.endsWith('_SCSV')) out.push('null');
  if (name.includes('EXPORT')) out.push('export');
  if (name.includes('_anon_')) out.push('anon');
  if (name.includes('_RC4_')) out.push('rc4');
  if (name.includes('3DES')) out.push('3des');
  else if (name.includes('_DES')) out.push('des');
  if (out.length > 0) WEAKNESS.set(suite, Object.freeze(out));
}
const NOT_WEAK: readonly WeakCipherClass[] = Object.freeze([]);

/** Why a suite is weak (empty when it is not, or unknown). The array is shared: do not modify it. */
export function cipherWeakness(suite: number): readonly WeakCipherClass[] {
  return WEAKNESS.get(suite) ?? NOT_WEAK;
}

/** Ephemeral key exchange: ECDHE/DHE suites and all TLS 1.3 suites. null when the suite is unknown. */
export function forwardSecrecy(suite: number): boolean | null {
  const name = CIPHER_NAMES.get(suite);
  if (!name) return null;
  if (suite >= 0x1301 && suite <= 0x1305) return true;
  return /_(EC)?DHE_/.test(name);
}

const VERSION_NAMES: Record<number, string> = {
  0x0002: 'SSLv2',
  0x0300: 'SSLv3',
  0x0301: 'TLSv1.0',
  0x0302: 'TLSv1.1',
  0x0303: 'TLSv1.2',
  0x0304: 'TLSv1.3',
  0xfeff: 'DTLSv1.0',
  0xfefd: 'DTLSv1.2',
  0xfefc: 'DTLSv1.3',
  0x0100: 'DTLSv1.0-pre',
};

export function tlsVersionName(v: number): string {
  const n = VERSION_NAMES[v];
  if (n) return n;
  if (v >> 8 === 0x7f) return `TLSv1.3-draft-${v & 0xff}`;
  if (v === 0xfb1a) return 'TLSv1.3 (Fizz)';
  if (isGrease(v)) return 'GREASE';
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** Orders versions across TLS and DTLS (DTLS 1.0 ≈ TLS 1.1, 1.2 ≈ 1.2, 1.3 ≈ 1.3). */
function versionRank(v: number): number {
  if (v === 0xfeff) return 0x0302;
  if (v === 0xfefd) return 0x0303;
  if (v === 0xfefc) return 0x0304;
  if (v >> 8 === 0x7f || v === 0xfb1a) return 0x0303 + 0.5; // TLS 1.3 drafts, Facebook's Fizz
  if (v === 0x0100) return 0x0302; // DTLS 1.0 before RFC 4347 (OpenSSL < 0.9.8f, Cisco AnyConnect)
  if (v >= 0x0002 && v <= 0x0304) return v;
  return 0;
}

function isObsolete(v: number): boolean {
  const r = versionRank(v);
  return r > 0 && r < 0x0303;
}

export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

const ALERT_NAMES: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  111: 'certificate_unobtainable',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  114: 'bad_certificate_hash_value',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

const SIG_OIDS: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.3.14.3.2.29': 'sha1WithRSASignature',
};
const WEAK_SIGS = new Set([
  'md2WithRSAEncryption',
  'md5WithRSAEncryption',
  'sha1WithRSAEncryption',
  'ecdsa-with-SHA1',
  'dsa-with-SHA1',
  'sha1WithRSASignature',
]);

const CURVE_BITS: Record<string, number> = {
  prime256v1: 256,
  secp256r1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  prime192v1: 192,
  secp256k1: 256,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};

/** SHA-256("HelloRetryRequest"): the ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

// ---------------------------------------------------------------------------------------------
// Limits

/** Largest TLS record body (TLSCiphertext: 2^14 + 2048). */
const MAX_RECORD = 16384 + 2048;
/** Handshake message reassembly buffer per direction (enough for most certificate chains). */
const HS_CAP = 64 * 1024;
const MAX_CERTS = 8;
const MAX_ALERTS = 8;
const MAX_LIST = 512;
const MAX_RECORD_VERSIONS = 8;
/** Stop after this many stream bytes or records in total (both directions). */
const BUDGET_BYTES = 512 * 1024;
const BUDGET_RECORDS = 512;
/** Records per DTLS datagram / handshake fragments per record we look at. */
const MAX_RECORDS_PER_DATAGRAM = 64;
const MAX_FRAGMENTS_PER_RECORD = 64;

// ---------------------------------------------------------------------------------------------
// Small helpers

function u16(b: Buffer, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
function u24(b: Buffer, p: number): number {
  return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
}

/** Bytes as text, one char per byte (latin1): keeps ALPN bytes exact for JA4. */
function latin1(b: Buffer, from: number, to: number): string {
  return b.toString('latin1', from, to);
}

/** Printable ASCII only, for reports and terminals. */
function printable(s: string, max = 255): string {
  return asciiText(s, max);
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

function sha256_12(s: string): string {
  return hash('sha256', s, 'hex').slice(0, 12);
}

function noGrease(list: number[]): number[] {
  return list.filter((v) => !isGrease(v));
}

// ---------------------------------------------------------------------------------------------
// ClientHello / ServerHello parsing (pure)

function readU16List(b: Buffer, from: number, to: number, out: number[]): void {
  for (let p = from; p + 1 < to && out.length < MAX_LIST; p += 2) out.push(u16(b, p));
}

/** A ClientHello with nothing parsed yet, for the TLS and the SSLv2-compatible parsers. */
function emptyClientHello(version: number, sslv2: boolean): TlsClientHello {
  return {
    version,
    cipherSuites: [],
    compressionMethods: [],
    extensions: [],
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    sni: null,
    alpn: [],
    ech: false,
    esni: false,
    earlyData: false,
    sslv2,
    truncated: false,
  };
}

/**
 * Parse a ClientHello body (the handshake message body after its 4-byte header; for DTLS, after
 * the 12-byte header). Returns null when the fixed part does not fit.
 */
export function parseClientHello(body: Buffer, offset: number, length: number, dtls = false): TlsClientHello | null {
  if (offset < 0 || length < 0 || offset + length > body.length) return null;
  const end = offset + length;
  let p = offset;
  if (p + 2 + 32 + 1 > end) return null;
  const version = u16(body, p);
  p += 2 + 32;
  const sidLen = body[p++];
  if (sidLen > 32 || p + sidLen > end) return null;
  p += sidLen;
  if (dtls) {
    if (p + 1 > end) return null;
    const cookieLen = body[p++];
    if (p + cookieLen > end) return null;
    p += cookieLen;
  }
  if (p + 2 > end) return null;
  const csLen = u16(body, p);
  p += 2;
  if (csLen % 2 !== 0 || p + csLen > end) return null;
  const ch = emptyClientHello(version, false);
  readU16List(body, p, p + csLen, ch.cipherSuites);
  p += csLen;
  if (p + 1 > end) {
    ch.truncated = true;
    return ch;
  }
  const compLen = body[p++];
  if (p + compLen > end) {
    ch.truncated = true;
    return ch;
  }
  for (let i = 0; i < compLen; i++) ch.compressionMethods.push(body[p + i]);
  p += compLen;
  if (p + 2 > end) return ch; // no extensions (TLS 1.0 era clients)
  const extLen = u16(body, p);
  p += 2;
  let extEnd = p + extLen;
  if (extEnd > end) {
    ch.truncated = true;
    extEnd = end;
  }
  while (p + 4 <= extEnd && ch.extensions.length < MAX_LIST) {
    const type = u16(body, p);
    const len = u16(body, p + 2);
    p += 4;
    ch.extensions.push(type);
    if (p + len > extEnd) {
      ch.truncated = true;
      break;
    }
    parseClientExtension(ch, type, body, p, p + len);
    p += len;
  }
  return ch;
}

function parseClientExtension(ch: TlsClientHello, type: number, b: Buffer, from: number, to: number): void {
  switch (type) {
    case 0x0000: {
      // server_name: list<u16> of (type u8, name<u16>)
      if (from + 2 > to) return;
      const listEnd = Math.min(to, from + 2 + u16(b, from));
      let p = from + 2;
      while (p + 3 <= listEnd) {
        const nameType = b[p];
        const len = u16(b, p + 1);
        p += 3;
        if (p + len > listEnd) return;
        if (nameType === 0 && ch.sni === null) ch.sni = latin1(b, p, p + len);
        p += len;
      }
      return;
    }
    case 0x0010: {
      // ALPN: list<u16> of name<u8>
      if (from + 2 > to) return;
      const listEnd = Math.min(to, from + 2 + u16(b, from));
      let p = from + 2;
      while (p + 1 <= listEnd && ch.alpn.length < 32) {
        const len = b[p++];
        if (p + len > listEnd) return;
        ch.alpn.push(latin1(b, p, p + len));
        p += len;
      }
      return;
    }
    case 0x002b: {
      if (from + 1 > to) return;
      const listEnd = Math.min(to, from + 1 + b[from]);
      readU16List(b, from + 1, listEnd, ch.supportedVersions);
      return;
    }
    case 0x000a: {
      if (from + 2 > to) return;
      readU16List(b, from + 2, Math.min(to, from + 2 + u16(b, from)), ch.supportedGroups);
      return;
    }
    case 0x000b: {
      if (from + 1 > to) return;
      const listEnd = Math.min(to, from + 1 + b[from]);
      for (let p = from + 1; p < listEnd; p++) ch.ecPointFormats.push(b[p]);
      return;
    }
    case 0x000d: {
      if (from + 2 > to) return;
      readU16List(b, from + 2, Math.min(to, from + 2 + u16(b, from)), ch.signatureAlgorithms);
      return;
    }
    case 0xfe0d:
      ch.ech = true;
      return;
    case 0xffce:
      ch.esni = true;
      return;
    case 0x002a:
      ch.earlyData = true;
      return;
  }
}

/**
 * SSLv2-compatible ClientHello (RFC 5246 appendix E.2), given the record body after the 2-byte
 * header (starting at msg_type). Cipher specs with a zero first byte map to TLS suites.
 */
export function parseSslv2ClientHello(b: Buffer, offset: number, length: number): TlsClientHello | null {
  if (offset < 0 || length < 9 || offset + length > b.length) return null;
  if (b[offset] !== 1) return null;
  const version = u16(b, offset + 1);
  const specLen = u16(b, offset + 3);
  const sidLen = u16(b, offset + 5);
  const chalLen = u16(b, offset + 7);
  if (specLen % 3 !== 0 || 9 + specLen + sidLen + chalLen > length) return null;
  const ch = emptyClientHello(version, true);
  ch.compressionMethods.push(0); // SSLv2 hellos have no list: null compression only
  for (let p = offset + 9; p + 2 < offset + 9 + specLen && ch.cipherSuites.length < MAX_LIST; p += 3) {
    if (b[p] === 0) ch.cipherSuites.push(u16(b, p + 1));
  }
  return ch;
}

/** Parse a ServerHello body (after the handshake header). */
export function parseServerHello(body: Buffer, offset: number, length: number): TlsServerHello | null {
  if (offset < 0 || length < 0 || offset + length > body.length) return null;
  const end = offset + length;
  let p = offset;
  if (p + 2 + 32 + 1 > end) return null;
  const version = u16(body, p);
  const hrr = body.compare(HRR_RANDOM, 0, 32, p + 2, p + 34) === 0;
  p += 2 + 32;
  const sidLen = body[p++];
  if (sidLen > 32 || p + sidLen + 3 > end) return null;
  p += sidLen;
  const sh: TlsServerHello = {
    version,
    selectedVersion: null,
    cipherSuite: u16(body, p),
    compressionMethod: body[p + 2],
    extensions: [],
    alpn: null,
    helloRetryRequest: hrr,
  };
  p += 3;
  if (p + 2 > end) return sh;
  const extEnd = Math.min(end, p + 2 + u16(body, p));
  p += 2;
  while (p + 4 <= extEnd && sh.extensions.length < MAX_LIST) {
    const type = u16(body, p);
    const len = u16(body, p + 2);
    p += 4;
    sh.extensions.push(type);
    if (p + len > extEnd) break;
    if (type === 0x002b && len >= 2) sh.selectedVersion = u16(body, p);
    else if (type === 0x0010 && len >= 3) {
      const l = body[p + 2];
      if (p + 3 + l <= p + len) sh.alpn = latin1(body, p + 3, p + 3 + l);
    }
    p += len;
  }
  return sh;
}

// ---------------------------------------------------------------------------------------------
// Fingerprints

/** JA3 (Salesforce): version,ciphers,extensions,groups,point formats; GREASE removed; MD5. */
export function ja3(ch: TlsClientHello): { text: string; hash: string } {
  const text = [
    String(ch.version),
    noGrease(ch.cipherSuites).join('-'),
    noGrease(ch.extensions).join('-'),
    noGrease(ch.supportedGroups).join('-'),
    ch.ecPointFormats.join('-'),
  ].join(',');
  return { text, hash: hash('md5', text, 'hex') };
}

/** JA3S: version,cipher,extensions of the ServerHello; MD5. */
export function ja3s(sh: TlsServerHello): { text: string; hash: string } {
  const text = `${sh.version},${sh.cipherSuite},${noGrease(sh.extensions).join('-')}`;
  return { text, hash: hash('md5', text, 'hex') };
}

const JA4_VERSION: Record<number, string> = {
  0x0002: 's2',
  0x0300: 's3',
  0x0301: '10',
  0x0302: '11',
  0x0303: '12',
  0x0304: '13',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Highest offered version: supported_versions when present (GREASE ignored), else legacy_version. */
export function clientMaxVersion(ch: TlsClientHello): number {
  let best = -1;
  let bestRank = -1;
  for (const v of ch.supportedVersions) {
    if (isGrease(v)) continue;
    const r = versionRank(v);
    if (r > bestRank) {
      bestRank = r;
      best = v;
    }
  }
  return best >= 0 ? best : ch.version;
}

/**
 * JA4 (FoxIO, technical_details/JA4.md). The version is the numerically highest non-GREASE
 * supported_versions value, as the spec says and the reference code does (so an unknown value such
 * as Facebook's 0xfb1a gives "00"), else legacy_version.
 */
export function ja4(ch: TlsClientHello, transport: 'tcp' | 'quic' | 'dtls'): string {
  const proto = transport === 'quic' ? 'q' : transport === 'dtls' ? 'd' : 't';
  let max = -1;
  for (const v of ch.supportedVersions) if (!isGrease(v) && v > max) max = v;
  const version = JA4_VERSION[max >= 0 ? max : ch.version] ?? '00';
  const sni = ch.extensions.includes(0x0000) ? 'd' : 'i';
  const ciphers = noGrease(ch.cipherSuites);
  const exts = noGrease(ch.extensions);
  const count = (n: number): string => String(Math.min(n, 99)).padStart(2, '0');
  let alpn = '00';
  const first = ch.alpn[0];
  if (first !== undefined && first.length > 0) {
    const a = first.charCodeAt(0);
    const z = first.charCodeAt(first.length - 1);
    if (isAlnum(a) && isAlnum(z)) alpn = first[0] + first[first.length - 1];
    else {
      const h = Buffer.from(first, 'latin1').toString('hex');
      alpn = h[0] + h[h.length - 1];
    }
  }
  const a = `${proto}${version}${sni}${count(ciphers.length)}${count(exts.length)}${alpn}`;
  const b = ciphers.length === 0 ? '000000000000' : sha256_12(ciphers.map(hex4).sort().join(','));
  const extsForC = exts.filter((e) => e !== 0x0000 && e !== 0x0010);
  const sigs = noGrease(ch.signatureAlgorithms);
  let c: string;
  if (extsForC.length === 0) c = '000000000000';
  else {
    let s = extsForC.map(hex4).sort().join(',');
    if (sigs.length > 0) s += '_' + sigs.map(hex4).join(',');
    c = sha256_12(s);
  }
  return `${a}_${b}_${c}`;
}

function weakSummary(suites: number[]): WeakCipherSummary {
  const classes = new Set<WeakCipherClass>();
  const weak: number[] = [];
  let count = 0;
  for (const s of suites) {
    const w = cipherWeakness(s);
    if (w.length === 0) continue;
    count++;
    if (weak.length < 32) weak.push(s);
    for (const c of w) classes.add(c);
  }
  return { count, classes: [...classes].sort(), suites: weak };
}

/**
 * The facts view of a ClientHello. The fingerprints are getters computed on first read: each costs
 * a hash, and most runs never read them (they are kept only with --store-facts). JSON.stringify
 * reads enumerable getters, so stored facts still carry them.
 */
export function clientHelloFacts(ch: TlsClientHello, transport: 'tcp' | 'quic' | 'dtls'): TlsClientHelloFacts {
  let j3: { text: string; hash: string } | null = null;
  let j4: string | null = null;
  const suites = noGrease(ch.cipherSuites);
  const max = clientMaxVersion(ch);
  return {
    legacy_version: ch.version,
    supported_versions: noGrease(ch.supportedVersions),
    max_version: max,
    max_version_name: tlsVersionName(max),
    sni: ch.sni === null ? null : printable(ch.sni),
    alpn: ch.alpn.map((s) => printable(s, 64)),
    cipher_suites: suites,
    weak_ciphers_offered: weakSummary(suites),
    compression_offered: ch.compressionMethods.some((m) => m !== 0),
    extensions: noGrease(ch.extensions),
    supported_groups: noGrease(ch.supportedGroups),
    signature_algorithms: noGrease(ch.signatureAlgorithms),
    ech: ch.ech,
    esni: ch.esni,
    early_data: ch.earlyData,
    sslv2_compatible: ch.sslv2,
    get ja3() {
      return (j3 ??= ja3(ch)).text;
    },
    get ja3_hash() {
      return (j3 ??= ja3(ch)).hash;
    },
    get ja4() {
      return (j4 ??= ja4(ch, transport));
    },
  };
}

function serverHelloFacts(sh: TlsServerHello): TlsServerHelloFacts {
  const version = sh.selectedVersion ?? sh.version;
  const weak = cipherWeakness(sh.cipherSuite);
  let j: { text: string; hash: string } | null = null; // on first read, as in clientHelloFacts
  return {
    legacy_version: sh.version,
    version,
    version_name: tlsVersionName(version),
    cipher_suite: sh.cipherSuite,
    cipher_name: cipherSuiteName(sh.cipherSuite),
    weak_cipher: weak.length > 0,
    weak_cipher_classes: [...weak],
    forward_secrecy: forwardSecrecy(sh.cipherSuite),
    compression: sh.compressionMethod,
    extensions: noGrease(sh.extensions),
    alpn: sh.alpn === null ? null : printable(sh.alpn, 64),
    hello_retry_request: sh.helloRetryRequest,
    get ja3s() {
      return (j ??= ja3s(sh)).text;
    },
    get ja3s_hash() {
      return (j ??= ja3s(sh)).hash;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Certificates

/** Read a DER tag+length at p; returns [contentStart, contentEnd] or null. */
function derTlv(b: Buffer, p: number, end: number, tag: number): [number, number] | null {
  if (p + 2 > end || b[p] !== tag) return null;
  let len = b[p + 1];
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || q + n > end) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[q + i];
    q += n;
  }
  if (q + len > end) return null;
  return [q, q + len];
}

/** signatureAlgorithm of a DER certificate: Certificate ::= SEQ { tbs SEQ, algId SEQ { OID … }, … }. */
export function certSignatureAlgorithm(der: Buffer): string | null {
  const outer = derTlv(der, 0, der.length, 0x30);
  if (!outer) return null;
  const tbs = derTlv(der, outer[0], outer[1], 0x30);
  if (!tbs) return null;
  const alg = derTlv(der, tbs[1], outer[1], 0x30);
  if (!alg) return null;
  const oid = derTlv(der, alg[0], alg[1], 0x06);
  if (!oid || oid[1] - oid[0] < 1 || oid[1] - oid[0] > 32) return null;
  const parts: number[] = [];
  const first = der[oid[0]];
  parts.push(first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80);
  let v = 0;
  for (let p = oid[0] + 1; p < oid[1]; p++) {
    v = v * 128 + (der[p] & 0x7f);
    if ((der[p] & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  const dotted = parts.join('.');
  return SIG_OIDS[dotted] ?? dotted;
}

function isoDate(s: string): string | null {
  const t = Date.parse(s);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/**
 * Parsed certificates by their DER bytes, without the capture-time checks: the same few
 * certificates come back on every connection to a service, and X.509 parsing, the self-signature
 * check and the fingerprints cost tens of microseconds each. Keyed by the bytes themselves (as a
 * latin1 string), so that a hit costs no hashing at all.
 */
interface ParsedCertificate {
  facts: TlsCertificateFacts;
  /** valid_from / valid_to in ms since the epoch (NaN when absent). */
  fromMs: number;
  toMs: number;
}
const certificateCache = new Map<string, ParsedCertificate>();
const MAX_CACHED_CERTIFICATES = 4096;

/** Facts of one DER certificate; `nowUs` (capture time, µs) decides expiry. */
export function certificateFacts(der: Buffer, nowUs: number): TlsCertificateFacts {
  const key = der.toString('latin1');
  let parsed = certificateCache.get(key);
  if (parsed === undefined) {
    const facts = parseCertificate(der, fingerprint(der, 'sha256'));
    parsed = {
      facts,
      fromMs: facts.valid_from === null ? NaN : Date.parse(facts.valid_from),
      toMs: facts.valid_to === null ? NaN : Date.parse(facts.valid_to),
    };
    if (certificateCache.size >= MAX_CACHED_CERTIFICATES) certificateCache.clear();
    certificateCache.set(key, parsed);
  }
  const facts: TlsCertificateFacts = { ...parsed.facts, san_dns: [...parsed.facts.san_dns] };
  // Validity is judged against the capture's own clock, not today's.
  const nowMs = nowUs / 1000;
  if (nowMs > 0 && parsed.toMs < nowMs) facts.expired = true;
  if (nowMs > 0 && parsed.fromMs > nowMs) facts.not_yet_valid = true;
  return facts;
}

function parseCertificate(der: Buffer, fp256: string): TlsCertificateFacts {
  const facts: TlsCertificateFacts = {
    subject: '',
    issuer: '',
    san_dns: [],
    valid_from: null,
    valid_to: null,
    expired: false,
    not_yet_valid: false,
    self_signed: false,
    is_ca: false,
    public_key_type: null,
    public_key_bits: null,
    public_key_curve: null,
    signature_algorithm: certSignatureAlgorithm(der),
    weak_signature: false,
    fingerprint256: fp256,
    fingerprint_sha1: fingerprint(der, 'sha1'),
    der_length: der.length,
    unparsed: true,
  };
  facts.weak_signature = facts.signature_algorithm !== null && WEAK_SIGS.has(facts.signature_algorithm);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return facts;
  }
  try {
    facts.subject = printable(cert.subject.split('\n').join(', '), 1024);
    facts.issuer = printable(cert.issuer.split('\n').join(', '), 1024);
    const san = cert.subjectAltName;
    if (san) {
      for (const entry of san.split(', ')) {
        if (entry.startsWith('DNS:') && facts.san_dns.length < 100) facts.san_dns.push(printable(entry.slice(4)));
      }
    }
    facts.valid_from = isoDate(cert.validFrom);
    facts.valid_to = isoDate(cert.validTo);
    facts.is_ca = cert.ca;
    facts.unparsed = false;
  } catch {
    return facts;
  }
  try {
    const key = cert.publicKey;
    facts.public_key_type = key.asymmetricKeyType ?? null;
    const d = key.asymmetricKeyDetails;
    if (d?.modulusLength) facts.public_key_bits = d.modulusLength;
    if (d?.namedCurve) {
      facts.public_key_curve = d.namedCurve;
      facts.public_key_bits = CURVE_BITS[d.namedCurve] ?? null;
    }
    if (key.asymmetricKeyType === 'ed25519') facts.public_key_bits = 256;
    else if (key.asymmetricKeyType === 'ed448') facts.public_key_bits = 456;
    if (cert.subject === cert.issuer) facts.self_signed = cert.verify(key);
  } catch {
    // Unsupported key type or signature algorithm: leave what we have.
  }
  return facts;
}

function fingerprint(der: Buffer, alg: 'sha256' | 'sha1'): string {
  const h = hash(alg, der, 'hex').toUpperCase();
  let out = '';
  for (let i = 0; i < h.length; i += 2) out += (i ? ':' : '') + h.slice(i, i + 2);
  return out;
}

/** RFC 6125-style match of a host name against one DNS name (left-most label wildcard only). */
function dnsMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (h === p) return true;
  if (p.startsWith('*.')) {
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot + 1) === p.slice(2);
  }
  return false;
}

function commonName(subject: string): string | null {
  for (const part of subject.split(', ')) if (part.startsWith('CN=')) return part.slice(3);
  return null;
}

// ---------------------------------------------------------------------------------------------
// Probes

const CT_CCS = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPDATA = 23;
const CT_HEARTBEAT = 24;
const CT_TLS12_CID = 25;
/** Pseudo content type for an SSLv2-compatible ClientHello record. */
const CT_SSLV2 = -1;

const HT_CLIENT_HELLO = 1;
const HT_SERVER_HELLO = 2;
const HT_HELLO_VERIFY_REQUEST = 3;
const HT_CERTIFICATE = 11;
const HT_SERVER_KEY_EXCHANGE = 12;
const HT_SERVER_HELLO_DONE = 14;

function validTlsHeader(type: number, major: number, minor: number, len: number): boolean {
  return type >= CT_CCS && type <= CT_HEARTBEAT && major === 3 && minor <= 4 && len <= MAX_RECORD;
}

/** SSLv2-compatible ClientHello (2-byte header) at b[o..o+n). */
function probeSslv2(b: Buffer, o: number, n: number): Probe {
  if (n < 3) return Probe.MAYBE;
  if (b[o + 2] !== 1) return Probe.NO;
  const recLen = ((b[o] & 0x7f) << 8) | b[o + 1];
  if (recLen < 9 + 3 + 16) return Probe.NO;
  if (n < 11) return Probe.MAYBE;
  const major = b[o + 3];
  const minor = b[o + 4];
  if (!((major === 0 && minor === 2) || (major === 3 && minor <= 3))) return Probe.NO;
  const specLen = u16(b, o + 5);
  const sidLen = u16(b, o + 7);
  const chalLen = u16(b, o + 9);
  if (specLen === 0 || specLen % 3 !== 0 || (sidLen !== 0 && sidLen !== 16) || chalLen < 16 || chalLen > 32) return Probe.NO;
  return 9 + specLen + sidLen + chalLen === recLen ? Probe.YES : Probe.NO;
}

function probeTls(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
  if (ctx.proto !== 6 || length <= 0 || offset < 0 || offset + length > data.length) return Probe.NO;
  const o = offset;
  const b0 = data[o];
  if (b0 & 0x80) return probeSslv2(data, o, length);
  // Midstream sessions may show only application data or an (encrypted) alert.
  if (b0 !== CT_HANDSHAKE && b0 !== CT_APPDATA && b0 !== CT_ALERT) return Probe.NO;
  if (length < 2) return Probe.MAYBE;
  if (data[o + 1] !== 3) return Probe.NO;
  if (length < 3) return Probe.MAYBE;
  if (data[o + 2] > 4 || (b0 !== CT_HANDSHAKE && data[o + 2] === 0)) return Probe.NO;
  if (length < 5) return Probe.MAYBE;
  const recLen = u16(data, o + 3);
  if (recLen > MAX_RECORD) return Probe.NO;
  if (b0 === CT_HANDSHAKE) {
    if (recLen < 4) return Probe.NO;
    if (length < 6) return Probe.MAYBE;
    const t = data[o + 5];
    if (t !== HT_CLIENT_HELLO && t !== HT_SERVER_HELLO) return Probe.NO;
    if (length < 9) return Probe.MAYBE;
    // Hello bodies are at least version + random + session id length + …
    return u24(data, o + 6) >= 38 ? Probe.YES : Probe.NO;
  }
  // Application data or alert: a capture that starts in the middle of a session. Demand that the
  // record ends the segment exactly or is followed by another sane record header.
  if (recLen === 0 || (b0 === CT_ALERT && recLen < 2)) return Probe.NO;
  const next = o + 5 + recLen;
  const end = o + length;
  if (next > end) return Probe.MAYBE;
  if (next === end) return Probe.YES;
  if (end - next < 5) return Probe.MAYBE;
  return validTlsHeader(data[next], data[next + 1], data[next + 2], u16(data, next + 3)) && data[next] !== CT_HANDSHAKE
    ? Probe.YES
    : Probe.NO;
}

/** DTLS 1.0/1.2/1.3 record versions, and 0x0100: DTLS 1.0 before RFC 4347 (still used by Cisco AnyConnect). */
function isDtlsVersion(major: number, minor: number): boolean {
  return major === 0xfe ? minor === 0xff || minor === 0xfd || minor === 0xfc : major === 1 && minor === 0;
}

function probeDtls(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
  if (ctx.proto !== 17 || length < 13 + 12 || offset < 0 || offset + length > data.length) return Probe.NO;
  const o = offset;
  if (data[o] !== CT_HANDSHAKE || !isDtlsVersion(data[o + 1], data[o + 2])) return Probe.NO;
  if (data[o + 3] !== 0 || data[o + 4] !== 0) return Probe.NO; // epoch 0
  const recLen = u16(data, o + 11);
  if (recLen < 12 || 13 + recLen > length) return Probe.NO;
  const t = data[o + 13];
  if (t !== HT_CLIENT_HELLO && t !== HT_SERVER_HELLO && t !== HT_HELLO_VERIFY_REQUEST) return Probe.NO;
  const msgLen = u24(data, o + 14);
  const fragOff = u24(data, o + 19);
  const fragLen = u24(data, o + 22);
  if (fragOff + fragLen > msgLen || 12 + fragLen > recLen) return Probe.NO;
  return msgLen >= (t === HT_HELLO_VERIFY_REQUEST ? 3 : 38) ? Probe.YES : Probe.NO;
}

// ---------------------------------------------------------------------------------------------
// Per-flow state

class Direction {
  /** A record header split across segments (rare: most start and end within one). */
  hdr: Buffer | null = null;
  hdrLen = 0;
  inBody = false;
  recType = 0;
  recLeft = 0;
  recPlainAlert = false;
  readonly alert = [0, 0];
  alertLen = 0;
  /** SSLv2-compatible ClientHello body being collected. */
  sslv2: Buffer | null = null;
  sslv2Len = 0;
  /** ChangeCipherSpec sent. */
  ccs = false;
  /**
   * Later handshake records of this direction are encrypted (CCS in TLS ≤ 1.2). In TLS 1.3 the
   * CCS is only for middleboxes: a second ClientHello or the ServerHello after a
   * HelloRetryRequest still come in clear, and encrypted handshake records are type 23 anyway.
   */
  encrypted = false;
  dead = false;
  records = 0;
  appData = 0;
  /** A record of type 23 after the ServerHello (TLS 1.3: the client's Finished). */
  appDataAfterServerHello = false;
  // Handshake message reassembly.
  hs: Buffer | null = null;
  hsLen = 0;
  hsSkip = 0;
  // DTLS fragment reassembly (one message at a time, in order).
  frag: Buffer | null = null;
  fragSeq = -1;
  fragType = -1;
  fragLen = 0;
  fragFilled = 0;
  fragDone = false;

  constructor(readonly client: boolean) {}
}

class TlsState implements DissectorState<TlsFacts> {
  private readonly dirs: [Direction, Direction] = [new Direction(true), new Direction(false)];
  private ch: TlsClientHello | null = null;
  private chFacts: TlsClientHelloFacts | null = null;
  private chDir: Direction | null = null;
  private sh: TlsServerHello | null = null;
  private shFacts: TlsServerHelloFacts | null = null;
  private shDir: Direction | null = null;
  private hrrSeen = false;
  private readonly certs: TlsCertificateFacts[] = [];
  private certsParsed = false;
  private certsTruncated = false;
  private serverFlightDone = false;
  private kexGroup: number | null = null;
  private dhBits: number | null = null;
  private clientCert = false;
  private readonly alerts: TlsAlertFacts[] = [];
  private encryptedAlerts = 0;
  private fatalAlert = false;
  private ccs = false;
  private appData = false;
  private heartbeat = false;
  private readonly recordVersions: number[] = [];
  private midstream = false;
  private malformed = false;
  private records = 0;
  private recordBytes = 0;
  private done = false;

  constructor(private readonly dtls: boolean) {}

  feed(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): boolean {
    if (this.done) return true;
    if (offset < 0 || length <= 0 || offset >= data.length) return this.done;
    const end = Math.min(data.length, offset + length);
    const d = this.dirs[fromClient ? 0 : 1];
    if (this.dtls) this.feedDatagram(d, data, offset, end, ctx);
    else if (!d.dead) this.feedStream(d, data, offset, end, ctx);
    const [c, s] = this.dirs;
    if (c.dead && s.dead) this.done = true;
    return this.done;
  }

  // --- TCP -----------------------------------------------------------------------------------

  private feedStream(d: Direction, data: Buffer, from: number, end: number, ctx: DissectContext): void {
    let p = from;
    while (p < end && !d.dead && !this.done) {
      if (!d.inBody) {
        if (d.hdrLen === 0 && end - p >= 5) {
          // The whole header is here: read it in place.
          this.recordHeader(d, data, p);
          p += 5;
          continue;
        }
        const hdr = (d.hdr ??= Buffer.alloc(5));
        const n = Math.min(5 - d.hdrLen, end - p);
        data.copy(hdr, d.hdrLen, p, p + n);
        d.hdrLen += n;
        p += n;
        if (d.hdrLen < 5) break;
        d.hdrLen = 0;
        this.recordHeader(d, hdr, 0);
      } else {
        const n = Math.min(d.recLeft, end - p);
        this.recordBody(d, data, p, n, ctx);
        p += n;
        d.recLeft -= n;
        if (d.recLeft === 0) this.recordEnd(d);
      }
    }
  }

  /** The 5 header bytes h[o, o + 5). */
  private recordHeader(d: Direction, h: Buffer, o: number): void {
    if (h[o] & 0x80 && d.records === 0 && h[o + 2] === HT_CLIENT_HELLO) {
      // SSLv2-compatible ClientHello: 2-byte header, body starts at h[o + 2].
      const len = ((h[o] & 0x7f) << 8) | h[o + 1];
      if (len < 9 || len > MAX_RECORD) return this.kill(d);
      this.recordStart(d, CT_SSLV2, u16(h, o + 3), len);
      d.sslv2 = Buffer.alloc(len);
      h.copy(d.sslv2, 0, o + 2, o + 5);
      d.sslv2Len = 3;
      d.inBody = true;
      d.recLeft = len - 3;
      if (d.recLeft === 0) this.recordEnd(d);
      return;
    }
    const len = u16(h, o + 3);
    if (!validTlsHeader(h[o], h[o + 1], h[o + 2], len)) return this.kill(d);
    this.recordStart(d, h[o], u16(h, o + 1), len);
    d.inBody = true;
    d.recLeft = len;
    if (len === 0) this.recordEnd(d);
  }

  private kill(d: Direction): void {
    d.dead = true;
    this.malformed = true;
  }

  private recordStart(d: Direction, type: number, version: number, len: number): void {
    d.recType = type;
    d.records++;
    this.records++;
    this.recordBytes += len;
    if (type !== CT_SSLV2 && !this.recordVersions.includes(version) && this.recordVersions.length < MAX_RECORD_VERSIONS) {
      this.recordVersions.push(version);
    }
    const other = this.dirs[d.client ? 1 : 0];
    if (this.records === 1 && other.records === 0 && type !== CT_HANDSHAKE && type !== CT_SSLV2) this.midstream = true;
    switch (type) {
      case CT_CCS:
        d.ccs = true;
        if (this.ccsEncrypts()) d.encrypted = true;
        this.ccs = true;
        break;
      case CT_ALERT:
        d.alertLen = 0;
        d.recPlainAlert = !d.encrypted && len === 2;
        break;
      case CT_APPDATA:
      case CT_TLS12_CID:
        d.appData++;
        this.appData = true;
        if (this.sh !== null && !this.sh.helloRetryRequest) d.appDataAfterServerHello = true;
        break;
      case CT_HEARTBEAT:
        this.heartbeat = true;
        break;
    }
  }

  private recordBody(d: Direction, data: Buffer, p: number, n: number, ctx: DissectContext): void {
    switch (d.recType) {
      case CT_HANDSHAKE:
        if (!d.encrypted) this.hsAppend(d, data, p, n, ctx);
        break;
      case CT_ALERT:
        if (d.recPlainAlert) for (let i = 0; i < n && d.alertLen < 2; i++) d.alert[d.alertLen++] = data[p + i];
        break;
      case CT_SSLV2:
        if (d.sslv2) {
          data.copy(d.sslv2, d.sslv2Len, p, p + n);
          d.sslv2Len += n;
        }
        break;
    }
  }

  private recordEnd(d: Direction): void {
    d.inBody = false;
    if (d.recType === CT_ALERT) {
      if (d.recPlainAlert && d.alertLen === 2) this.addAlert(d, d.alert[0], d.alert[1]);
      else this.encryptedAlerts++;
    } else if (d.recType === CT_SSLV2 && d.sslv2) {
      const ch = parseSslv2ClientHello(d.sslv2, 0, d.sslv2.length);
      d.sslv2 = null;
      if (ch) this.setClientHello(d, ch);
      else this.kill(d);
    }
    this.checkDone();
  }

  private addAlert(d: Direction, level: number, description: number): void {
    if (level === 2) this.fatalAlert = true;
    if (this.alerts.length < MAX_ALERTS) {
      this.alerts.push({
        from: d.client ? 'client' : 'server',
        level,
        description,
        name: ALERT_NAMES[description] ?? `unknown_${description}`,
      });
    }
  }

  private hsAppend(d: Direction, data: Buffer, p: number, n: number, ctx: DissectContext): void {
    if (d.hsLen === 0 && d.hsSkip === 0) {
      // Nothing buffered: parse the messages that are whole in this piece where they are (the
      // usual case); only a message that continues in a later piece is copied.
      while (n >= 4) {
        const mlen = u24(data, p + 1);
        if (4 + mlen > n) break;
        this.handshakeMessage(d, data[p], data, p + 4, mlen, true, ctx);
        p += 4 + mlen;
        n -= 4 + mlen;
      }
    }
    // Each round consumes bytes or, with a full buffer, hands over (and drops) a partial message.
    for (let guard = 0; n > 0 && guard < 64; guard++) {
      if (d.hsSkip > 0) {
        const k = Math.min(d.hsSkip, n);
        d.hsSkip -= k;
        p += k;
        n -= k;
        continue;
      }
      const k = Math.min(n, HS_CAP - d.hsLen);
      if (k > 0) {
        if (!d.hs || d.hs.length < d.hsLen + k) {
          const grown = Buffer.allocUnsafe(Math.min(HS_CAP, Math.max(4096, (d.hsLen + k) * 2)));
          if (d.hs) d.hs.copy(grown, 0, 0, d.hsLen);
          d.hs = grown;
        }
        data.copy(d.hs, d.hsLen, p, p + k);
        d.hsLen += k;
        p += k;
        n -= k;
      }
      this.hsParse(d, ctx);
    }
  }

  private hsParse(d: Direction, ctx: DissectContext): void {
    const hs = d.hs;
    if (!hs) return;
    let off = 0;
    while (d.hsLen - off >= 4) {
      const type = hs[off];
      const mlen = u24(hs, off + 1);
      if (off + 4 + mlen <= d.hsLen) {
        this.handshakeMessage(d, type, hs, off + 4, mlen, true, ctx);
        off += 4 + mlen;
        continue;
      }
      if (off === 0 && d.hsLen === HS_CAP) {
        // Larger than the buffer: look at what we have, skip the rest of it.
        this.handshakeMessage(d, type, hs, 4, HS_CAP - 4, false, ctx);
        d.hsSkip = 4 + mlen - HS_CAP;
        off = HS_CAP;
      }
      break;
    }
    if (off > 0) {
      hs.copyWithin(0, off, d.hsLen);
      d.hsLen -= off;
    }
  }

  // --- DTLS ----------------------------------------------------------------------------------

  private feedDatagram(d: Direction, data: Buffer, from: number, end: number, ctx: DissectContext): void {
    let p = from;
    for (let n = 0; p < end && n < MAX_RECORDS_PER_DATAGRAM && !this.done; n++) {
      const b0 = data[p];
      if ((b0 & 0xe0) === 0x20) {
        // DTLS 1.3 unified header: always ciphertext; its length may be implicit.
        this.recordStart(d, CT_APPDATA, 0xfefc, end - p);
        this.checkDone();
        return;
      }
      if (p + 13 > end) {
        this.malformed = true;
        return;
      }
      const type = b0;
      const version = u16(data, p + 1);
      const epoch = u16(data, p + 3);
      const len = u16(data, p + 11);
      if (type < CT_CCS || type > CT_TLS12_CID || !isDtlsVersion(data[p + 1], data[p + 2]) || len > MAX_RECORD || p + 13 + len > end) {
        this.malformed = true;
        return;
      }
      this.recordStart(d, type, version, len);
      const body = p + 13;
      if (type === CT_HANDSHAKE && epoch === 0) this.dtlsHandshake(d, data, body, body + len, ctx);
      else if (type === CT_ALERT) {
        if (epoch === 0 && len === 2) this.addAlert(d, data[body], data[body + 1]);
        else this.encryptedAlerts++;
      }
      this.checkDone();
      p = body + len;
    }
  }

  private dtlsHandshake(d: Direction, data: Buffer, from: number, end: number, ctx: DissectContext): void {
    let q = from;
    for (let n = 0; q + 12 <= end && n < MAX_FRAGMENTS_PER_RECORD; n++) {
      const type = data[q];
      const mlen = u24(data, q + 1);
      const seq = u16(data, q + 4);
      const foff = u24(data, q + 6);
      const flen = u24(data, q + 9);
      q += 12;
      if (q + flen > end) return;
      if (foff === 0 && flen === mlen) {
        this.handshakeMessage(d, type, data, q, mlen, true, ctx);
      } else if (foff + flen <= mlen) {
        if (d.fragSeq !== seq || d.fragType !== type || d.fragLen !== mlen) {
          if (foff !== 0) {
            q += flen;
            continue;
          }
          d.fragSeq = seq;
          d.fragType = type;
          d.fragLen = mlen;
          d.fragFilled = 0;
          d.fragDone = false;
          d.frag = Buffer.alloc(Math.min(mlen, HS_CAP));
        }
        const frag = d.frag;
        if (frag && !d.fragDone && foff <= d.fragFilled && foff + flen > d.fragFilled) {
          const copyFrom = d.fragFilled - foff;
          const copyTo = Math.min(flen, frag.length - foff);
          if (copyTo > copyFrom) data.copy(frag, d.fragFilled, q + copyFrom, q + copyTo);
          d.fragFilled = Math.min(foff + flen, frag.length);
          if (d.fragFilled >= frag.length) {
            d.fragDone = true;
            this.handshakeMessage(d, type, frag, 0, frag.length, frag.length === mlen, ctx);
            d.frag = null;
          }
        }
      }
      q += flen;
    }
  }

  // --- Handshake messages --------------------------------------------------------------------

  private serverDir(d: Direction): boolean {
    if (this.shDir) return d === this.shDir;
    if (this.chDir) return d !== this.chDir;
    return !d.client;
  }

  private setClientHello(d: Direction, ch: TlsClientHello): void {
    this.ch = ch;
    this.chDir = d;
    this.chFacts = clientHelloFacts(ch, this.dtls ? 'dtls' : 'tcp');
  }

  private handshakeMessage(d: Direction, type: number, b: Buffer, off: number, len: number, complete: boolean, ctx: DissectContext): void {
    switch (type) {
      case HT_CLIENT_HELLO: {
        // The first ClientHello is the one fingerprinted (a second one follows a HelloRetryRequest
        // or a DTLS HelloVerifyRequest).
        if (this.ch) return;
        const ch = parseClientHello(b, off, len, this.dtls);
        if (!ch) return;
        if (!complete) ch.truncated = true;
        this.setClientHello(d, ch);
        return;
      }
      case HT_SERVER_HELLO: {
        if (this.sh && !this.sh.helloRetryRequest) return;
        const sh = parseServerHello(b, off, len);
        if (!sh) return;
        if (sh.helloRetryRequest) this.hrrSeen = true;
        this.sh = sh;
        this.shDir = d;
        this.shFacts = serverHelloFacts(sh);
        return;
      }
      case HT_CERTIFICATE:
        if (!this.serverDir(d)) {
          if (len >= 3 && u24(b, off) > 0) this.clientCert = true;
          return;
        }
        if (this.certsParsed || this.negotiatedRank() >= 0x0304) return;
        this.parseCertificates(b, off, len, complete, ctx);
        return;
      case HT_SERVER_KEY_EXCHANGE:
        if (this.serverDir(d)) this.parseServerKeyExchange(b, off, len);
        return;
      case HT_SERVER_HELLO_DONE:
        if (this.serverDir(d)) this.serverFlightDone = true;
        return;
    }
  }

  private parseCertificates(b: Buffer, off: number, len: number, complete: boolean, ctx: DissectContext): void {
    this.certsParsed = true;
    if (len < 3) return;
    const total = u24(b, off);
    let p = off + 3;
    const end = Math.min(off + len, p + total);
    if (!complete || p + total > off + len) this.certsTruncated = true;
    while (p + 3 <= end) {
      const cl = u24(b, p);
      p += 3;
      if (p + cl > end || this.certs.length >= MAX_CERTS) {
        this.certsTruncated = true;
        return;
      }
      this.certs.push(certificateFacts(b.subarray(p, p + cl), ctx.tsUs));
      p += cl;
    }
  }

  private parseServerKeyExchange(b: Buffer, off: number, len: number): void {
    const name = this.sh ? cipherSuiteName(this.sh.cipherSuite) : null;
    if (!name || len < 3) return;
    if (name.includes('_ECDHE_') || name.includes('_ECDH_anon_')) {
      if (b[off] === 3) this.kexGroup = u16(b, off + 1); // named_curve
    } else if (name.includes('_DHE_') || name.includes('_DH_anon_')) {
      const plen = u16(b, off);
      if (off + 2 + plen > off + len) return;
      let p = off + 2;
      const pend = p + plen;
      while (p < pend && b[p] === 0) p++;
      if (p === pend) return;
      this.dhBits = (pend - p - 1) * 8 + (32 - Math.clz32(b[p]));
    }
  }

  // --- Decisions -----------------------------------------------------------------------------

  private negotiatedVersion(): number | null {
    if (!this.sh || this.sh.helloRetryRequest) return null;
    return this.sh.selectedVersion ?? this.sh.version;
  }

  private negotiatedRank(): number {
    const v = this.negotiatedVersion();
    return v === null ? 0 : versionRank(v);
  }

  /** Does a ChangeCipherSpec switch the handshake to ciphertext (TLS ≤ 1.2), or is it TLS 1.3's dummy? */
  private ccsEncrypts(): boolean {
    if (this.negotiatedVersion() !== null) return this.negotiatedRank() < 0x0304;
    if (this.hrrSeen || !this.ch) return false;
    return !this.ch.supportedVersions.some((v) => versionRank(v) >= 0x0304);
  }

  private handshakeComplete(): boolean {
    if (this.negotiatedVersion() === null) return false;
    const [c, s] = this.dirs;
    const client = this.chDir ?? c;
    const server = client === c ? s : c;
    if (this.negotiatedRank() >= 0x0304) return client.appDataAfterServerHello;
    return client.ccs && server.ccs;
  }

  private checkDone(): void {
    if (this.done) return;
    if (this.records >= BUDGET_RECORDS || this.recordBytes >= BUDGET_BYTES || this.fatalAlert) {
      this.done = true;
      return;
    }
    if (this.midstream && this.appData) {
      this.done = true;
      return;
    }
    const [c, s] = this.dirs;
    const client = this.chDir ?? c;
    const server = client === c ? s : c;
    if (this.ch && this.negotiatedVersion() !== null) {
      if (this.handshakeComplete()) {
        this.done = true;
        return;
      }
      // Both sides sending encrypted records: nothing more to learn in clear.
      if ((client.ccs || client.appData > 0) && (server.ccs || server.appData > 0) && this.negotiatedRank() < 0x0304) {
        this.done = true;
        return;
      }
    }
    // Client-only capture (or a server we cannot see): the client went on with application data.
    if (this.ch && !this.sh && client.appData >= 4) this.done = true;
  }

  facts(): TlsFacts {
    const v = this.negotiatedVersion();
    let sniMatch: boolean | null = null;
    const leaf = this.certs[0];
    const sni = this.chFacts?.sni ?? null;
    if (sni && leaf && !leaf.unparsed) {
      const names = leaf.san_dns.length > 0 ? leaf.san_dns : [commonName(leaf.subject)].filter((x): x is string => x !== null);
      sniMatch = names.some((n) => dnsMatches(sni, n));
    }
    return {
      transport: this.dtls ? 'dtls' : 'tcp',
      record_versions: [...this.recordVersions],
      client_hello: this.chFacts,
      server_hello: this.shFacts,
      version: v,
      version_name: v === null ? null : tlsVersionName(v),
      obsolete_version: v !== null && isObsolete(v),
      certificates: [...this.certs],
      certificates_truncated: this.certsTruncated,
      sni_matches_certificate: sniMatch,
      key_exchange_group: this.kexGroup,
      key_exchange_dh_bits: this.dhBits,
      client_certificate_sent: this.clientCert,
      alerts: [...this.alerts],
      encrypted_alerts: this.encryptedAlerts,
      change_cipher_spec_seen: this.ccs,
      application_data_seen: this.appData,
      heartbeat_seen: this.heartbeat,
      encrypted_after_handshake: this.ccs || this.appData,
      handshake_complete: this.handshakeComplete(),
      midstream: this.midstream,
      malformed: this.malformed,
      hello_retry_request: this.hrrSeen,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Dissectors

export const tlsDissector: Dissector<TlsFacts> = {
  name: 'tls',
  transports: ['tcp'],
  probe: probeTls,
  start: () => new TlsState(false),
};

export const dtlsDissector: Dissector<TlsFacts> = {
  name: 'dtls',
  transports: ['udp'],
  probe: probeDtls,
  start: () => new TlsState(true),
};
