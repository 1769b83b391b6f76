#!/usr/bin/env bash
# Runs the iobench binary named by IOBENCH_BINARY with the arguments given, and when it
# prints its help as JSON for generate-manual (--experimental-dump-help), spells the few
# non-ASCII characters of the help texts in ASCII: generate-manual drops them, and a
# man page saying "values in s" where the help says "values in µs" is wrong.
set -euo pipefail
binary=${IOBENCH_BINARY:-.build/release/iobench}
if [[ "${1:-}" == --experimental-dump-help ]]; then
  "$binary" "$@" | sed -e 's/µs/us/g; s/µ/u/g; s/Δ/delta /g; s/±/+-/g; s/–/-/g; s/—/--/g; s/×/x/g; s/≤/<=/g; s/≥/>=/g; s/…/.../g; s/→/->/g; s/·/-/g; s/−/-/g'
else
  exec "$binary" "$@"
fi
