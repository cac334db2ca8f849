import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The platform release, from the root package.json (the same from src/ and dist/). */
export const PLATFORM_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
