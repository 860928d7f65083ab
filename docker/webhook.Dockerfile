# syntax=docker/dockerfile:1
# ferry-webhook: the admission webhook. Build from the repository root:
#   docker build -f docker/webhook.Dockerfile -t ghcr.io/ferry-dev/ferry-webhook:0.1.0 .
# (or `make images`).
#
# The binaries come from the `build` stage below, or, with
# `--build-arg BINARIES=prebuilt`, from the build context's top level
# (ferry-webhook), built outside the image; the runtime stage is the same
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
    cargo build --release --locked -p ferry-webhook --bin ferry-webhook \
    && install -D -m 0755 target/release/ferry-webhook /out/ferry-webhook

# Binaries built outside the image: the context holds only them.
FROM scratch AS prebuilt
COPY ferry-webhook /out/

FROM ${BINARIES} AS binaries

# Run: distroless with glibc and libgcc (the binary links them; aws-lc is built in), CA
# certificates, no shell and no package manager. The `nonroot` user is uid/gid 65532, as in
# the chart's securityContext.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=binaries /out/ferry-webhook /usr/local/bin/ferry-webhook
USER 65532:65532
EXPOSE 10250
ENTRYPOINT ["/usr/local/bin/ferry-webhook"]
