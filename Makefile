# iobench front door. `make run` and `make test` do all set-up on a fresh machine.
SWIFT ?= swift
# An import of a target that is not a declared dependency fails the build (the layers of
# Package.swift only point down).
LAYER_CHECK = --explicit-target-dependency-import-check error

.PHONY: all deps build release man install deb run test bench ab limits open-loop profile micro gate-calibration lab-time class-drift clean

all: release

deps:
	@scripts/install-deps.sh

build: deps
	@scripts/build-info.sh
	$(SWIFT) build $(LAYER_CHECK)

## The release binary links the Swift runtime and Foundation statically: it runs on a
## machine without the Swift toolchain (ldd lists only system libraries).
release: deps
	@scripts/build-info.sh
	$(SWIFT) build -c release --static-swift-stdlib $(LAYER_CHECK)

## A man page per subcommand (swift-argument-parser's generate-manual, run on the release
## binary; scripts/ascii-help.sh spells µ, Δ, ± in ASCII, which generate-manual drops) in .build/man.
man: release
	$(SWIFT) build -c release --product generate-manual
	rm -rf .build/man && mkdir -p .build/man
	IOBENCH_BINARY=.build/release/iobench .build/release/generate-manual scripts/ascii-help.sh --multi-page \
		--authors "iobench developers" -o .build/man

## The binary, man pages, bash/zsh/fish completions and JSON Schemas under DESTDIR/PREFIX.
PREFIX ?= /usr/local
DESTDIR ?=
install: man
	scripts/install.sh --prefix $(PREFIX) --destdir "$(DESTDIR)"

## dist/iobench_VERSION_ARCH.deb (dpkg-deb), Depends from the binary's libraries.
deb: man
	@scripts/install-deps.sh deb
	scripts/make-deb.sh

## Compare every engine this machine supports on the scratch file (4K random reads).
run: release
	.build/release/iobench

## The whole test suite: unit tests and integration tests on real files.
## (The package is built first: PackageTests install it and the static binary.)
test: deb
	@scripts/install-deps.sh test
	@scripts/build-info.sh
	$(SWIFT) build $(LAYER_CHECK)
	$(SWIFT) test $(LAYER_CHECK)

## iobench and fio side by side on the same targets (see benchmarks/README.md).
bench: release
	@scripts/install-deps.sh bench
	python3 benchmarks/compare_fio.py
	python3 benchmarks/measurement_cost.py

## The regression gate on this machine: A/A false alarms, A/B detection of blkio-throttled
## slowdowns (root, about 30 minutes; see benchmarks/README.md).
gate-calibration: release
	python3 benchmarks/gate_calibration.py

## Wall time of `iobench lab` with its defaults, and that it leaves no loop device or mount
## behind (root, about 3 minutes; see benchmarks/README.md).
lab-time: release
	python3 benchmarks/lab_time.py

## Real drift (a blkio throttle for one round) against the paired class comparison
## (root, about 1 minute; see benchmarks/README.md).
class-drift: release
	python3 benchmarks/class_drift.py

## Two iobench builds and fio in one go on tmpfs, paired by round: NEW/BASE IOPS with its
## interval, CPU per read, and the micro-benchmarks alternated (about 6 minutes).
## BASE is the other build's products directory, e.g. BASE=../old/.build/release
ab: release
	@scripts/install-deps.sh bench
	@test -n "$(BASE)" || { echo "make ab: set BASE to the other build's .build/release directory" >&2; exit 2; }
	python3 benchmarks/binary_ab.py --base $(BASE)/iobench --micro-base $(BASE)/iobench-micro \
		--micro-new .build/release/iobench-micro

## iobench's own cost per I/O at the limit against t/io_uring and fio, in one go (issue 12's
## goals table; about 5 minutes). FIO_SRC is fio's source tree: t/io_uring is built there
## when missing (see benchmarks/README.md).
limits: release
	@scripts/install-deps.sh bench
	python3 benchmarks/engine_limits.py

## Open loop (issue 14): rate accuracy, coordinated omission under SIGSTOP, a blkio
## throttle below the rate, and the latency-load curve on the scratch disk (about 4 minutes).
open-loop: release
	@python3 -c 'import hdrh' 2>/dev/null || python3 -m pip install -q hdrhistogram 2>/dev/null || python3 -m pip install -q --break-system-packages hdrhistogram
	python3 benchmarks/open_loop.py

## --profile (issue 15, root): what sampling costs beside the bare floor (perf_floor.c), and
## where a multi-extent read's CPU goes on ext4 and XFS (loop devices), about 6 minutes.
profile: release
	@scripts/install-deps.sh test
	python3 benchmarks/profile_cost.py
	python3 benchmarks/profile_classes.py

## Micro-benchmarks of the hot loop's pieces (histogram record, offsets, clock read).
micro: release
	.build/release/iobench-micro

clean:
	rm -rf .build
