#!/usr/bin/env bash
# Regenerate the TypeScript and Go clients from the buf workspace (buf.gen.yaml).
# Output is committed; tests/contract checks it is fresh (OUT=<dir> generates elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-.}
BUF=node_modules/.bin/buf
missing=()
for plugin in protoc-gen-go protoc-gen-go-grpc; do
  command -v "$plugin" >/dev/null || missing+=("$plugin")
done
[ -x clients/typescript/node_modules/.bin/protoc-gen-es ] || missing+=("protoc-gen-es (make clients-deps)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "missing code generators: ${missing[*]}" >&2
  echo "Go plugins come from Debian: apt-get install protoc-gen-go protoc-gen-go-grpc" >&2
  exit 1
fi
# Generated trees only: the hand-written wrappers live beside them.
rm -rf "$OUT/clients/typescript/src/gen" "$OUT/clients/go/healthai/v1" "$OUT/clients/go/buf" "$OUT/clients/go/google"
"$BUF" generate --output "$OUT"
