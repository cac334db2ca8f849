import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const COLORS = [36, 32, 33, 35, 34, 96, 92, 93];

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** Waits before restarting a child that died: 1 s, doubling to 30 s; back to 1 s once it has run a minute. */
export class Backoff {
  private failures = 0;
  private lastStart = 0;

  started(): void {
    this.lastStart = Date.now();
  }

  /** The next delay, in ms. */
  next(): number {
    if (Date.now() - this.lastStart > 60_000) this.failures = 0;
    const delayMs = Math.min(1_000 * 2 ** this.failures, 30_000);
    this.failures += 1;
    return delayMs;
  }
}

/** Runs named child processes, prefixing each output line with the child's name; one live child per name. */
export class ProcessGroup {
  private readonly current = new Map<string, ManagedProcess>();
  private readonly width: number;

  constructor(
    names: string[],
    private readonly onExit: (name: string, code: number | null, signal: NodeJS.Signals | null) => void,
  ) {
    this.width = Math.max(...names.map((name) => name.length));
  }

  get processes(): ManagedProcess[] {
    return [...this.current.values()];
  }

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const color = COLORS[[...this.current.keys(), name].indexOf(name) % COLORS.length];
    const label = process.stdout.isTTY ? `\x1b[${color}m${name.padEnd(this.width)}\x1b[0m` : name.padEnd(this.width);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${label} | ${line}\n`));
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit(name, code, signal);
        resolve(code);
      });
    });
    const managed = { name, child, exited };
    this.current.set(name, managed);
    return managed;
  }

  /** SIGTERM to every running child (or only those `named`); SIGKILL to those still running after `timeoutMs`. */
  async stop(timeoutMs: number, named?: string[]): Promise<void> {
    const running = this.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null && (!named || named.includes(p.name)));
    for (const p of running) p.child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }, timeoutMs);
    await Promise.all(running.map((p) => p.exited));
    clearTimeout(killer);
  }
}
