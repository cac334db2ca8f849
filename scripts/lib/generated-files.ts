import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Files generated from another source of truth: `write` replaces those whose
 * text differs; `check` changes nothing. Either way answers the files that
 * differed, relative to the repository (for check: the stale ones).
 */
export async function writeOrCheck(generated: Map<string, string>, mode: 'write' | 'check'): Promise<string[]> {
  const differing: string[] = [];
  for (const [file, text] of generated) {
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current === text) continue;
    if (mode === 'write') await writeFile(file, text);
    differing.push(path.relative(ROOT, file));
  }
  return differing;
}
