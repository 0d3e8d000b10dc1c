/**
 * File identification on headers built from each format's specification (with real CRCs where the
 * format has one), and on real files: /bin/true, zlib's gzip and raw deflate.
 */
import { readFileSync } from 'node:fs';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FILE_MAGIC, identifyFile, isSignaturePath, looksLikeUpdatePath } from '../../src/intel/file-magic.js';

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u16le = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const bytes = (...b: number[]): Buffer => Buffer.from(b);
const pad = (b: Buffer, n = 64): Buffer => Buffer.concat([b, Buffer.alloc(Math.max(0, n - b.length))]);

/** A U-Boot legacy header (include/image.h): 7 big-endian words, os/arch/type/comp, 32-byte name. */
function uImage(payload: Buffer, corruptCrc = false): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32BE(0x27051956, 0); // ih_magic
  h.writeUInt32BE(1_700_000_000, 8); // ih_time
  h.writeUInt32BE(payload.length, 12); // ih_size
  h.writeUInt32BE(0x80008000, 16); // ih_load
  h.writeUInt32BE(0x80008000, 20); // ih_ep
  h.writeUInt32BE(crc32(payload), 24); // ih_dcrc
  h.set([5 /* linux */, 2 /* arm */, 2 /* kernel */, 0 /* none */], 28);
  h.write('Linux-5.15.0', 32, 'latin1');
  h.writeUInt32BE(crc32(h) + (corruptCrc ? 1 : 0), 4); // ih_hcrc, computed with itself zero
  return Buffer.concat([h, payload]);
}

/** A zip local file header (APPNOTE 4.3.7) for one deflated entry. */
function zip(name: string, content: Buffer): Buffer {
  const data = deflateRawSync(content);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed
  h.writeUInt16LE(8, 8); // deflate
  h.writeUInt32LE(crc32(content), 14);
  h.writeUInt32LE(data.length, 18);
  h.writeUInt32LE(content.length, 22);
  h.writeUInt16LE(name.length, 26);
  return Buffer.concat([h, ascii(name), data]);
}

