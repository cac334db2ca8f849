import { node24Binary } from './lib/node-runtimes';

/** Prints the path of the Node 24 binary, fetching it first if needed (used by .ci/run). */
node24Binary().then(
  (binary) => process.stdout.write(`${binary}\n`),
  (err: unknown) => {
    process.stderr.write(`node24: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
