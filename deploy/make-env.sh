#!/usr/bin/env bash
# Write deploy/.env with random secrets for deploy/compose.yaml, unless it exists.
set -euo pipefail

env_file="$(dirname -- "${BASH_SOURCE[0]}")/.env"
if [[ -e "$env_file" ]]; then
    echo "$env_file exists; delete it first to generate new secrets" >&2
    exit 1
fi

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
umask 077
{
    echo "POSTGRES_PASSWORD=$(random)"
    echo "LINKS_INTERNAL_TOKEN=$(random)"
    echo "IDENTITY_SECRET_KEY=$(random)"
    echo "IDENTITY_NOTICE_SECRET=$(random)"
} >"$env_file"
echo "wrote $env_file"
