# syntax=docker/dockerfile:1
# ferry-webhook: the admission webhook. Build from the repository root:
#   docker build -f docker/webhook.Dockerfile -t ghcr.io/ferry-dev/ferry-webhook:0.1.0 .
# (or `make images`).

ARG RUST_VERSION=1.95

# Build: the workspace's locked dependencies, release profile (thin LTO).
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ferry-webhook --bin ferry-webhook \
    && install -D -m 0755 target/release/ferry-webhook /out/ferry-webhook

# Run: distroless with glibc and libgcc (the binary links them; aws-lc is built in), CA
# certificates, no shell and no package manager. The `nonroot` user is uid/gid 65532, as in
# the chart's securityContext.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ferry-webhook /usr/local/bin/ferry-webhook
USER 65532:65532
EXPOSE 10250
ENTRYPOINT ["/usr/local/bin/ferry-webhook"]
