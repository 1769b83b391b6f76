#!/usr/bin/env bash
# Installs a built iobench under DESTDIR/PREFIX: the binary, a man page per subcommand,
# bash/zsh/fish completions and the JSON Schemas. `make install` builds first and calls
# this; so does `make deb` (PREFIX=/usr into its staging directory).
#   scripts/install.sh [--prefix DIR] [--destdir DIR] [--binary PATH] [--man DIR] [--gzip-man]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local destdir="" binary=.build/release/iobench man=.build/man gzip_man=0
while (($#)); do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --man) man=$2; shift 2 ;;
    --gzip-man) gzip_man=1; shift ;;
    *) echo "scripts/install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$prefix" == /* ]] || { echo "scripts/install.sh: PREFIX must be an absolute path, not '$prefix'" >&2; exit 2; }
[[ -x "$binary" ]] || { echo "scripts/install.sh: no built binary at $binary; run 'make release' first" >&2; exit 2; }
compgen -G "$man/*.1" >/dev/null || { echo "scripts/install.sh: no man pages in $man; run 'make man' first" >&2; exit 2; }

root="$destdir$prefix"
install -d "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
  "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d" "$root/share/iobench/schema" \
  "$root/share/doc/iobench"
# Stripped: the symbols are most of a statically linked Swift binary's size; the runtime
# needs only its metadata sections, which strip keeps.
install -m 0755 -s "$binary" "$root/bin/iobench"
for page in "$man"/*.1; do
  install -m 0644 "$page" "$root/share/man/man1/"
  if ((gzip_man)); then gzip -9nf "$root/share/man/man1/$(basename "$page")"; fi
done
"$binary" --generate-completion-script bash > "$root/share/bash-completion/completions/iobench"
"$binary" --generate-completion-script zsh > "$root/share/zsh/site-functions/_iobench"
"$binary" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/iobench.fish"
chmod 0644 "$root/share/bash-completion/completions/iobench" "$root/share/zsh/site-functions/_iobench" \
  "$root/share/fish/vendor_completions.d/iobench.fish"
install -m 0644 docs/schema/*.schema.json "$root/share/iobench/schema/"
install -m 0644 README.md docs/json-schema.md docs/method.md "$root/share/doc/iobench/"
echo "iobench: installed $("$root/bin/iobench" --version) under $root" >&2
