# oci-add-hooks: every entry point a developer or CI uses.
#   make demo   a real container through the shim and runc, hooks firing
#   make test   the whole suite (what .ci/run runs with CI=true)
#   make bench  the shim's cost over exec'ing the runtime, glibc and static builds
#   make bench-docker  docker run through the shim vs plain runc (a private dockerd)
#   make fuzz   each cargo-fuzz target for FUZZ_SECONDS (nightly)
# Each installs what it needs that is missing (Debian, as root).

SHELL := /bin/bash
CARGO ?= cargo
APT_PACKAGES := runc busybox-static docker.io podman qemu-user-static nix-bin rpm lintian file tar python3-venv strace
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all build release deps demo test test-native bench bench-docker dist image fuzz clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Installs only what is missing, so a second run costs nothing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

demo: deps release
	bash tests/demo.sh target/release/oci-add-hooks

test: deps test-native

test-native:
	$(CARGO) test --all-targets

# The release build (glibc, dynamic) and the static musl build that ships,
# each against a static no-op runtime built from benches/noop.c.
MUSL := x86_64-unknown-linux-musl
bench: deps release
	$(CARGO) build --release --target $(MUSL)
	$(CARGO) bench --bench shim -- target/release/oci-add-hooks target/$(MUSL)/release/oci-add-hooks

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
