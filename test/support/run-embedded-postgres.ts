import { startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres';

/** `run-embedded-postgres.ts <dataDir> <port>`: prints the server's URL, stops it when stdin closes. */
async function main(): Promise<void> {
  const [dataDir, port] = process.argv.slice(2);
  const server = await startEmbeddedPostgres({ dataDir: dataDir!, port: Number(port), fast: true });
  process.stdout.write(`${server.url}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => {
    void server.stop().then(() => process.exit(0));
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
