import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) a summary needs. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where a function's code lives, coarsely: a package from node_modules, Node's
 * own internals (HTTP parsing, sockets, streams), the project's code by
 * workspace, or the VM (GC, idle, the program itself).
 */
function owner(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) {
    const internal = url.replace(/^node:(internal\/)?/, '');
    if (/^(http|_http|deps\/llhttp)/.test(internal)) return 'node: http';
    if (/^(net|stream|streams|tls)/.test(internal) || internal.startsWith('stream_base')) return 'node: net and streams';
    if (internal.startsWith('async_hooks') || internal.startsWith('async_local_storage')) return 'node: async context';
    return 'node: other';
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = url.replace(/^file:\/\//, '').split(path.sep);
  for (const root of ['gateway', 'shared', 'services']) {
    const at = repo.lastIndexOf(root);
    if (at >= 0) return root === 'services' ? `ours: services/${repo[at + 1]}` : `ours: ${root}`;
  }
  return url;
}

type ProfileNode = CpuProfile['nodes'][number];

/**
 * Self time per owner and per function, in per cent of the sampled time that
 * was not idle, largest first. A builtin's time (no script of its own:
 * JSON.stringify, crypto, a socket write) counts for the nearest caller that
 * has one, so "our code" includes the builtins it calls.
 */
export function summarizeProfile(profile: CpuProfile): {
  owners: Array<{ name: string; percent: number }>;
  functions: Array<{ name: string; percent: number }>;
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const attributed = (node: ProfileNode): ProfileNode => {
    let at: ProfileNode | undefined = node;
    while (at && !at.callFrame.url && !at.callFrame.functionName.startsWith('(')) at = parentOf.get(at.id);
    return at ?? node;
  };
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const sampled = byId.get(profile.samples[i]!);
    if (!sampled) continue;
    const node = attributed(sampled);
    const who = owner(node.callFrame.url, node.callFrame.functionName);
    if (who === '(idle)' || who === '(program)') continue;
    const micros = profile.timeDeltas[i] ?? 0;
    busy += micros;
    owners.set(who, (owners.get(who) ?? 0) + micros);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${who}:${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
  }
  const ranked = (totals: Map<string, number>) =>
    [...totals].map(([name, micros]) => ({ name, percent: (100 * micros) / Math.max(busy, 1) })).sort((a, b) => b.percent - a.percent);
  return { owners: ranked(owners), functions: ranked(functions) };
}

/** Prints the summary of every profile under `dir` (one per process the bench started with `--profile`). */
export async function printProfiles(dir: string, top = 14): Promise<void> {
  const files = (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.cpuprofile')).sort();
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    const summary = summarizeProfile(profile);
    const lines = (rows: Array<{ name: string; percent: number }>) => rows.slice(0, top).map((row) => `  ${row.percent.toFixed(1).padStart(5)} %  ${row.name}`);
    process.stdout.write(
      `\nCPU self time, not idle: ${path.join(dir, file)}\nby owner\n${lines(summary.owners).join('\n')}\nby function\n${lines(summary.functions).join('\n')}\n`,
    );
  }
}
