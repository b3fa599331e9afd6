#!/usr/bin/env bash
# Installs the pinned front-end packages and copies the French State design
# system (DSFR) files the pages use into static/dsfr, so that the service
# serves them itself and the pages load nothing from another host.
set -euo pipefail

ASSETS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET="$ASSETS/../static/dsfr"
DIST="$ASSETS/node_modules/@gouvfr/dsfr/dist"

cd "$ASSETS"
npm ci --ignore-scripts --no-audit --no-fund

rm -rf "$TARGET"
mkdir -p "$TARGET"
cp "$DIST/dsfr.min.css" "$DIST/dsfr.module.min.js" "$DIST/dsfr.nomodule.min.js" "$TARGET/"
mkdir -p "$TARGET/utility/icons"
cp "$DIST/utility/icons/icons.min.css" "$TARGET/utility/icons/"
cp -r "$DIST/fonts" "$DIST/icons" "$TARGET/"
echo "DSFR $(node -p "require('$DIST/../package.json').version") copied to $TARGET"
