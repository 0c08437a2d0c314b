#!/bin/sh
# One-shot set-up of the compose federation, run by the `init` service before the others start:
#   - the registry's administrator `operator` (its secret: /volumes/registry/admin-operator.secret),
#   - each node's keys, database tables and <prefix>/ADMIN (its secret: /volumes/<node>/admin.secret),
#   - the resolver's trust anchor: the registry's DID document, from the registry's own keys.
# Idempotent: what exists is kept. Runs as root so it can hand every volume to the image's user (10001).
# The database URLs come from REGISTRY_DATABASE_URL, NODE_SMELTER_DATABASE_URL, NODE_AUTOMAKER_DATABASE_URL.
set -eu
umask 077
CONFIG=/etc/carbonid

# The registry's administrator (its secret is shown once: kept in the registry's volume).
if [ ! -s /volumes/registry/admin-operator.secret ]; then
    CARBONID_DATA_DIR=/volumes/registry CARBONID_DATABASE_URL="$REGISTRY_DATABASE_URL" \
        carbonid registry admin add operator --config "$CONFIG/registry.toml" \
        > /volumes/registry/admin-operator.secret.tmp
    mv /volumes/registry/admin-operator.secret.tmp /volumes/registry/admin-operator.secret
fi

# The resolver pins the registry's DID document (made from the registry's keys, created here if missing).
CARBONID_DATA_DIR=/volumes/registry \
    carbonid registry anchor --config "$CONFIG/registry.toml" --out /volumes/resolver/registry-anchor.json

# node_init NAME DATABASE_URL: keys, tables and <prefix>/ADMIN of node NAME (configured by node-NAME.toml).
node_init() {
    if [ ! -s "/volumes/node-$1/admin.secret" ]; then
        CARBONID_DATA_DIR="/volumes/node-$1" CARBONID_DATABASE_URL="$2" \
            carbonid node init --config "$CONFIG/node-$1.toml" > "/volumes/node-$1/admin.secret.tmp"
        mv "/volumes/node-$1/admin.secret.tmp" "/volumes/node-$1/admin.secret"
    fi
}
node_init smelter "$NODE_SMELTER_DATABASE_URL"
node_init automaker "$NODE_AUTOMAKER_DATABASE_URL"

chown -R 10001:10001 /volumes/registry /volumes/node-smelter /volumes/node-automaker /volumes/resolver
echo "carbonid init: done (secrets in the volumes: admin-operator.secret, admin.secret)"