/** A cpio "newc" header: magic and 13 eight-digit hex fields, then the name. */
function cpioNewc(name: string): Buffer {
  const fields = [1, 0o100644, 0, 0, 1, 1_700_000_000, 4, 0, 0, 0, 0, name.length + 1, 0];
  return ascii('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('') + name + '\0');
}

const XZ_FLAGS = bytes(0x00, 0x04); // CRC64 check
const CMS_PREFIX = bytes(0x30, 0x82, 0x05, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x82, 0x05, 0x0b);

const SAMPLES: [id: string, data: Buffer][] = [
  ['uimage', uImage(Buffer.alloc(256, 0xaa))],
  // Devicetree header: magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version 17, last comp 16.
  ['fdt', Buffer.concat([u32be(0xd00dfeed), u32be(0x1000), u32be(0x38), u32be(0x200), u32be(0x28), u32be(17), u32be(16)])],
  // TRX: "HDR0", length, CRC32, flags, version 1, three partition offsets.
  ['trx', pad(Buffer.concat([ascii('HDR0'), u32le(0x3a0000), u32le(0x12345678), u16le(0), u16le(1), u32le(28), u32le(0x1000), u32le(0)]))],
  ['android-boot', pad(Buffer.concat([ascii('ANDROID!'), u32le(0x800000), u32le(0x10008000)]))],
  ['squashfs', pad(Buffer.concat([ascii('hsqs'), u32le(1200), u32le(1_700_000_000), u32le(131072)]))],
  ['squashfs', pad(Buffer.concat([ascii('sqsh'), u32be(1200)]))],
  // UBI erase counter header: "UBI#", version 1, padding, 64-bit erase counter.
  ['ubi', pad(Buffer.concat([ascii('UBI#'), bytes(1, 0, 0, 0), Buffer.alloc(8), u32be(0x800)]))],
  ['ubifs', pad(Buffer.concat([bytes(0x31, 0x18, 0x10, 0x06), u32le(0xdeadbeef), Buffer.alloc(8), u32le(4096), bytes(6)]))],
  // JFFS2 clean marker, little and big endian: magic 0x1985, node type 0x2003, total length 12.
  ['jffs2', Buffer.concat([bytes(0x85, 0x19, 0x03, 0x20), u32le(12), u32le(0)])],
  ['jffs2', Buffer.concat([bytes(0x19, 0x85, 0x20, 0x03), u32be(12), u32be(0)])],
  ['cramfs', pad(Buffer.concat([u32le(0x28cd3d45), u32le(4096), u32le(3), u32le(0), ascii('Compressed ROMFS')]))],
  // Android sparse: magic, major 1, minor 0, file header 28, chunk header 12, block size 4096.
  ['android-sparse', pad(Buffer.concat([u32le(0xed26ff3a), u16le(1), u16le(0), u16le(28), u16le(12), u32le(4096)]))],
  ['elf', readFileSync('/bin/true').subarray(0, 64)],
  // DOS header with e_lfanew = 0x80, as every PE linker writes.
  ['pe', pad(Buffer.concat([ascii('MZ'), bytes(0x90, 0, 3, 0, 0, 0, 4, 0), Buffer.alloc(50), u32le(0x80)]))],
  ['cpio', cpioNewc('etc/init.d/rcS')],
  ['cpio', ascii('070707000001000002100644000000000000000001000000145000000000000200000000004TRAILER!!!\0')],
  ['zip', zip('AndroidManifest.xml', ascii('<manifest/>'.repeat(20)))],
  ['gzip', gzipSync(ascii('firmware'))],
  // xz stream header: magic, stream flags, CRC32 of the flags.
  ['xz', Buffer.concat([bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), XZ_FLAGS, u32le(crc32(XZ_FLAGS))])],
  // .lzma: lc=3 lp=0 pb=2, 8 MiB dictionary, unknown size.
  ['lzma', Buffer.concat([bytes(0x5d), u32le(1 << 23), Buffer.alloc(8, 0xff), bytes(0x00, 0x83, 0xff)])],
  ['lzma', Buffer.concat([bytes(0x5d), u32le(1 << 16), u32le(3_000_000), u32le(0), bytes(0x00)])],
  // The empty bzip2 stream: header, end-of-stream magic, CRC 0.
  ['bzip2', bytes(0x42, 0x5a, 0x68, 0x39, 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0, 0, 0, 0)],
  ['bzip2', pad(Buffer.concat([ascii('BZh9'), bytes(0x31, 0x41, 0x59, 0x26, 0x53, 0x59)]), 32)],
  // 7z signature header: magic, version 0.4, start header CRC, next header offset/size/CRC.
  ['7z', pad(Buffer.concat([bytes(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04), u32le(0x8d9b1a3c)]), 32)],
  ['zstd', bytes(0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x29, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f)],
  ['intel-hex', ascii(':10010000214601360121470136007EFE09D2190140\r\n:00000001FF\r\n')],
  ['deb', ascii('!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n')],
  ['ar', ascii('!<arch>\n/               1700000000  0     0     0       4         `\n')],
  // RPM lead: magic, version 3.0, type binary, arch 1, 66-byte name.
  ['rpm', pad(Buffer.concat([bytes(0xed, 0xab, 0xee, 0xdb, 3, 0, 0, 0, 0, 1), ascii('busybox-1.36.1-1')]), 96)],
  ['pgp-signature', ascii('-----BEGIN PGP SIGNATURE-----\n\niQIzBAABCAAdFiEE')],
  ['pgp-clearsigned', ascii('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n')],
  // Old-format tag 2, two-byte length, version 4, binary document, RSA, SHA-256.
  ['pgp-signature-binary', bytes(0x89, 0x02, 0x33, 0x04, 0x00, 0x01, 0x08, 0x00, 0x1d)],
  // New format (0xC2), one-byte length, version 4, EdDSA, SHA-512.
  ['pgp-signature-binary', bytes(0xc2, 0x75, 0x04, 0x00, 0x16, 0x0a, 0x00, 0x1d)],
  ['minisign', ascii('untrusted comment: signature from minisign secret key\nRUQf6LRCGA9i5')],
  ['pkcs7-pem', ascii('-----BEGIN PKCS7-----\nMIIFGgYJKoZIhvcNAQcCoIIFCzCCBQcCAQEx')],
  ['cms-signed-data', pad(CMS_PREFIX)],
  ['cms-signed-data', pad(Buffer.concat([bytes(0x30, 0x80), CMS_PREFIX.subarray(4)]))],
  // CRX3: magic, version 3, header size.
  ['crx', Buffer.concat([ascii('Cr24'), u32le(3), u32le(0x45c)])],
];

