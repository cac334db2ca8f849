# syntax=docker/dockerfile:1
# One image for the seven services, the console and the one-shot migration; docker-compose.yml picks each one's command.
# Build stage: everything, compiled. Runtime stage: production dependencies (no embedded PostgreSQL,
# no compilers) and the compiled output, run as the unprivileged `node` user.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY gateway/package.json gateway/
COPY services/auth/package.json services/auth/
COPY services/billing/package.json services/billing/
COPY services/subscription/package.json services/subscription/
COPY services/crm/package.json services/crm/
COPY services/client/package.json services/client/
COPY services/admin/package.json services/admin/
COPY admin-ui/package.json admin-ui/
# Workspaces the image does not run (the SDK, the tenant-app template) are still in the lockfile: npm ci needs their manifests.
COPY sdk/package.json sdk/
COPY templates/client-app/package.json templates/client-app/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && NEXT_TELEMETRY_DISABLED=1 npm run build -w admin-ui

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 HEALTHCHECK_PORT=3000
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/gateway/package.json gateway/
COPY --from=build /app/services/auth/package.json services/auth/
COPY --from=build /app/services/billing/package.json services/billing/
COPY --from=build /app/services/subscription/package.json services/subscription/
COPY --from=build /app/services/crm/package.json services/crm/
COPY --from=build /app/services/client/package.json services/client/
COPY --from=build /app/services/admin/package.json services/admin/
COPY --from=build /app/admin-ui/package.json admin-ui/
COPY --from=build /app/sdk/package.json sdk/
COPY --from=build /app/templates/client-app/package.json templates/client-app/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/gateway/dist gateway/dist
COPY --from=build /app/services/auth/dist services/auth/dist
COPY --from=build /app/services/auth/workers services/auth/workers
COPY --from=build /app/services/billing/dist services/billing/dist
COPY --from=build /app/services/subscription/dist services/subscription/dist
COPY --from=build /app/services/crm/dist services/crm/dist
COPY --from=build /app/services/client/dist services/client/dist
COPY --from=build /app/services/admin/dist services/admin/dist
COPY --from=build /app/migrations migrations
# The console: its production build, and the config `next start` reads (with the one module it imports).
COPY --from=build /app/admin-ui/.next admin-ui/.next
COPY --from=build /app/admin-ui/next.config.ts admin-ui/
COPY --from=build /app/admin-ui/src/lib/base-path.ts admin-ui/src/lib/
USER node
# Each service sets HEALTHCHECK_PORT to its own port (compose does).
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTHCHECK_PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "gateway/dist/main.js"]
