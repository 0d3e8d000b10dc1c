import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { formatBytes, Progress } from '../../src/cli/progress.js';

function stream(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk, _e, cb) {
      text += chunk.toString();
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  (w as { isTTY?: boolean }).isTTY = isTTY;
  return { out: w, text: () => text };
}

describe('progress bar', () => {
  it('draws on a terminal for a big file, then clears its line', () => {
    vi.useFakeTimers();
    const s = stream(true);
    const p = new Progress('analysing big.pcap', 50_000_000, s.out);
    p.update(25_000_000);
    expect(s.text()).toContain('50%');
    expect(s.text()).toContain('analysing big.pcap');
    vi.advanceTimersByTime(200);
    p.update(50_000_000);
    expect(s.text()).toContain('100%');
    p.done();
    expect(s.text().endsWith('\r\x1b[2K')).toBe(true);
    vi.useRealTimers();
  });

  it('stays silent in a pipe, for small files and for standard input', () => {
    for (const [tty, total] of [[false, 50_000_000], [true, 1000], [true, null]] as const) {
      const s = stream(tty);
      const p = new Progress('x', total, s.out);
      p.update(500);
      p.done();
      expect(s.text()).toBe('');
    }
  });

  it('formats sizes for people', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(460_000_000)).toBe('460 MB');
  });
});
