# oci-add-hooks: every entry point a developer or CI uses.
#   make demo   a real container through the shim and runc, hooks firing
#   make test   the whole suite (what .ci/run runs with CI=true)
# Both install what they need that is missing (Debian, as root).

SHELL := /bin/bash
CARGO ?= cargo
APT_PACKAGES := runc busybox-static docker.io podman qemu-user-static nix-bin rpm lintian file tar python3-venv
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all build release deps demo test test-native bench dist image fuzz clean

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

clean:
	$(CARGO) clean
	rm -rf dist

# The installer image (Dockerfile: FROM scratch, the static binary) from
# `make dist`'s dist/<arch>/oci-add-hooks. The classic builder needs no buildx
# and no network; BuildKit works too.
IMAGE ?= oci-add-hooks-installer
IMAGE_ARCH ?= $(shell dpkg --print-architecture)
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
image: dist
	DOCKER_BUILDKIT=0 docker build --build-arg TARGETARCH=$(IMAGE_ARCH) -t $(IMAGE):$(IMAGE_TAG) .
	@docker image inspect --format '$(IMAGE):$(IMAGE_TAG) {{.Size}} bytes' $(IMAGE):$(IMAGE_TAG)
