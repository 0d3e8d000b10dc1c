/**
 * What a transferred file is, from its first bytes (we keep about the first 64 bytes of HTTP, TFTP
 * and FTP bodies): firmware images, filesystems, executables, archives, packages and signatures.
 * Each format names the specification or source header its magic comes from.
 *
 * identifyFile allocates nothing and uses no regular expression: a table of byte strings at fixed
 * offsets, with a check of the header fields around them where a short magic would match too much.
 *
 * Not identified: a DFU suffix (USB DFU 1.1) sits at the end of a file, which we never see; tar's
 * "ustar" is at offset 257 and ISO 9660's "CD001" at 32769, both beyond the bytes we keep.
 */

export type FileKind = 'firmware' | 'filesystem' | 'executable' | 'archive' | 'package' | 'signature' | 'signed-container';

export interface FileMagic {
  id: string;
  name: string;
  kind: FileKind;
  source: string;
}

interface Signature {
  magic: FileMagic;
  /** Offset of `bytes` from the start of the file. */
  at: number;
  bytes: Uint8Array;
  /** Further checks on the header; `end` is one past the last byte we have. */
  verify?: (d: Uint8Array, start: number, end: number) => boolean;
}

const LINUX = 'https://github.com/torvalds/linux/blob/master/';
const AOSP = 'https://android.googlesource.com/platform/';

function format(id: string, name: string, kind: FileKind, source: string): FileMagic {
  return Object.freeze({ id, name, kind, source });
}

const UIMAGE = format('uimage', 'U-Boot legacy image (uImage)', 'firmware', 'https://github.com/u-boot/u-boot/blob/master/include/image.h');
const FDT = format('fdt', 'Flattened device tree or FIT image', 'firmware', 'https://github.com/devicetree-org/devicetree-specification/releases (section 5.2, header)');
const TRX = format('trx', 'Broadcom TRX firmware', 'firmware', 'https://github.com/openwrt/firmware-utils/blob/master/src/trx.c');
const ANDROID_BOOT = format('android-boot', 'Android boot image', 'firmware', `${AOSP}system/tools/mkbootimg/+/refs/heads/main/include/bootimg/bootimg.h`);
const INTEL_HEX = format('intel-hex', 'Intel HEX firmware', 'firmware', 'https://en.wikipedia.org/wiki/Intel_HEX (Intel Hexadecimal Object File Format Specification, rev. A, 1988)');
const SQUASHFS = format('squashfs', 'SquashFS filesystem', 'filesystem', 'https://docs.kernel.org/filesystems/squashfs.html');
const UBI = format('ubi', 'UBI image', 'filesystem', `${LINUX}include/uapi/mtd/ubi-media.h`);
const UBIFS = format('ubifs', 'UBIFS filesystem', 'filesystem', `${LINUX}fs/ubifs/ubifs-media.h`);
const JFFS2 = format('jffs2', 'JFFS2 filesystem', 'filesystem', `${LINUX}include/uapi/linux/jffs2.h`);
const CRAMFS = format('cramfs', 'cramfs filesystem', 'filesystem', `${LINUX}include/uapi/linux/cramfs_fs.h`);
const ANDROID_SPARSE = format('android-sparse', 'Android sparse image', 'filesystem', `${AOSP}system/core/+/refs/heads/main/libsparse/sparse_format.h`);
const ELF = format('elf', 'ELF executable', 'executable', 'https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html');
const PE = format('pe', 'Windows PE executable (MZ)', 'executable', 'https://learn.microsoft.com/en-us/windows/win32/debug/pe-format');
const CPIO = format('cpio', 'cpio archive', 'archive', 'https://man.freebsd.org/cgi/man.cgi?query=cpio&sektion=5');
const ZIP = format('zip', 'zip (APK/OTA possible)', 'archive', 'https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT');
const GZIP = format('gzip', 'gzip', 'archive', 'https://www.rfc-editor.org/rfc/rfc1952');
const XZ = format('xz', 'xz', 'archive', 'https://tukaani.org/xz/xz-file-format.txt');
const LZMA = format('lzma', 'LZMA (legacy .lzma)', 'archive', 'https://github.com/tukaani-project/xz/blob/master/doc/lzma-file-format.txt');
const BZIP2 = format('bzip2', 'bzip2', 'archive', 'https://github.com/dsnet/compress/blob/master/doc/bzip2-format.pdf');
const SEVEN_ZIP = format('7z', '7-Zip archive', 'archive', 'https://github.com/ip7z/7zip/blob/main/DOC/7zFormat.txt');
const ZSTD = format('zstd', 'Zstandard', 'archive', 'https://www.rfc-editor.org/rfc/rfc8878');
const AR = format('ar', 'ar archive (opkg .ipk possible)', 'archive', 'https://man.freebsd.org/cgi/man.cgi?query=ar&sektion=5');
const DEB = format('deb', 'Debian package (.deb)', 'package', 'https://manpages.debian.org/deb.5');
const RPM = format('rpm', 'RPM package', 'package', 'https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/pkgformat.html');
const PGP_ARMOR = format('pgp-signature', 'OpenPGP signature (ASCII armour)', 'signature', 'https://www.rfc-editor.org/rfc/rfc9580#section-6.2');
const PGP_BINARY = format('pgp-signature-binary', 'OpenPGP signature (binary)', 'signature', 'https://www.rfc-editor.org/rfc/rfc9580#section-5.2');
const PGP_CLEARSIGNED = format('pgp-clearsigned', 'OpenPGP clear-signed text', 'signed-container', 'https://www.rfc-editor.org/rfc/rfc9580#section-7');
const MINISIGN = format('minisign', 'minisign or signify signature', 'signature', 'https://jedisct1.github.io/minisign/');
const PKCS7_PEM = format('pkcs7-pem', 'PKCS#7/CMS (PEM)', 'signature', 'https://www.rfc-editor.org/rfc/rfc7468#section-8');
const CMS_SIGNED = format('cms-signed-data', 'PKCS#7/CMS SignedData (DER)', 'signed-container', 'https://www.rfc-editor.org/rfc/rfc5652#section-5.1');
const CRX = format('crx', 'Chrome extension (CRX)', 'signed-container', 'https://chromium.googlesource.com/chromium/src/+/main/components/crx_file/crx3.proto');

