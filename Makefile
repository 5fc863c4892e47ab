# oci-add-hooks: every entry point a developer or CI uses.
#   make check  the quick gate: formatting, clippy with warnings denied, the
#               unit tests (.ci/run runs it before make test)
#   make demo   a real container through the shim and runc, hooks firing
#   make test   the whole suite (what .ci/run runs with CI=true)
#   make dist   static binaries for amd64 and arm64, .deb and .rpm, SHA256SUMS
#   make static-amd64, static-arm64  one static binary as it ships
#   make image  the installer image (FROM scratch, make dist's static binary)
#   make bench  the shim's cost over exec'ing the runtime, glibc and static builds
#   make bench-docker  docker run through the shim vs plain runc (a private dockerd)
#   make fuzz   each cargo-fuzz target for FUZZ_SECONDS (nightly)
# Each but make check installs what it needs that is missing (Debian, as
# root); make check needs only the Rust toolchain (rustfmt, clippy).

SHELL := /bin/bash
CARGO ?= cargo
# protobuf-compiler: protoc, which the CRI client's k8s-cri crate runs at
# build time (tests/cri-client); groff-base: groff, for the man page check
# (tests/integration/docs.rs).
APT_PACKAGES := runc busybox-static docker.io podman qemu-user-static nix-bin rpm lintian file tar python3-venv strace \
	protobuf-compiler groff-base
export PATH := $(HOME)/.cargo/bin:$(PATH)
# The package's version, read from Cargo.toml once (`:=`): the .deb's file
# name and the installer image's tag both use it.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

.PHONY: all build release check deps demo test leftovers-before leftovers-after test-native test-aarch64 test-packages test-nix \
	musl-targets pkg-tools bench bench-docker dist image fuzz clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# The gate: no root, no running engine, nothing installed (it does not
# depend on deps), so it fails fast on a formatting slip or a lint before
# the long suite starts. The fuzz crate is its own workspace (fuzz/Cargo.toml),
# so the package's fmt and clippy never reach it. Its sources are formatted
# here too, with the same rustfmt.toml (formatting builds nothing), but not
# linted: that would build it, and libfuzzer needs nightly (make fuzz).
# The test-only CRI client (tests/cri-client) is formatted here (--all) and
# linted by test-native: building it needs protoc, which make check does
# not install.
# Both builds are linted: the default one, and the shim alone
# (--no-default-features), where code only the installer uses is dead.
# The lints themselves are Cargo.toml's [lints] table.
check:
	$(CARGO) fmt --all --check
	$(CARGO) fmt --check --manifest-path fuzz/Cargo.toml
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) clippy --no-default-features --all-targets --locked -- -D warnings
	$(CARGO) test --locked --lib

# Installs only what is missing, so a second run costs nothing.
# Then the containerd releases the node tests run besides the machine's own
# (tests/releases/fetch.sh: trixie's 1.7 and sid's 2.x, downloaded with a
# private apt configuration and unpacked into a cache, never installed).
# Where they cannot be fetched, the tests of those releases are skipped,
# saying so; under CI=true that fails here, and in each such test.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
	@bash tests/releases/fetch.sh || { \
	  if [ "$$CI" = true ]; then echo "make deps: the containerd releases could not be fetched" >&2; exit 1; fi; \
	  echo "make deps: the containerd releases could not be fetched; their tests will say they were not run" >&2; }

demo: deps release
	bash tests/demo.sh target/release/oci-add-hooks

# The suite between two lists of the machine's paths (tests/leftovers.sh):
# anything it created outside its temporary directories fails it.
test: deps leftovers-before test-native test-aarch64 test-packages test-nix leftovers-after

LEFTOVERS := target/leftovers.before
leftovers-before:
	bash tests/leftovers.sh before $(LEFTOVERS)
leftovers-after:
	bash tests/leftovers.sh after $(LEFTOVERS)

# One target at a time, even under -j: test-packages installs the .deb on
# this machine, which must not race the other tests (cargo runs in parallel
# within each).
.NOTPARALLEL:

# The packages tests run on their own (test-packages): one of them installs
# the .deb on this machine, which must not race other tests that look at
# /etc/oci-add-hooks.
# The benches run once untimed as smoke tests; they take no libtest flags.
# The CRI client is linted and built first: tests/integration/cri.rs runs
# it from target/debug (the test's own profile directory).
test-native: deps
	$(CARGO) clippy --locked -p cri-client --all-targets -- -D warnings
	$(CARGO) build --locked -p cri-client
	$(CARGO) test --locked --lib --bins --test integration -- --skip packages::
	$(CARGO) test --locked --benches

# The unit and integration tests again, built for aarch64 and run under
# qemu-user (the cargo runner in .cargo/config.toml). Tests that need a host
# program to execute the shim (dockerd, containerd, podman) report that they
# were not run (see docs/testing.md). Skipped here, and run natively by test-native:
# the packages, installer and reliability tests, which start the binary
# without the harness's qemu wrapper.
AARCH64_NATIVE_ONLY := packages:: install:: reliability:: lock::
# The unit tests run apart, unfiltered: libtest's --skip matches substrings,
# and `install::` would also skip the unit tests of src/install/.
test-aarch64: deps musl-targets
	$(CARGO) test --locked --target $(TRIPLE_arm64) --lib --bins
	$(CARGO) test --locked --target $(TRIPLE_arm64) --test integration -- $(addprefix --skip ,$(AARCH64_NATIVE_ONLY))

