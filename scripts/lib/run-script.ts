import { ConfigError, toAppError, type FieldIssue } from '@codex/shared';

/** Thrown by a command for a wrong invocation; `runScript` prints the usage for it. */
export class UsageError extends Error {}

/** A refusal the operator can act on (a busy port, a missing file): printed as it is, without a stack. */
export class OperatorError extends Error {}

/**
 * Runs an operator command: known failures print one line (a bad variable,
 * a refused operation, a database whose schema is behind), anything else its
 * stack; the exit code says which (2 for usage, 1 otherwise).
 */
/** The per-field problems of a validation failure, as the API lists them. */
const fieldIssues = (details: unknown): FieldIssue[] =>
  Array.isArray(details) ? details.filter((d): d is FieldIssue => typeof d?.path === 'string' && typeof d?.message === 'string') : [];

export function runScript(name: string, main: () => Promise<void>, usage?: string): void {
  main().catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${usage ?? err.message}\n`);
      process.exit(2);
    }
    const known = toAppError(err);
    let line: string;
    if (err instanceof ConfigError || err instanceof OperatorError) line = err.message;
    else if ((err as { code?: string }).code === '42P01')
      line = `the database schema is behind this version: run \`npm run migrate\` (${(err as Error).message})`;
    else if (known && known.status < 500) line = [known.message, ...fieldIssues(known.details).map((i) => `  ${i.path}: ${i.message}`)].join('\n');
    else line = (err as Error).stack ?? String(err);
    process.stderr.write(`${name}: ${line}\n`);
    process.exit(1);
  });
}
