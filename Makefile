# Every routine task has one name here. `make test` and `make demo` install what they need.
SHELL := /bin/bash
CARGO ?= cargo
CLUSTER_STATE ?= $(HOME)/.cache/ferry/cluster

.PHONY: test deps unit e2e crds fmt lint cluster-up cluster-down demo docs tools bench bench-webhook bench-ssh bench-s3 bench-sidecar bench-restore bench-fleet images krew

## test: every test, unit and end to end, against the real local control plane and the real
## peers (sshd, rsync). The binaries are built first: the end-to-end tests build Ferry's
## images from them (as `make images IMAGE_PROFILE=debug` does) and install the chart. Every
## test binary runs even after a failure (--no-fail-fast), so one failure never hides
## another; the exit status is still non-zero when any test failed.
test: deps tools
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked --no-fail-fast

## deps: the Debian packages the tests talk to (idempotent).
deps:
	rsync/tests/support/install-deps.sh

## unit: the tests that need no server (the API crate: types, CRDs, validation).
unit:
	$(CARGO) test -p ferry-api --locked

## e2e: the end-to-end tests only (the binaries first: the tests build images from them).
e2e: deps tools
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test -p ferry-e2e --locked

## tools: build the pinned upstream components (cached outside the repo).
tools:
	tests/cluster/tools/build

## krew: the kubectl plugin (kubectl-ferry, a workspace binary that `make test` builds too)
## as a krew archive, and its manifest with the archive's sha256 (target/krew/ferry.yaml, from
## plugins/ferry.yaml), for `kubectl krew install --manifest=target/krew/ferry.yaml
## --archive=target/krew/kubectl-ferry-linux-amd64.tar.gz` (scripts/krew-package packs them;
## the e2e test installs its output with krew). KREW_PROFILE=debug packs the debug build.
KREW_PROFILE ?= release
krew:
	$(CARGO) build --locked -p ferry-kubectl --bins --profile $(if $(filter debug,$(KREW_PROFILE)),dev,$(KREW_PROFILE))
	scripts/krew-package target/$(KREW_PROFILE)/kubectl-ferry target/krew

## crds: regenerate charts/ferry/crds from the Rust types.
crds:
	$(CARGO) run -q -p ferry-api --bin crdgen -- charts/ferry/crds

## docs: regenerate docs/reference (annotation keys and CR fields) from the constants and the
## CRD schema.
docs:
	$(CARGO) run -q -p ferry-api --bin docgen -- docs/reference

fmt:
	$(CARGO) fmt --all

## lint: formatting, clippy, and the agent's promise: ferry-agent never depends on the S3
## engine (aws-sdk-s3), which runs in a `ferry-sidecar engine` child instead.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@if $(CARGO) tree --locked -p ferry-agent --prefix none | grep -q '^aws-sdk-s3 '; then \
		echo "make lint: ferry-agent depends on aws-sdk-s3 (cargo tree -i aws-sdk-s3 -p ferry-agent shows how); the S3 engine belongs in ferry-sidecar engine"; \
		exit 1; \
	fi

cluster-up:
	tests/cluster/up $(CLUSTER_STATE)

cluster-down:
	tests/cluster/down $(CLUSTER_STATE)

## bench: every benchmark, each printing figures side by side with its peer.
bench: bench-webhook bench-ssh bench-s3 bench-sidecar bench-restore bench-fleet

## bench-webhook: /validate against the server's own floor, over keep-alive TLS.
bench-webhook:
	$(CARGO) build --release --locked -p ferry-webhook -p ferry-bench --bins
	target/release/bench-webhook

## bench-ssh: rsync over ferry-sidecar ssh vs OpenSSH ssh, to ferry serve and to sshd
## (1 GiB file, 10,000 small files, 1% delta; release build). FERRY_BENCH_TUNE=1 adds
## the russh tuning variants.
bench-ssh: deps
	$(CARGO) build --release --locked -p ferry-sidecar --bins
	$(CARGO) bench --locked -p ferry-rsync --bench ssh

## bench-s3: ferry-sidecar sync vs rclone (defaults, and --transfers 32 --checkers 32) on one
## MinIO: 10,000 small files (initial, no change, 1% changed), 4 x 256 MiB, and a 100,000-file
## tree; wall time, S3 requests, peak RSS (release build). A floor client (the engine's client
## setup, the same PUTs, nothing else; FERRY_BENCH_FLOOR=8,16,32,64 requests in flight) runs
## for the initial pushes. FERRY_BENCH_HUGE=1 adds 1,000,000 files of 1 KiB (push, re-sync).
bench-s3: deps tools
	$(CARGO) build --release --locked -p ferry-sidecar --bins
	$(CARGO) bench --locked -p ferry-s3 --bench s3