# Inspects and installs what `make dist` built (tests/integration/packages.rs).
test-packages: dist
	$(CARGO) test --locked --test integration -- packages:: --test-threads=1

# The flake, evaluated against the stub nixpkgs under tests/nix/.
test-nix: deps
	bash tests/nix/check.sh

# ---- static builds and packages -------------------------------------------

# Docker's architecture names (also Debian's) and their Rust targets.
ARCHES := amd64 arm64
TRIPLE_amd64 := x86_64-unknown-linux-musl
TRIPLE_arm64 := aarch64-unknown-linux-musl
# The packager's version that was verified; installed only when missing.
# The rpm is built by rpmbuild (Debian's rpm package, in APT_PACKAGES).
CARGO_DEB_VERSION := 3.8.0

musl-targets:
	@for t in $(TRIPLE_amd64) $(TRIPLE_arm64); do \
	  rustup target list --installed | grep -qx "$$t" || rustup target add "$$t"; \
	done

# The static binaries that ship: the release profile, plus two link arguments
# that only they get, never a test build: packaging/discard-unwind-tables.ld
# (the unwind tables, which a test harness needs to report a failing test)
# and --icf=all (lld folds functions whose code is identical). Both are for
# the 900 KiB size budget; see docs/packaging.md, "Static builds".
# `make static-amd64` (or arm64) builds one, to
# target/<triple>/release/oci-add-hooks; the installer image test uses it too.
SHIP_LINK_ARGS := -C link-arg=-T$(CURDIR)/packaging/discard-unwind-tables.ld -C link-arg=--icf=all
.PHONY: $(addprefix static-,$(ARCHES))
$(addprefix static-,$(ARCHES)): static-%: musl-targets
	$(CARGO) rustc --release --locked --target $(TRIPLE_$*) --bin oci-add-hooks -- $(SHIP_LINK_ARGS)

pkg-tools:
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked cargo-deb --version $(CARGO_DEB_VERSION)

# dist/<arch>/oci-add-hooks, one .deb and one .rpm per architecture, and
# SHA256SUMS. The packagers take the binaries as built (--no-build,
# --no-strip; the spec neither strips nor scans): the release profile
# already strips them. rpmbuild works in target/rpmbuild and writes
# dist/oci-add-hooks-<version>-1.<rpm arch>.rpm, with an xz payload.
dist: deps pkg-tools $(addprefix static-,$(ARCHES))
	rm -rf $(addprefix dist/,$(ARCHES)) dist/*.deb dist/*.rpm dist/SHA256SUMS
	mkdir -p target/packaging
	gzip -9n -c packaging/oci-add-hooks.1 > target/packaging/oci-add-hooks.1.gz
	set -e; for arch in $(ARCHES); do \
	  case $$arch in amd64) t=$(TRIPLE_amd64) r=x86_64;; arm64) t=$(TRIPLE_arm64) r=aarch64;; esac; \
	  install -D -m 0755 target/$$t/release/oci-add-hooks dist/$$arch/oci-add-hooks; \
	  $(CARGO) deb --no-build --no-strip --target $$t -o dist/; \
	  packaging/debian/finish-deb dist/oci-add-hooks_$(VERSION)-1_$$arch.deb; \
	  rpmbuild -bb --quiet --target $$r \
	    --define "_topdir $(CURDIR)/target/rpmbuild" --define "_rpmdir $(CURDIR)/dist" \
	    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
	    --define "_binary_payload w6.xzdio" --define "version $(VERSION)" --define "srcroot $(CURDIR)" \
	    --define "binary $(CURDIR)/dist/$$arch/oci-add-hooks" packaging/rpm/oci-add-hooks.spec; \
	done
	cd dist && sha256sum $(addsuffix /oci-add-hooks,$(ARCHES)) *.deb *.rpm > SHA256SUMS
	@ls -l $(addsuffix /oci-add-hooks,$(addprefix dist/,$(ARCHES))) dist/*.deb dist/*.rpm

# The release build (glibc, dynamic) and the static musl build that ships,
# each against a static no-op runtime built from benches/noop.c.
bench: deps release static-amd64
	$(CARGO) bench --bench shim -- target/release/oci-add-hooks target/$(TRIPLE_amd64)/release/oci-add-hooks

bench-docker: deps release
	$(CARGO) bench --bench docker -- target/release/oci-add-hooks

# Each target runs for FUZZ_SECONDS, from the seeds in fuzz/corpus/<target>;
# what it learns goes to fuzz/target/corpus/<target> (not committed), crashes
# to fuzz/artifacts/<target>. Needs the nightly toolchain; not part of make test.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := args hooks merge
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/corpus/$$t && \
	  $(CARGO) +nightly fuzz run $$t target/corpus/$$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

clean:
	$(CARGO) clean
	rm -rf dist

# The installer image (Dockerfile: FROM scratch, the static binary) from
# `make dist`'s dist/<arch>/oci-add-hooks. The classic builder needs no buildx
# and no network; BuildKit works too.
IMAGE ?= oci-add-hooks-installer
IMAGE_ARCH ?= $(shell dpkg --print-architecture)
IMAGE_TAG ?= $(VERSION)
image: dist
	DOCKER_BUILDKIT=0 docker build --build-arg TARGETARCH=$(IMAGE_ARCH) -t $(IMAGE):$(IMAGE_TAG) .
	@docker image inspect --format '$(IMAGE):$(IMAGE_TAG) {{.Size}} bytes' $(IMAGE):$(IMAGE_TAG)
