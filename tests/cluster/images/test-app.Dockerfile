# The app image of the node tests: Debian's static busybox (a shell and the
# usual tools, for `kubectl exec`) and ferry-probe (HTTP server and client,
# file writes and stats with nanosecond times; tests/cluster/tools/node-utils).
# Debian busybox's own wget crashes here, so HTTP goes through ferry-probe.
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
USER 1000:1000
ENTRYPOINT ["/bin/sh"]
