# Cluster DNS for the test node: the static CoreDNS that tests/cluster/tools
# builds with the plugins its Corefile uses (tests/cluster/node/coredns.yaml).
FROM scratch
COPY coredns /coredns
USER 65532:65532
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