/** Every format identifyFile knows. */
export const FILE_MAGIC: readonly FileMagic[] = [
  UIMAGE, FDT, TRX, ANDROID_BOOT, INTEL_HEX, SQUASHFS, UBI, UBIFS, JFFS2, CRAMFS, ANDROID_SPARSE, ELF, PE,
  CPIO, ZIP, GZIP, XZ, LZMA, BZIP2, SEVEN_ZIP, ZSTD, AR, DEB, RPM, PGP_ARMOR, PGP_BINARY, PGP_CLEARSIGNED,
  MINISIGN, PKCS7_PEM, CMS_SIGNED, CRX,
];

const u16le = (d: Uint8Array, i: number): number => d[i] | (d[i + 1] << 8);
const u16be = (d: Uint8Array, i: number): number => (d[i] << 8) | d[i + 1];
const u32le = (d: Uint8Array, i: number): number => (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> 0;
const u32be = (d: Uint8Array, i: number): number => ((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]) >>> 0;

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** uImage: the header CRC32 covers the 64-byte header with its own CRC field (bytes 4-7) as zeros. */
function uImageHeaderOk(d: Uint8Array, s: number, end: number): boolean {
  if (end - s < 64) return true; // too little to check: the 4-byte magic alone
  let c = -1;
  for (let i = 0; i < 64; i++) {
    const byte = i >= 4 && i < 8 ? 0 : d[s + i];
    c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return (~c >>> 0) === u32be(d, s + 4);
}

const JFFS2_NODE_TYPES = new Set([0xe001, 0xe002, 0x2003, 0x2004, 0x2006, 0xe008, 0xe009]);

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** ":LLAAAATT": byte count, address and a record type 00-05, all in hex. */
function intelHexRecordOk(d: Uint8Array, s: number, end: number): boolean {
  if (end - s < 11) return false;
  for (let i = 1; i <= 10; i++) if (!isHexDigit(d[s + i])) return false;
  return d[s + 7] === 0x30 && d[s + 8] >= 0x30 && d[s + 8] <= 0x35;
}

/** The legacy .lzma header: properties byte, dictionary size (a power of two, 64 KiB-64 MiB), size. */
function lzmaHeaderOk(d: Uint8Array, s: number, end: number): boolean {
  if (end - s < 13) return false;
  const dict = u32le(d, s + 1);
  if (dict < 1 << 16 || dict > 1 << 26 || (dict & (dict - 1)) !== 0) return false;
  // The uncompressed size is -1 (unknown) or, in practice, below 4 GiB.
  const high = u32le(d, s + 9);
  return high === 0 || (high === 0xffffffff && u32le(d, s + 5) === 0xffffffff);
}

/** "BZh" and a block size '1'-'9', then a block (pi) or end-of-stream (sqrt pi) magic. */
function bzip2HeaderOk(d: Uint8Array, s: number, end: number): boolean {
  if (end - s < 4 || d[s + 3] < 0x31 || d[s + 3] > 0x39) return false;
  if (end - s < 10) return true;
  const hi = u16be(d, s + 4);
  const lo = u32be(d, s + 6);
  return (hi === 0x3141 && lo === 0x59265359) || (hi === 0x1772 && lo === 0x45385090);
}

/** PE: e_lfanew, the offset of the "PE\0\0" header, is past the 64-byte DOS header. */
function peHeaderOk(d: Uint8Array, s: number, end: number): boolean {
  if (end - s < 64) return true;
  const lfanew = u32le(d, s + 0x3c);
  return lfanew >= 0x40 && lfanew < 0x10000;
}

/**
 * A binary OpenPGP signature packet (tag 2) in the old (0x88, 0x89) or new (0xC2) header format,
 * of version 3 to 6, signing a binary (0x00) or text (0x01) document.
 */
function pgpSignatureOk(d: Uint8Array, s: number, end: number): boolean {
  let v: number;
  const tag = d[s];
  if (tag === 0x88) v = s + 2;
  else if (tag === 0x89) v = s + 3;
  else {
    const len = d[s + 1];
    v = len < 192 ? s + 2 : len < 224 ? s + 3 : len === 255 ? s + 6 : -1;
  }
  if (v < 0 || v + 3 > end) return false;
  const version = d[v];
  if (version === 3) return d[v + 1] === 5 && d[v + 2] <= 1;
  return version >= 4 && version <= 6 && d[v + 1] <= 1;
}

/** DER/BER SEQUENCE { OID 1.2.840.113549.1.7.2 (signedData), ... }: ContentInfo of a CMS signature. */
const SIGNED_DATA_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
function cmsSignedDataOk(d: Uint8Array, s: number, end: number): boolean {
  const len = d[s + 1];
  let oid: number;
  if (len === 0x80) oid = s + 2; // indefinite length (BER)
  else if (len >= 0x81 && len <= 0x84) oid = s + 2 + (len - 0x80);
  else return false;
  if (oid + SIGNED_DATA_OID.length > end) return false;
  for (let i = 0; i < SIGNED_DATA_OID.length; i++) if (d[oid + i] !== SIGNED_DATA_OID[i]) return false;
  return true;
}

function bytes(spec: string | number[]): Uint8Array {
  return typeof spec === 'string' ? new TextEncoder().encode(spec) : Uint8Array.from(spec);
}

function sig(magic: FileMagic, at: number, spec: string | number[], verify?: Signature['verify']): Signature {
  return { magic, at, bytes: bytes(spec), verify };
}

/** Most specific first: long magics, then short ones that need their header checked. */
const SIGNATURES: readonly Signature[] = [
  sig(UIMAGE, 0, [0x27, 0x05, 0x19, 0x56], uImageHeaderOk),
  sig(FDT, 0, [0xd0, 0x0d, 0xfe, 0xed], (d, s, end) => end - s < 8 || u32be(d, s + 4) >= 40),
  sig(TRX, 0, 'HDR0', (d, s, end) => end - s < 16 || u16le(d, s + 14) === 1 || u16le(d, s + 14) === 2),
  sig(ANDROID_BOOT, 0, 'ANDROID!'),
  sig(SQUASHFS, 0, 'hsqs'),
  sig(SQUASHFS, 0, 'sqsh'),
  sig(UBI, 0, 'UBI#', (d, s, end) => end - s < 5 || d[s + 4] === 1),
  sig(UBIFS, 0, [0x31, 0x18, 0x10, 0x06]),
  sig(CRAMFS, 16, 'Compressed ROMFS', (d, s) => u32le(d, s) === 0x28cd3d45 || u32be(d, s) === 0x28cd3d45),
  sig(CRAMFS, 0, [0x45, 0x3d, 0xcd, 0x28]),
  sig(CRAMFS, 0, [0x28, 0xcd, 0x3d, 0x45]),
  sig(ANDROID_SPARSE, 0, [0x3a, 0xff, 0x26, 0xed], (d, s, end) => end - s < 6 || u16le(d, s + 4) === 1),
  sig(ELF, 0, [0x7f, 0x45, 0x4c, 0x46]),
  sig(CPIO, 0, '070701'),
  sig(CPIO, 0, '070702'),
  sig(CPIO, 0, '070707'),
  sig(ZIP, 0, [0x50, 0x4b, 0x03, 0x04]),
  sig(XZ, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  sig(SEVEN_ZIP, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
  sig(ZSTD, 0, [0x28, 0xb5, 0x2f, 0xfd]),
  sig(GZIP, 0, [0x1f, 0x8b, 0x08]),
  sig(BZIP2, 0, 'BZh', bzip2HeaderOk),
  sig(DEB, 0, '!<arch>\ndebian-binary'),
  sig(AR, 0, '!<arch>\n'),
  sig(RPM, 0, [0xed, 0xab, 0xee, 0xdb]),
  sig(PGP_ARMOR, 0, '-----BEGIN PGP SIGNATURE-----'),
  sig(PGP_CLEARSIGNED, 0, '-----BEGIN PGP SIGNED MESSAGE-----'),
  sig(MINISIGN, 0, 'untrusted comment: '),
  sig(PKCS7_PEM, 0, '-----BEGIN PKCS7-----'),
  sig(PKCS7_PEM, 0, '-----BEGIN CMS-----'),
  sig(CRX, 0, 'Cr24', (d, s, end) => end - s < 8 || u32le(d, s + 4) === 2 || u32le(d, s + 4) === 3),
  // Short magics, kept only when the header around them makes sense.
  sig(JFFS2, 0, [0x85, 0x19], (d, s, end) => end - s >= 4 && JFFS2_NODE_TYPES.has(u16le(d, s + 2))),
  sig(JFFS2, 0, [0x19, 0x85], (d, s, end) => end - s >= 4 && JFFS2_NODE_TYPES.has(u16be(d, s + 2))),
  sig(PE, 0, 'MZ', peHeaderOk),
  sig(LZMA, 0, [0x5d, 0x00, 0x00], lzmaHeaderOk),
  sig(INTEL_HEX, 0, ':', intelHexRecordOk),
  sig(PGP_BINARY, 0, [0x88], pgpSignatureOk),
  sig(PGP_BINARY, 0, [0x89], pgpSignatureOk),
  sig(PGP_BINARY, 0, [0xc2], pgpSignatureOk),
  sig(CMS_SIGNED, 0, [0x30], cmsSignedDataOk),
];

/** The format of the file whose first bytes are data[offset, offset + length), or null. */
export function identifyFile(data: Uint8Array, offset = 0, length = data.length - offset): FileMagic | null {
  const start = offset;
  const end = Math.min(data.length, offset + length);
  next: for (const s of SIGNATURES) {
    const at = start + s.at;
    const b = s.bytes;
    if (at + b.length > end) continue;
    for (let i = 0; i < b.length; i++) if (data[at + i] !== b[i]) continue next;
    if (s.verify === undefined || s.verify(data, start, end)) return s.magic;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Names: URL paths and file names that look like updates or signatures. Run per HTTP request or
// transfer, not per packet, so a regular expression compiled once is fine here.

/**
 * Update words: the long ones anywhere (GetFirmware, sysupgrade, checkUpdate), the short ones only as
 * a whole path word (so "/fw/" but not "/fwd/").
 */
const UPDATE_WORD = /firmware|upgrade|update|(?:^|[^a-z0-9])(?:fw|ota|fota)(?:[^a-z0-9]|$)/;
const UPDATE_EXTENSIONS = new Set([
  'bin', 'img', 'fw', 'pkg', 'trx', 'chk', 'swu', 'apk', 'deb', 'ipk', 'opk', 'rpm', 'zip', 'hex', 'dfu',
  'ubi', 'ubifs', 'squashfs', 'itb', 'fit', 'uimage', 'rom', 'tar', 'gz', 'tgz', 'xz', 'lzma', 'ota', 'upd',
]);
const SIGNATURE_EXTENSIONS = new Set(['sig', 'asc', 'sign', 'p7s', 'minisig', 'sha256sig']);

/** The path without query or fragment, lower-cased. */
function pathPart(pathOrName: string): string {
  let end = pathOrName.length;
  const q = pathOrName.indexOf('?');
  if (q >= 0) end = q;
  const h = pathOrName.indexOf('#');
  if (h >= 0 && h < end) end = h;
  return (end === pathOrName.length ? pathOrName : pathOrName.slice(0, end)).toLowerCase();
}

/** The extension of the last path segment, without the dot ('' when none). */
function extension(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 || dot < path.lastIndexOf('/') ? '' : path.slice(dot + 1);
}

/** Does a URL path or file name look like a firmware or software update download? */
export function looksLikeUpdatePath(pathOrName: string): boolean {
  const path = pathPart(pathOrName);
  return UPDATE_EXTENSIONS.has(extension(path)) || UPDATE_WORD.test(path);
}

/** Is this URL path or file name a detached signature (.sig, .asc, .sign, .p7s, .minisig, .sha256sig)? */
export function isSignaturePath(path: string): boolean {
  return SIGNATURE_EXTENSIONS.has(extension(pathPart(path)));
}
