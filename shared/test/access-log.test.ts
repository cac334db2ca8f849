import { PassThrough } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { accessLog } from '../src/http/access-log';
import { createLogger } from '../src/logger';

describe('access log', () => {
  const appLoggingAt = (level: 'http' | 'info') => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const app = express();
    app.use(accessLog(createLogger('crm', { level, stream })));
    app.get('/x', (_req, res) => void res.status(204).end());
    return { app, lines };
  };

  it('when the level includes http, then each finished request is one line with method, path, status and duration', async () => {
    const { app, lines } = appLoggingAt('http');
    await request(app).get('/x?secret=1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ message: 'request', method: 'GET', path: '/x', status: 204, durationMs: expect.any(Number) });
  });

  it('when the level is above http, then requests write nothing', async () => {
    const { app, lines } = appLoggingAt('info');
    await request(app).get('/x');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([]);
  });
});
