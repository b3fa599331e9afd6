#!/usr/bin/env bash
# Check the deployment files without a Docker engine or a cluster:
#  1. load deploy/compose.yaml with compose-go (the library of Docker Compose),
#  2. render the kustomize base and overlays,
#  3. validate every rendered object against the Kubernetes JSON schemas with
#     kubeconform in strict mode (unknown fields are errors).
# Tools are installed into .cache/go-bin from the Go module proxy; the schemas
# are generated offline into .cache/k8s-schemas from the OpenAPI document in
# the k8s.io/kubernetes module (see deploy/k8s_schemas.py). Exits non-zero when
# any file is invalid.
#
# CHECK_COMPOSE_FILE and CHECK_K8S_TARGETS (kustomization folders separated by
# spaces) replace what is checked; the tests use them to show that a broken
# file fails.
set -euo pipefail

KUBECONFORM_VERSION=v0.8.0
# v5.8.3 needs Go 1.27; keep the newest that Go 1.26 builds.
KUSTOMIZE_VERSION=v5.8.2
KUBERNETES_VERSION=1.37.2

cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
cache="$repo_root/.cache"
bin="$cache/go-bin"
python="${PYTHON:-$repo_root/.venv/bin/python}"
# Go must use the installed toolchain, never download another one.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

install_tool() { # name module version
    local stamp="$bin/.$1-$3"
    if [[ ! -x "$bin/$1" || ! -e "$stamp" ]]; then
        echo "installing $2@$3 into $bin"
        GOBIN="$bin" go install "$2@$3"
        touch "$stamp"
    fi
}

mkdir -p "$bin"
install_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
install_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"

composecheck_stamp="$bin/.composecheck-$(sha256sum deploy/tools/composecheck/go.mod deploy/tools/composecheck/go.sum deploy/tools/composecheck/main.go | sha256sum | cut -c1-16)"
if [[ ! -x "$bin/composecheck" || ! -e "$composecheck_stamp" ]]; then
    echo "building deploy/tools/composecheck into $bin"
    (cd deploy/tools/composecheck && go build -o "$bin/composecheck" .)
    rm -f "$bin"/.composecheck-*
    touch "$composecheck_stamp"
fi

schemas="$cache/k8s-schemas/v$KUBERNETES_VERSION"
if [[ ! -e "$schemas/.complete" ]]; then
    echo "generating Kubernetes $KUBERNETES_VERSION schemas into $schemas"
    module_dir=$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" |
        "$python" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
    rm -rf "$schemas"
    "$python" deploy/k8s_schemas.py "$module_dir/api/openapi-spec/swagger.json" "$schemas"
    touch "$schemas/.complete"
fi

echo "== compose"
# Placeholder values stand in for the secrets of deploy/.env, which CI lacks.
env POSTGRES_PASSWORD=check LINKS_INTERNAL_TOKEN=check-check-check \
    IDENTITY_SECRET_KEY=check-check-check IDENTITY_NOTICE_SECRET=check-check-check \
    SAMPLES_DIR="$repo_root/deploy" \
    "$bin/composecheck" "${CHECK_COMPOSE_FILE:-deploy/compose.yaml}"

read -r -a targets <<<"${CHECK_K8S_TARGETS:-$(echo deploy/k8s/base deploy/k8s/overlays/*/)}"
status=0
for target in "${targets[@]}"; do
    target=${target%/}
    echo "== $target"
    rendered=$("$bin/kustomize" build "$target")
    if ! "$bin/kubeconform" -strict -summary \
        -kubernetes-version "$KUBERNETES_VERSION" \
        -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        - <<<"$rendered"; then
        status=1
    fi
done
exit "$status"
