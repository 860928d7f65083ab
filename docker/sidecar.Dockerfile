# syntax=docker/dockerfile:1
# ferry-sidecar: the replication sidecar and mover. Build from the repository root:
#   docker build -f docker/sidecar.Dockerfile -t ghcr.io/ferry-dev/ferry-sidecar:0.1.0 .
# (or `make images`).
#
# The binaries come from the `build` stage below, or, with
# `--build-arg BINARIES=prebuilt`, from the build context's top level
# (ferry-sidecar, ferry-agent), built outside the image; the runtime stage is the same
# either way. `make images` without a Docker engine takes the second way
# (docker/README.md says why).

ARG RUST_VERSION=1.95
ARG BINARIES=build

# Build: the workspace's locked dependencies, release profile (thin LTO).
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ferry-sidecar -p ferry-agent --bins \
    && install -D -m 0755 target/release/ferry-sidecar /out/ferry-sidecar \
    && install -D -m 0755 target/release/ferry-agent /out/ferry-agent

# Binaries built outside the image: the context holds only them.
FROM scratch AS prebuilt
COPY ferry-sidecar ferry-agent /out/

FROM ${BINARIES} AS binaries

# Run: Debian slim for the system rsync (the rsync mover runs `rsync -e "ferry-sidecar ssh"`,
# and a destination runs `rsync --server`), which must be 3.2 or later; bookworm ships 3.2.7
# or newer. No OpenSSH: the SSH transport is ferry-sidecar's own. Time zones are compiled
# into the binary.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends rsync ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && rsync --version | awk 'NR == 1 { split($3, v, "."); if (v[1] < 3 || (v[1] == 3 && v[2] < 2)) { print "rsync " $3 " is older than 3.2"; exit 1 } }' \
    && groupadd --gid 65532 ferry \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ferry
# `ferry-sidecar run` (the injected container) execs ferry-agent from the same directory.
COPY --from=binaries /out/ferry-sidecar /out/ferry-agent /usr/local/bin/
# The webhook runs the injected container as the app's user; this is the default otherwise.
USER 65532:65532
EXPOSE 2222
ENTRYPOINT ["/usr/local/bin/ferry-sidecar"]
