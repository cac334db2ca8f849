#!/usr/bin/env bash
# Deploy a release, check it, and roll back by itself if it does not come up healthy.
#
#   DEPLOY_PATH=/srv/codex [DEPLOY_HOST=deploy@api.example.com] scripts/deploy.sh
#
# On the host, DEPLOY_PATH holds releases/<time>/ (one per deploy), current -> the live one, and
# shared/codex.env (the settings, see .env.example; PM2 reads it through CODEX_ENV_FILE). Steps:
# build here; copy the tree to a new release on the host; install production dependencies; run
# migrations; point `current` at the release; `pm2 startOrReload`; poll /health/services until
# every service is up. If that does not happen within HEALTH_TIMEOUT seconds, `current` goes back to
# the previous release, PM2 reloads it, and the script exits 1.
#
# Migrations are forward-only and written expand -> migrate -> contract, so the previous release
# runs on the migrated database. Without DEPLOY_HOST the "host" is this machine (tests, one box).
set -euo pipefail

: "${DEPLOY_PATH:?set DEPLOY_PATH to the deploy directory on the host}"
DEPLOY_HOST="${DEPLOY_HOST:-}"
HEALTH_URL="${HEALTH_URL:-http://127.0.0.1:3000/health/services}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-90}"
SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
RELEASE="${RELEASE:-$(date -u +%Y%m%dT%H%M%SZ)}"
NPM_INSTALL="${NPM_INSTALL:-npm ci --omit=dev --no-audit --no-fund}"

say() { printf 'deploy: %s\n' "$*"; }

# Runs a command line on the host (over ssh), or here.
on_host() {
  if [ -n "$DEPLOY_HOST" ]; then ssh "$DEPLOY_HOST" "$1"; else bash -c "$1"; fi
}
target() {
  if [ -n "$DEPLOY_HOST" ]; then printf '%s:%s' "$DEPLOY_HOST" "$1"; else printf '%s' "$1"; fi
}

# The environment every remote step runs with: the settings file and this release's directory
# (PM2 starts services from `current`, so a reload picks up whichever release it points at).
HOST_ENV="export CODEX_ENV_FILE='$DEPLOY_PATH/shared/codex.env' CODEX_RELEASE_DIR='$DEPLOY_PATH/current';"
[ -n "${PM2_HOME:-}" ] && HOST_ENV="$HOST_ENV export PM2_HOME='$PM2_HOME';"
# PM2 installed on the host (`npm install -g pm2`); releases carry production dependencies only.
PM2="${PM2_BIN:-pm2}"

if [ -z "${SKIP_BUILD:-}" ]; then
  say "building in $SOURCE_DIR"
  # The services (tsc) and the console's production build (admin-ui/.next), which the release carries.
  (cd "$SOURCE_DIR" && npm ci --no-audit --no-fund && npm run build && NEXT_TELEMETRY_DISABLED=1 npm run build -w admin-ui)
fi

say "copying release $RELEASE"
on_host "mkdir -p '$DEPLOY_PATH/releases' '$DEPLOY_PATH/shared'"
rsync -a --delete \
  --exclude node_modules --exclude .git --exclude .data --exclude '.env' --exclude backups --exclude 'bench/results' --exclude 'admin-ui/.next/cache' \
  "$SOURCE_DIR/" "$(target "$DEPLOY_PATH/releases/$RELEASE/")"

say "installing production dependencies and migrating"
on_host "$HOST_ENV cd '$DEPLOY_PATH/releases/$RELEASE' && $NPM_INSTALL && set -a && . '$DEPLOY_PATH/shared/codex.env' && set +a && node dist/scripts/migrate.js"

PREVIOUS="$(on_host "readlink '$DEPLOY_PATH/current' || true")"

# Points `current` at a release in one step (a rename, so no moment without a `current`).
switch_to() {
  on_host "ln -sfn '$1' '$DEPLOY_PATH/current.next' && mv -T '$DEPLOY_PATH/current.next' '$DEPLOY_PATH/current'"
}
reload() {
  on_host "$HOST_ENV cd '$DEPLOY_PATH/current' && $PM2 startOrReload '$DEPLOY_PATH/current/pm2.config.js' --update-env"
}
healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if on_host "node -e \"fetch('$HEALTH_URL').then((r) => r.json()).then((b) => process.exit(b.services.every((s) => s.status === 'up') ? 0 : 1), () => process.exit(1))\""; then
      return 0
    fi
    sleep 2
  done
  return 1
}

say "switching to $RELEASE"
switch_to "$DEPLOY_PATH/releases/$RELEASE"
reload
if healthy; then
  say "release $RELEASE is live and healthy"
  exit 0
fi

if [ -n "$PREVIOUS" ]; then
  say "release $RELEASE did not become healthy within ${HEALTH_TIMEOUT}s; rolling back to $(basename "$PREVIOUS")"
  switch_to "$PREVIOUS"
  reload
  if healthy; then
    say "rolled back to $(basename "$PREVIOUS")"
  else
    say "rolled back to $(basename "$PREVIOUS"), which is not healthy either"
  fi
else
  say "release $RELEASE did not become healthy within ${HEALTH_TIMEOUT}s, and there is no earlier release to go back to"
fi
exit 1
