import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** Whether something already listens on `port` of `host`. */
export function portInUse(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

/**
 * The process listening on a TCP port, as Linux's /proc tells it (pid and
 * command line), or undefined when it cannot be told (another OS, no rights).
 */
export function portHolder(port: number): { pid: number; command: string } | undefined {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address is "ADDR:PORT"; state 0A is LISTEN; inode is field 9.
        if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
      }
    }
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
          const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
          if (inode && inodes.has(inode)) {
            return { pid: Number(pid), command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') };
          }
        } catch {
          // gone meanwhile
        }
      }
    }
  } catch {
    // not Linux, or not allowed to look
  }
  return undefined;
}
