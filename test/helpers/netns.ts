/**
 * A small home network in network namespaces, made and removed by the test that uses it:
 *
 *   dev  (192.168.77.10, MAC 02:77:00:00:00:10) ──veth── gw: bridge br0 (192.168.77.1)
 *   gw   routes to ──veth── inet (203.0.113.10, TEST-NET-3: a "public" address that lives only here)
 *
 * The monitor listens on the gateway's bridge, as on a home router. Traffic goes only between
 * these namespaces. Names carry a random suffix so parallel or leftover runs never collide.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const DEV_IP = '192.168.77.10';
export const DEV_MAC = '02:77:00:00:00:10';
export const GW_IP = '192.168.77.1';
export const INET_IP = '203.0.113.10';

export interface HomeNet {
  gw: string;
  dev: string;
  inet: string;
  /** The bridge the monitor captures on (inside gw). */
  bridge: string;
  /** Extra veth in gw (no IP) that tcpreplay can write onto, bridged with br0. */
  injectPort: string;
  /** Run a command in a namespace and return its stdout. */
  exec(ns: string, cmd: string[], timeoutMs?: number): string;
  /** Start a long-running process in a namespace (killed by destroy()). */
  spawn(ns: string, cmd: string[], options?: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv }): ChildProcess;
  destroy(): void;
}

/** Root, iproute2 and network namespaces available? (Tests skip otherwise, saying why.) */
export function canMakeNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    const probe = `nc-probe-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createHomeNet(): HomeNet {
  const id = randomBytes(3).toString('hex');
  const gw = `nct-gw-${id}`;
  const dev = `nct-dev-${id}`;
  const inet = `nct-inet-${id}`;
  const children: ChildProcess[] = [];
  const inns = (ns: string, ...args: string[]): void => ip('netns', 'exec', ns, ...args);
  const net: HomeNet = {
    gw,
    dev,
    inet,
    bridge: 'br0',
    injectPort: 'inj0',
    exec(ns, cmd, timeoutMs = 20_000) {
      return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    spawn(ns, cmd, options = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
      children.push(child);
      return child;
    },
    destroy() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const ns of [gw, dev, inet]) {
        try {
          // Anything still running inside (servers started by hand) goes with its namespace.
          const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
          for (const pid of pids) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              /* already gone */
            }
          }
          ip('netns', 'del', ns);
        } catch {
          /* never created or already gone */
        }
      }
    },
  };
  try {
    for (const ns of [gw, dev, inet]) {
      ip('netns', 'add', ns);
      inns(ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    // Gateway: a bridge for the LAN, a routed link to the "internet".
    inns(gw, 'ip', 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    inns(gw, 'ip', 'addr', 'add', `${GW_IP}/24`, 'dev', 'br0');
    inns(gw, 'ip', 'link', 'set', 'br0', 'up');
    inns(gw, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    inns(gw, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    // Device port.
    ip('link', 'add', `d${id}`, 'netns', dev, 'address', DEV_MAC, 'type', 'veth', 'peer', 'name', 'p-dev', 'netns', gw);
    inns(dev, 'ip', 'link', 'set', `d${id}`, 'name', 'eth0');
    inns(dev, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    inns(dev, 'ip', 'addr', 'add', `${DEV_IP}/24`, 'dev', 'eth0');
    inns(dev, 'ip', 'link', 'set', 'eth0', 'up');
    inns(dev, 'ip', 'route', 'add', 'default', 'via', GW_IP);
    inns(gw, 'ip', 'link', 'set', 'p-dev', 'master', 'br0');
    inns(gw, 'ip', 'link', 'set', 'p-dev', 'up');
    // A port for injected traffic (tcpreplay writes into inj-peer; br0 sees it arrive on inj0).
    inns(gw, 'ip', 'link', 'add', 'inj0', 'type', 'veth', 'peer', 'name', 'inj-peer');
    inns(gw, 'ip', 'link', 'set', 'inj0', 'master', 'br0');
    inns(gw, 'ip', 'link', 'set', 'inj0', 'up');
    inns(gw, 'ip', 'link', 'set', 'inj-peer', 'up');
    // Internet side.
    ip('link', 'add', `w${id}`, 'netns', gw, 'type', 'veth', 'peer', 'name', `i${id}`, 'netns', inet);
    inns(gw, 'ip', 'link', 'set', `w${id}`, 'name', 'wan0');
    inns(gw, 'ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'wan0');
    inns(gw, 'ip', 'link', 'set', 'wan0', 'up');
    inns(inet, 'ip', 'link', 'set', `i${id}`, 'name', 'eth0');
    inns(inet, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    inns(inet, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'eth0');
    inns(inet, 'ip', 'addr', 'add', `${INET_IP}/32`, 'dev', 'lo');
    inns(inet, 'ip', 'link', 'set', 'eth0', 'up');
    inns(inet, 'ip', 'route', 'add', '192.168.77.0/24', 'via', '198.51.100.1');
    inns(gw, 'ip', 'route', 'add', `${INET_IP}/32`, 'via', '198.51.100.2');
    // veth offloads would hand libpcap 64 KiB "packets"; a real NIC's frames are what we analyse.
    for (const [ns, ifc] of [[gw, 'p-dev'], [gw, 'wan0'], [dev, 'eth0'], [inet, 'eth0']] as const) {
      try {
        inns(ns, 'ethtool', '-K', ifc, 'tso', 'off', 'gso', 'off', 'gro', 'off');
      } catch {
        /* ethtool missing: frames may be coalesced, flows are still right */
      }
    }
  } catch (err) {
    net.destroy();
    throw err;
  }
  return net;
}

/** Polls `probe` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with the child's exit code (or signal) once it ends. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
