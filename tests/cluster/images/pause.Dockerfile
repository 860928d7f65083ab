# The node's sandbox ("pause") image: Kubernetes' own pause.c, compiled
# statically by tests/cluster/images/build. containerd's CRI is told to use it
# (sandbox = ferry.local/pause:3.10), so nothing is pulled.
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
