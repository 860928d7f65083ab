# The test node: a real kubelet with containerd, runc, the CNI bridge plugin
# and kube-proxy, in a network namespace of its own; CoreDNS on it; our CSI
# driver's node service registered with its kubelet. Sourced by tests/cluster/up
# after the control plane runs; tests/cluster/down (lib.sh: node_stop) takes it
# apart. README.md ("The node") says how the pieces connect.
# shellcheck shell=bash

# node_pki: the node's client certificates, and the apiserver's for reaching
# the kubelet. Called with up's certificate helpers in scope.
node_pki() {
    leaf ca kubelet "/O=system:nodes/CN=system:node:$NODE_NAME_REAL" clientAuth
    leaf ca kube-proxy /CN=system:kube-proxy clientAuth
    leaf ca kube-scheduler /CN=system:kube-scheduler clientAuth
    leaf ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    kubeconfig "$PKI/kube-scheduler.kubeconfig" kube-scheduler system:kube-scheduler
    # The node reaches the apiserver through its own end of the bridge.
    API_SERVER=https://$NODE_IP:6443 kubeconfig "$PKI/kubelet.kubeconfig" kubelet "system:node:$NODE_NAME_REAL"
    API_SERVER=https://$NODE_IP:6443 kubeconfig "$PKI/kube-proxy.kubeconfig" kube-proxy system:kube-proxy
    # The apiserver's "cluster" traffic (kubelet logs/exec/port-forward,
    # Service-backed webhooks) goes as HTTP CONNECT over a unix socket to
    # egress-proxy inside the node's namespace; everything else is direct.
    cat >"$NODE_DIR/egress.yaml" <<EOF
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: $NODE_DIR/egress.sock
- name: controlplane
  connection:
    proxyProtocol: Direct
- name: etcd
  connection:
    proxyProtocol: Direct
EOF
}

# node_netns: the namespace, held by a bind mount on STATE/node/netns, with lo
# and a veth whose peer stays inside too (this kernel has no dummy links; a
# node IP cannot be loopback). Nothing of it is linked to the host's network.
node_netns() {
    touch "$NODE_NETNS"
    unshare --net="$NODE_NETNS" true || die "unshare --net=$NODE_NETNS failed"
    local n=(nsenter --net="$NODE_NETNS" --)
    "${n[@]}" ip link set lo up
    "${n[@]}" ip link add node0 type veth peer name node0-peer
    "${n[@]}" ip addr add "$NODE_IP/24" dev node0
    "${n[@]}" ip link set node0-peer up
    "${n[@]}" ip link set node0 up
    # A default route, so that Service IPs (DNAT by kube-proxy) are routable.
    "${n[@]}" ip route add default via "${NODE_IP%.*}.254" dev node0
}

