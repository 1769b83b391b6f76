#!/usr/bin/env bash
# Builds dist/iobench_VERSION_ARCH.deb from the release binary and man pages with
# dpkg-deb. Depends is computed from what the binary links (dpkg-shlibdeps: the package
# of each shared library and the lowest version that has every symbol used).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/release/iobench
[[ -x "$binary" ]] || { echo "scripts/make-deb.sh: no $binary; run 'make release' first" >&2; exit 2; }
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "scripts/make-deb.sh: $tool is missing; install dpkg-dev (scripts/install-deps.sh deb)" >&2; exit 2; }
done
version=$("$binary" --version | awk '{print $1}')
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/iobench-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
scripts/install.sh --prefix /usr --destdir "$root" --gzip-man

# dpkg-shlibdeps reads a debian/control for the package list; a minimal one will do.
mkdir -p "$stage/debian"
printf 'Source: iobench\n\nPackage: iobench\nArchitecture: any\n' > "$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O -e"root/usr/bin/iobench" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n "$depends" ]] || { echo "scripts/make-deb.sh: dpkg-shlibdeps found no dependencies for $binary" >&2; exit 3; }

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: iobench
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-iobench developers <iobench@localhost>}
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Recommends: bash-completion
Section: admin
Priority: optional
Description: block-I/O latency benchmark for Linux
 4K random-read IOPS, latency histograms (HdrHistogram) and CPU time per I/O on
 O_DIRECT files and devices, across psync, pvsync2, libaio and io_uring (with and
 without polling), and across the kernel's direct-I/O path classes. Compares runs
 with a regression gate for CI, and reports as text, Markdown, HTML and JSON.
CONTROL
mkdir -p dist
out="dist/iobench_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "iobench: built $out (Depends: $depends)" >&2
