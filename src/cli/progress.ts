/**
 * A one-line progress bar on stderr, for big files on a terminal only (never in pipes or logs).
 */
const MIN_BYTES_FOR_PROGRESS = 4 * 1024 * 1024;
const REDRAW_INTERVAL_MS = 100;

export class Progress {
  private lastDraw = 0;
  private drawn = false;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly totalBytes: number | null,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(out.isTTY) && totalBytes !== null && totalBytes >= MIN_BYTES_FOR_PROGRESS;
  }

  update(bytesRead: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.lastDraw = now;
    const total = this.totalBytes as number;
    const fraction = Math.min(1, bytesRead / total);
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    this.out.write(`\r${this.label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% of ${formatBytes(total)}`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
