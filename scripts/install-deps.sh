#!/usr/bin/env bash
# Installs what iobench needs on a fresh Debian/Ubuntu machine, and nothing that is
# already there: the kernel I/O libraries for the build, and for tests and benchmarks
# the independent HdrHistogram decoder (Python) and fio (the side-by-side reference).
#   scripts/install-deps.sh            build dependencies
#   scripts/install-deps.sh test       + python3 hdrhistogram (independent decoder), jsonschema,
#                                        chromium (HTML report screenshots) where apt has it
#   scripts/install-deps.sh bench      + fio
#   scripts/install-deps.sh deb        + dpkg-dev (make deb)
set -euo pipefail

want=(liburing-dev libaio-dev zlib1g-dev pkg-config)
case "${1:-}" in
  test)
    # dpkg-dev: make test builds the Debian package its tests install (dpkg-shlibdeps).
    want+=(xfsprogs btrfs-progs dpkg-dev)
    # Only when no python3 with pip is on PATH (some images bring their own).
    python3 -m pip --version >/dev/null 2>&1 || want+=(python3 python3-pip)
    ;;
  bench) want+=(fio) ;;
  deb) want+=(dpkg-dev) ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  if ! command -v apt-get >/dev/null; then
    echo "iobench: missing packages ${missing[*]} and no apt-get here; install them with your package manager" >&2
    exit 2
  fi
  echo "iobench: installing ${missing[*]}" >&2
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == test ]] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
   && command -v apt-get >/dev/null; then
  # Headless Chromium renders the HTML report into a screenshot in the tests (skipped
  # without it). Best effort: about 155 MB to download, about a minute on Debian 12; some
  # distributions (Ubuntu) only ship it as a snap, which is not worth failing over.
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  has_chromium() { apt-cache show chromium 2>/dev/null | grep -q '^Filename:'; }
  has_chromium || "${SUDO[@]}" apt-get update -qq || true
  if has_chromium; then
    echo "iobench: installing chromium (headless screenshots of the HTML report in the tests)" >&2
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null \
      || echo "iobench: chromium did not install; the screenshot test will be skipped" >&2
  fi
fi

if [[ "${1:-}" == test ]]; then
  if ! python3 -c 'import hdrh' 2>/dev/null; then
    echo "iobench: installing the Python hdrhistogram package (independent V2 decoder for tests)" >&2
    python3 -m pip install -q hdrhistogram 2>/dev/null || python3 -m pip install -q --break-system-packages hdrhistogram
  fi
  if ! python3 -c 'import jsonschema' 2>/dev/null; then
    echo "iobench: installing the Python jsonschema package (validates outputs against docs/schema in the tests)" >&2
    python3 -m pip install -q jsonschema 2>/dev/null || python3 -m pip install -q --break-system-packages jsonschema
  fi
fi