# node_cgroups: the kubelet's cgroup root in every cgroup v1 hierarchy.
node_cgroups() {
    local d
    printf '%s\n' "$CGROOT" >"$NODE_DIR/cgroup-root"
    for d in /sys/fs/cgroup/*/; do
        d=${d%/}
        [[ $(stat -f -c %T "$d") == cgroupfs && $d != /sys/fs/cgroup/unified ]] || continue
        mkdir -p "$d/$CGROOT"
        if [[ -f $d/cpuset.cpus ]]; then
            cat "$d/cpuset.cpus" >"$d/$CGROOT/cpuset.cpus"
            cat "$d/cpuset.mems" >"$d/$CGROOT/cpuset.mems"
        fi
    done
}

node_containerd_config() {
    local ctd=$NODE_DIR/containerd
    mkdir -p "$ctd" "$NODE_DIR/cni/net.d" "$NODE_DIR/cni/ipam" "$NODE_SHIMS"
    cat >"$ctd/config.toml" <<EOF
version = 4
root = '$ctd/root'
state = '$ctd/state'
imports = []
[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = '$NODE_CONTAINERD_SOCK'
  [plugins.'io.containerd.server.v1.ttrpc']
    address = '$NODE_CONTAINERD_SOCK.ttrpc'
  [plugins.'io.containerd.image-verifier.v1.bindir']
    bin_dir = '$ctd/image-verifier'
  [plugins.'io.containerd.internal.v1.opt']
    path = '$ctd/opt'
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = '$NODE_SHIMS'
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'ferry.local/pause:3.10'
  [plugins.'io.containerd.cri.v1.runtime']
    cdi_spec_dirs = []
    netns_mounts_under_state_dir = true
    # This VM's capability bounding set lacks CAP_SYS_RESOURCE, so runc cannot
    # lower oom_score_adj below containerd's own: clamp what the kubelet asks.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '$BIN/runc'
        Root = '$NODE_DIR/runc'
        SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['$CNI_BIN_DIR']
      conf_dir = '$NODE_DIR/cni/net.d'
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
EOF
    cat >"$NODE_DIR/cni/net.d/10-ferry-bridge.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "ferry-pods", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$NODE_DIR/cni/ipam",
            "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
}

node_kubelet_config() {
    : >"$NODE_DIR/resolv.conf" # pods get the cluster DNS and nothing of the host's
    cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $PKI/ca.crt}}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$NODE_CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: /$CGROOT
failCgroupV1: false
failSwapOn: false
podLogsDir: $NODE_DIR/pod-logs
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: $NODE_DIR/resolv.conf
serializeImagePulls: false
# Imported images are never pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# The disk is the machine's, shared with builds that fill and free gigabytes:
# evict only when it is truly full, and recover soon after.
evictionHard: {memory.available: 100Mi, nodefs.available: 256Mi, imagefs.available: 256Mi, nodefs.inodesFree: 1%}
evictionPressureTransitionPeriod: 30s
maxPods: 50
rotateCertificates: false
serverTLSBootstrap: false
EOF
}

node_kube_proxy_config() {
    cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PKI/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
hostnameOverride: $NODE_NAME_REAL
nodePortAddresses: [$NODE_IP/32]
# Leave the kernel's global conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s}
EOF
}

in_node() { nsenter --net="$NODE_NETNS" -- "$@"; }

# The Service "kubernetes" has no endpoints of the apiserver's making
# (--endpoint-reconciler-type=none: it listens on loopback only). Its endpoint
# for the node is the bridge's end in the node's namespace.
node_kubernetes_endpoints() {
    "${KC[@]}" apply --server-side --force-conflicts -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels:
    kubernetes.io/service-name: kubernetes
    endpointslice.kubernetes.io/managed-by: ferry-test-cluster
addressType: IPv4
endpoints:
- addresses: [$NODE_IP]
  conditions: {ready: true}
ports:
- {name: https, port: 6443, protocol: TCP}
EOF
}

node_ready() {
    [[ $("${KC[@]}" get node "$NODE_NAME_REAL" \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
csi_registered() {
    [[ $("${KC[@]}" get csinode "$NODE_NAME_REAL" -o 'jsonpath={.spec.drivers[*].name}' 2>/dev/null) == *hostpath.csi.k8s.io* ]]
}
dns_available() {
    [[ $("${KC[@]}" -n kube-system get deployment coredns -o 'jsonpath={.status.availableReplicas}' 2>/dev/null) == 1 ]]
}

# wait_until WHAT COMMAND...: like wait_healthy, for a condition of the cluster.
wait_until() {
    local what=$1 deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail kubelet "$what: not within ${TIMEOUT}s"
        sleep 0.2
    done
    log "$what ($((SECONDS - T0))s)"
}

node_start() {
    local t=$SECONDS archives a
    # What the node makes (image snapshots, pod and volume directories) must be
    # readable by the pods' users, not only by root as up's umask would have it.
    # shellcheck disable=SC2034 # read by up's start
    local UMASK=022
    node_netns
    node_cgroups
    node_containerd_config
    node_kubelet_config
    node_kube_proxy_config
    mkdir -p "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs"

    log "starting containerd in the node's namespace"
    IN_NODE=1 start containerd -- "$BIN/containerd" --config "$NODE_DIR/containerd/config.toml"
    wait_healthy containerd "${CTR[@]}" version
    archives=$("$CLUSTER_DIR/images/build" node "$BIN") || die "images/build node failed"
    local -a paths
    mapfile -t paths <<<"$archives"
    for a in "${paths[@]}"; do
        "${CTR[@]}" images import "$a" >/dev/null || die "importing $a failed"
    done
    log "node images imported ($((SECONDS - T0))s)"

    log "starting the apiserver bridge and egress proxy"
    # The node's way to the apiserver: a TCP listener on the node IP inside the
    # namespace, a unix socket across, and a connection to loopback outside.
    start node-api-bridge -- "$(command -v socat)" \
        "UNIX-LISTEN:$NODE_DIR/api.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$API_PORT"
    wait_healthy node-api-bridge test -S "$NODE_DIR/api.sock"
    IN_NODE=1 start node-api-listener -- "$(command -v socat)" \
        "TCP-LISTEN:6443,bind=$NODE_IP,fork,reuseaddr" "UNIX-CONNECT:$NODE_DIR/api.sock"
    # MinIO the same way: pods reach it at http://NODE_IP:9000 (the node IP
    # is the pods' route out of the bridge), the tests at 127.0.0.1.
    start node-minio-bridge -- "$(command -v socat)" \
        "UNIX-LISTEN:$NODE_DIR/minio.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$MINIO_PORT"
    wait_healthy node-minio-bridge test -S "$NODE_DIR/minio.sock"
    IN_NODE=1 start node-minio-listener -- "$(command -v socat)" \
        "TCP-LISTEN:$NODE_MINIO_PORT,bind=$NODE_IP,fork,reuseaddr" "UNIX-CONNECT:$NODE_DIR/minio.sock"
    IN_NODE=1 start egress-proxy -- "$BIN/egress-proxy" --socket="$NODE_DIR/egress.sock"
    wait_healthy egress-proxy test -S "$NODE_DIR/egress.sock"
    node_kubernetes_endpoints

    log "starting the CSI driver's node service"
    start csi-hostpath-node -- "$BIN/csi-hostpath" \
        --endpoint="unix://$NODE_DIR/csi.sock" \
        --drivername=hostpath.csi.k8s.io \
        --nodeid="$NODE_NAME_REAL" \
        --datadir="$STATE/csi-data" \
        --kubelet-registration-dir="$NODE_DIR/kubelet/plugins_registry"
    wait_healthy csi-hostpath-node test -S "$NODE_DIR/csi.sock"

    # The kubelet rewrites a few VM-wide sysctls, and serves a device plugin
    # socket at a fixed path; down puts the first back and removes the second.
    [[ ! -S /var/lib/kubelet/device-plugins/kubelet.sock ]] || touch "$NODE_DIR/had-device-plugins"
    node_register "$STATE"
    log "starting the kubelet ($NODE_NAME_REAL, $NODE_IP)"
    IN_NODE=1 start kubelet -- "$BIN/kubelet" \
        --config="$NODE_DIR/kubelet.yaml" \
        --kubeconfig="$PKI/kubelet.kubeconfig" \
        --root-dir="$NODE_DIR/kubelet" \
        --cert-dir="$NODE_DIR/kubelet/pki" \
        --hostname-override="$NODE_NAME_REAL" \
        --node-ip="$NODE_IP" \
        --v=1
    wait_healthy kubelet in_node curl -fsS -m 2 http://127.0.0.1:10248/healthz
    IN_NODE=1 start kube-proxy -- "$BIN/kube-proxy" --config="$NODE_DIR/kube-proxy.yaml" --v=1
    wait_healthy kube-proxy in_node curl -fsS -m 2 http://127.0.0.1:10256/healthz
    wait_until "node $NODE_NAME_REAL Ready" node_ready
    wait_until "CSI driver registered with the kubelet" csi_registered

    "${KC[@]}" apply --server-side --force-conflicts -f "$CLUSTER_DIR/manifests/coredns.yaml" >&2 ||
        die "applying $CLUSTER_DIR/manifests/coredns.yaml failed"
    wait_until "CoreDNS available" dns_available
    log "node up in $((SECONDS - t))s"
}
