// Small programs of ours for the test node (standard library only): the
// apiserver's egress proxy into the node's network namespace, and the probe
// that test images carry.
module ferry.local/tests/cluster/tools/node-utils

go 1.26.0
