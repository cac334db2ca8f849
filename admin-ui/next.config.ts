import path from 'node:path';
import type { NextConfig } from 'next';
import { BASE_PATH } from './src/lib/base-path';

const config: NextConfig = {
  // nginx sends /console/ here; the API and its docs keep the rest of the host.
  basePath: BASE_PATH,
  poweredByHeader: false,
  reactStrictMode: true,
  // One install for the whole repository: the lockfile and node_modules live at its root.
  outputFileTracingRoot: path.join(__dirname, '..'),
  turbopack: { root: path.join(__dirname, '..') },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default config;
