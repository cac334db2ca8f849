# One image for all seven services; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim AS build
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
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
USER node
CMD ["node", "gateway/dist/main.js"]
