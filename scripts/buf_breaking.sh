#!/usr/bin/env bash
# Check the contract for breaking changes (buf FILE rules) against a base commit
# (default: the previous commit of this branch). buf cannot read build/proto-deps
# (validate.proto, never committed) from git, so the base is unpacked to a temp
# folder and given the same fetched deps: a workspace shaped like this one.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-HEAD~1}
BUF=node_modules/.bin/buf
if ! git rev-parse -q --verify "$BASE^{commit}" >/dev/null; then
  echo "buf breaking: base $BASE does not exist (first commit?): nothing to compare"; exit 0
fi
if ! git cat-file -e "$BASE:buf.yaml" 2>/dev/null; then
  echo "buf breaking: base $BASE has no contract yet: nothing to compare"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git archive "$BASE" buf.yaml protos | tar -x -C "$tmp"
# The vendored third-party protos are a module too. A base from before they were added is
# given today's copies and module entry, so buf compares like with like (nothing to break).
if git cat-file -e "$BASE:third_party/protos" 2>/dev/null; then
  git archive "$BASE" third_party/protos | tar -x -C "$tmp"
else
  mkdir -p "$tmp/third_party" && cp -r third_party/protos "$tmp/third_party/"
  printf '  - path: third_party/protos\n    lint:\n      use:\n        - MINIMAL\n' >>"$tmp/buf.yaml"
fi
mkdir -p "$tmp/build" && cp -r build/proto-deps "$tmp/build/"
# Exact changes accepted on purpose are listed in buf-breaking-accepted.txt (see its header).
status=0
"$BUF" breaking --against "$tmp" --error-format json >"$tmp.out" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 100 ]; then cat "$tmp.out"; rm -f "$tmp.out"; exit "$status"; fi
python3 scripts/buf_breaking_filter.py <"$tmp.out" || { rm -f "$tmp.out"; exit 1; }
rm -f "$tmp.out"
echo "buf breaking: no breaking change against $(git rev-parse --short "$BASE")"
