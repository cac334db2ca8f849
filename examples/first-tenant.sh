#!/usr/bin/env bash
# From nothing to a signed-in user with a client and a deal, with curl alone. Every call must succeed (curl -f).
#   ADMIN_PASSWORD=<printed by the first npm start> examples/first-tenant.sh
# Needs curl and jq. CDX_API_URL (default http://127.0.0.1:3000), ADMIN_EMAIL (default admin@codex.local).
set -euo pipefail

G="${CDX_API_URL:-http://127.0.0.1:3000}"
ADMIN_EMAIL="${ADMIN_EMAIL:-admin@codex.local}"
: "${ADMIN_PASSWORD:?set ADMIN_PASSWORD to the password of the super admin}"
SLUG="${SLUG:-demo-$(date +%s)}"
EMAIL="${EMAIL:-owner@$SLUG.example}"
PASSWORD="${PASSWORD:-correct horse battery}"

json() { curl -fsS -H 'content-type: application/json' "$@"; }

# 1. The operator signs in and creates the tenant: its own database and first API key (shown once).
ADMIN=$(json -XPOST "$G/api/v1/auth/admin/login" -d "$(jq -n --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email:$e,password:$p}')" | jq -er .accessToken)
KEY=$(json -XPOST "$G/api/v1/admin/tenants" -H "authorization: Bearer $ADMIN" -d "$(jq -n --arg s "$SLUG" '{name:$s,slug:$s}')" | jq -er .apiKey.key)

# 2. The tenant's app signs its first user (the owner) up; the answer carries the user's tokens.
TOKEN=$(json -XPOST "$G/api/v1/auth/register" -H "x-api-key: $KEY" -d "$(jq -n --arg e "$EMAIL" --arg p "$PASSWORD" '{email:$e,password:$p}')" | jq -er .accessToken)
as_user=(-H "x-api-key: $KEY" -H "authorization: Bearer $TOKEN")

# 3. A client, and a deal in the first stage of the default pipeline (an Idempotency-Key makes a retry safe).
CLIENT=$(json -XPOST "$G/api/v1/client/clients" "${as_user[@]}" -H "idempotency-key: first-client-$SLUG" -d '{"name":"Acme Ltd","email":"hello@acme.example"}' | jq -er .id)
PIPELINE=$(curl -fsS "$G/api/v1/crm/pipelines" "${as_user[@]}" | jq -c '.items | map(select(.isDefault)) | .[0]')
DEAL=$(json -XPOST "$G/api/v1/crm/deals" "${as_user[@]}" -d "$(jq -n --arg c "$CLIENT" --argjson p "$PIPELINE" \
  '{title:"First deal",valueMinor:120000,currency:"EUR",clientId:$c,pipelineId:$p.id,stageId:($p.stages|sort_by(.position)[0].id)}')")

# 4. Move it one stage on, sending the version it was read at.
NEXT_STAGE=$(jq -r --argjson p "$PIPELINE" -n '$p.stages|sort_by(.position)[1].id')
json -XPOST "$G/api/v1/crm/deals/$(jq -r .id <<<"$DEAL")/move" "${as_user[@]}" -d "$(jq -n --arg s "$NEXT_STAGE" --argjson v "$(jq .version <<<"$DEAL")" '{stageId:$s,version:$v}')" >/dev/null

echo "tenant:  $SLUG"
echo "API key: $KEY"
echo "owner:   $EMAIL / $PASSWORD"
echo "Next:    npm run create-app -- my-app --api-key $KEY --api-url $G"