## bench-sidecar: the injected sidecar container on the test node (the chart installed with
## images of the release binaries), bound to a ReplicationSource: its working set and CPU from
## its cgroup (as `kubectl top` reads them) idle, during the S3 benchmark's case (a) (10,000
## files of 1-64 KiB, initial push to MinIO) with the cgroup's peak, and idle after it.
bench-sidecar: tools
	$(CARGO) build --release --locked -p ferry-sidecar -p ferry-agent -p ferry-webhook -p ferry-bench --bins
	target/release/bench-sidecar

## bench-fleet: N agents (ferry-agent, release build) as local processes, each bound to its
## own ReplicationSource on the test cluster: the apiserver's requests by verb and resource
## and etcd writes (its /metrics, against a window with no agent) and the fleet's writes
## (the audit log) over idle windows, scaled to 1,000 CRs (goal: at most 1 write/s); the
## same while all fire at one minute, without and with jitter, with the peak of S3 requests
## in flight at MinIO; the agents' total resident memory. 50 agents and 60 s windows by
## default; FERRY_FLEET_FULL=1 for 200 agents and 5 idle minutes (FERRY_FLEET_N,
## FERRY_FLEET_IDLE_SECONDS set each alone).
bench-fleet: tools
	$(CARGO) build --release --locked -p ferry-sidecar -p ferry-agent -p ferry-webhook -p ferry-bench --bins
	target/release/bench-fleet

## bench-restore: restore on first start (`ferry-sidecar restore`: the ReplicationSource and
## its Secret read from the test cluster's apiserver, the newest complete copy chosen, pulled,
## status.lastRestore written) vs the standalone `ferry-sidecar sync` pull of the same 10,000
## files (1-64 KiB) from the cluster's MinIO, alternating, medians and their ratio (goal
## <= 1.2x; release build).
bench-restore: tools
	$(CARGO) build --release --locked -p ferry-sidecar -p ferry-bench --bins
	target/release/bench-restore

## images: the webhook and sidecar container images (docker/*.Dockerfile), tagged with the
## workspace version. With a Docker engine (`docker info` answers), `docker build` runs the
## Dockerfiles whole. Without one, buildah (chroot isolation) runs their runtime stages on the
## binaries cargo builds here (IMAGE_PROFILE: release, or debug as `make test` does), with
## base images made from Debian packages, and the images go into the test node's containerd
## when CLUSTER_STATE runs one (tests/cluster/images/build; docker/README.md says why).
IMAGE_REGISTRY ?= ghcr.io/ferry-dev
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IMAGE_PROFILE ?= release
# The debug images take the binaries `make test` built (the same workspace build, so nothing
# is rebuilt); release builds only the two crates.
IMAGE_CARGO_ARGS = $(if $(filter debug,$(IMAGE_PROFILE)),--workspace --bins,--profile $(IMAGE_PROFILE) -p ferry-webhook -p ferry-sidecar -p ferry-agent --bins)
DOCKER ?= docker
images:
	@set -e; \
	if $(DOCKER) info >/dev/null 2>&1; then \
		for image in webhook sidecar; do \
			echo "building $(IMAGE_REGISTRY)/ferry-$$image:$(IMAGE_TAG)"; \
			DOCKER_BUILDKIT=1 $(DOCKER) build -f docker/$$image.Dockerfile -t $(IMAGE_REGISTRY)/ferry-$$image:$(IMAGE_TAG) .; \
		done; \
	else \
		echo "make images: no Docker engine ('$(DOCKER) info' failed); building with buildah from $(IMAGE_PROFILE) binaries"; \
		$(CARGO) build --locked $(IMAGE_CARGO_ARGS); \
		archives=$$(tests/cluster/images/build ferry $(IMAGE_PROFILE) $(IMAGE_REGISTRY) $(IMAGE_TAG)); \
		printf 'image archive: %s\n' $$archives; \
		tests/cluster/images/build import $(CLUSTER_STATE) $$archives; \
	fi

## demo: the local cluster with MinIO and a real node, Ferry's images built (make images) and
## the chart installed with them, an annotated Deployment whose sidecar container replicates
## its volume to MinIO every minute, and a restore compared with the source from pods, each
## step explained as it runs (scripts/demo). It leaves everything up; run it again to start
## afresh.
demo: deps tools
	CARGO="$(CARGO)" scripts/demo "$(CLUSTER_STATE)"
