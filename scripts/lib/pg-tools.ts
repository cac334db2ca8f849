import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { OperatorError } from './run-script';

/** Runs a PostgreSQL client tool (pg_dump, pg_restore from PG_BIN or PATH); its stderr explains a failure. */
export async function runPgTool(tool: 'pg_dump' | 'pg_restore', args: string[], binDir?: string): Promise<void> {
  const command = binDir ? `${binDir}/${tool}` : tool;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new OperatorError(`${tool} not found: install PostgreSQL's client tools (the server's major version or newer), or set PG_BIN`)
          : err,
      ),
    );
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new OperatorError(`${tool} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`)),
    );
  });
}

/** SHA-256 of a file, hex. */
export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What `npm run backup` writes beside the dumps, and `npm run restore` checks before touching anything. */
export interface BackupManifest {
  format: 'codex-backup/1';
  createdAt: string;
  platformVersion: string;
  master: { database: string; file: string; sha256: string };
  tenants: Array<{ id: string; slug: string; database: string; role: string; file: string; sha256: string }>;
}