describe('identifyFile', () => {
  it.each(SAMPLES)('identifies %s', (id, data) => {
    expect(identifyFile(data)?.id).toBe(id);
    // Only the first 64 bytes are kept in practice.
    expect(identifyFile(data.subarray(0, 64))?.id).toBe(id);
  });

  it('covers every format in the table, each with a source', () => {
    expect(new Set(SAMPLES.map(([id]) => id))).toEqual(new Set(FILE_MAGIC.map((m) => m.id)));
    for (const m of FILE_MAGIC) expect(m.source).toMatch(/^https:\/\//);
  });

  it('checks the uImage header CRC', () => {
    expect(identifyFile(uImage(Buffer.alloc(16), true))).toBeNull();
  });

  it('reads at an offset within a larger buffer', () => {
    const gz = gzipSync(ascii('x'));
    const buf = Buffer.concat([ascii('HTTP/1.1 200 OK\r\n\r\n'), gz]);
    expect(identifyFile(buf, 19)?.id).toBe('gzip');
    expect(identifyFile(buf, 19, 2)).toBeNull(); // two bytes: too short for gzip's three
    expect(identifyFile(buf)).toBeNull();
  });

  it('does not mistake common non-matches', () => {
    const samples = [
      Buffer.alloc(0),
      ascii('<!DOCTYPE html><html><head><title>Router</title>'),
      ascii('{"version":"1.2.3","url":"http://fw.example/x.bin"}'),
      bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d), // PNG
      bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46), // JPEG
      pad(ascii('MZ')), // e_lfanew 0: not a PE (with fewer than 64 bytes, "MZ" alone is taken as one)
      // A DER X.509 certificate: SEQUENCE of SEQUENCE, no signedData OID.
      pad(bytes(0x30, 0x82, 0x03, 0x5a, 0x30, 0x82, 0x02, 0x42, 0xa0, 0x03, 0x02, 0x01, 0x02)),
      ascii('0123456789abcdef'),
      ascii(':not hex at all'),
      bytes(0x85, 0x19, 0x00, 0x00), // JFFS2 magic, unknown node type
      bytes(0x5d, 0x00, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0), // not a power-of-two dictionary
      ascii('BZh0'),
    ];
    for (const data of samples) expect(identifyFile(data), data.toString('hex')).toBeNull();
  });
});

describe('looksLikeUpdatePath', () => {
  it.each([
    '/firmware/RT-AC68U_3.0.0.4_386_51665.trx',
    '/fw/v2/image.bin',
    '/api/ota/check?device=cam1',
    '/download/Update/PACKAGE.PKG',
    'sysupgrade.img',
    '/cgi-bin/upgrade.cgi',
    '/ipc/IPC_G5_V5.6.1.zip',
    '/roms/esp32-devkit.hex',
    '/dl/device_FW_1.2.3.dfu',
    '/packages/busybox_1.36.1-1_mipsel_24kc.ipk',
    '/swupdate/rootfs.swu',
    '/GetFirmware?model=X1',
    '/cgi-bin/checkUpdate.cgi',
  ])('%s looks like an update', (p) => expect(looksLikeUpdatePath(p)).toBe(true));

  it.each(['/index.html', '/api/v1/status', '/static/app.js', '/fwd/redirect', '/software/about', '/img/logo.png', '/bin/', '/status.json?next=/firmware.bin', '/photos/rotation.jpg'])(
    '%s does not',
    (p) => expect(looksLikeUpdatePath(p)).toBe(false),
  );
});

describe('isSignaturePath', () => {
  it.each(['/fw/image.bin.sig', '/SHA256SUMS.asc', 'update.zip.SIGN', '/a/b.p7s?token=1', 'release.tar.gz.minisig', 'fw.bin.sha256sig'])(
    '%s is a signature',
    (p) => expect(isSignaturePath(p)).toBe(true),
  );

  it.each(['/fw/image.bin', '/sig/image.bin', '/signatures/', 'design.sigma', '/x.asc/y'])('%s is not', (p) => expect(isSignaturePath(p)).toBe(false));
});
