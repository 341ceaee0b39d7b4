# Kumo — see README.md. `make run` starts a local Kumo; `make test` runs every test. Both install what they need.
SHELL := /bin/bash
SWIFT ?= swift
RUN_DIR := $(CURDIR)/.kumo-run
KUMO := $(CURDIR)/.build/debug/kumo
AGENTS ?= 3
# Debian packages the build, the agent and the tests need. haproxy: each node's load balancer; dnsmasq-base: each
# node's DHCP/DNS (neither package starts a service here); qemu and the rest: VMs and the test VM images.
DEB_PACKAGES := libsqlite3-dev curl runc busybox-static iproute2 iputils-ping tar gzip haproxy dnsmasq-base \
  qemu-system-x86 qemu-utils extlinux syslinux-common cpio kmod e2fsprogs util-linux

.PHONY: all build release deps run stop test bench clean fuzz

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build --product kumo

release: deps
	$(SWIFT) build -c release --product kumo
	$(SWIFT) build -c release --product kumo-bench

# A local cloud: server + $(AGENTS) agents in network namespaces; returns once every node is Ready. kumo-local
# (Sources/kumo-local) builds it with the same testbed code as the E2E tests, as root (sudo when not root).
# KUMO_NO_VM=1 skips the VM demo; KUMO_AGENT_LOG_LEVEL sets the agents' --log-level. `kumo-local --help`.
KUMO_LOCAL := $(CURDIR)/.build/debug/kumo-local
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
run: build
	$(SWIFT) build --product kumo-local
	@$(AS_ROOT) "$(KUMO_LOCAL)" up --agents "$(AGENTS)" --dir "$(RUN_DIR)" --kumo "$(KUMO)" \
	  --agent-log-level "$${KUMO_AGENT_LOG_LEVEL:-info}" $(if $(KUMO_NO_VM),--no-vm)

stop:
	@[ -x "$(KUMO_LOCAL)" ] || $(SWIFT) build --product kumo-local
	@$(AS_ROOT) "$(KUMO_LOCAL)" down --dir "$(RUN_DIR)" --kumo "$(KUMO)"

# Unit and integration tests in parallel; then the end-to-end suites one at a time: each runs a whole cloud (server,
# agents, HAProxy, dnsmasq, QEMU) and on 2 cores several at once starve each other's timeouts.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2 --skip E2ETests
	$(SWIFT) test --skip-build --no-parallel --filter E2ETests

# API fuzzing: schemathesis (pinned, in ~/.cache/kumo-fuzz) against a server seeded with nodes and objects, with the
# admin token; no 5xx, every answer as /openapi.json describes it. CI runs it in under 3 minutes; the full budget
# (20 minutes) is make fuzz FUZZ_BUDGET=full. More: scripts/fuzz.sh --help
FUZZ_BUDGET ?= ci
fuzz: build
	scripts/fuzz.sh --budget $(FUZZ_BUDGET)

# Benchmarks (release build): make bench SCENARIO=api
SCENARIO ?= store
bench: release
	.build/release/kumo-bench $(SCENARIO)

clean:
	rm -rf .build $(RUN_DIR)
