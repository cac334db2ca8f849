import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NAMES, variablesOf } from '@codex/shared';

/** The README's environment table, read as documentation users rely on: it must say what the config schemas read. */
describe("the README's environment table", () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Environment'), readme.indexOf('An empty variable counts as unset.'));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .map(([, variables, readBy]) => ({ variables: [...variables!.matchAll(/`([A-Z0-9_<>]+)`/g)].map((m) => m[1]!), readBy: readBy! }));
  const documented = (name: string) => rows.find((row) => row.variables.includes(name));

  it.each(SERVICE_NAMES)('when %s reads a variable, then the table lists it as read by that service (or all)', (service) => {
    const missing = variablesOf(service).filter((name) => {
      const row = documented(name);
      return !row || !(row.readBy === 'all' || row.readBy.split(/,\s*/).includes(service));
    });
    expect(missing).toEqual([]);
  });

  it('when the table says a service reads a variable, then it does', () => {
    const wrong = rows.flatMap((row) =>
      row.readBy === 'all' || row.readBy.includes('npm')
        ? []
        : row.readBy
            .split(/,\s*/)
            .flatMap((service) => row.variables.filter((name) => !variablesOf(service as never).includes(name)).map((name) => `${name} by ${service}`)),
    );
    expect(wrong).toEqual([]);
  });
});

describe('.env.example', () => {
  const example = readFileSync(path.join(__dirname, '..', '.env.example'), 'utf8');
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));

  it('when any service reads a variable, then .env.example lists it with its default', () => {
    const missing = [...new Set(SERVICE_NAMES.flatMap((service) => variablesOf(service)))].filter((name) => !listed.has(name));
    expect(missing).toEqual([]);
  });
});
