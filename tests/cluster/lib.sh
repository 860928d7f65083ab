# Shared helpers for tests/cluster/up and tests/cluster/down. Sourced, not run.
# shellcheck shell=bash

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by up
REPO_ROOT=$(cd "$CLUSTER_DIR/../.." && pwd)
# Components in start order; they are stopped in reverse. A cluster is reused
# only while every one of them runs.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler minio
    csi-hostpath snapshot-controller csi-snapshotter csi-provisioner
    containerd node-api-bridge node-api-listener node-minio-bridge node-minio-listener
    egress-proxy csi-hostpath-node kubelet kube-proxy)
# The node ID of the CSI driver's controller service (no Node carries it: the
# driver reports no topology, so volumes go to any node).
# shellcheck disable=SC2034 # used by up
NODE_NAME=ferry-local
# The real node (node.sh): its name, its IP inside its network namespace, the
# pod and Service networks, the cluster DNS Service's IP, and the VM-wide
# sysctls its kubelet rewrites (restored by node_stop).
# shellcheck disable=SC2034 # used by up and node.sh
NODE_NAME_REAL=ferry-node
# shellcheck disable=SC2034
NODE_IP=10.213.0.1
# Where pods reach the host's MinIO: a forward on the node IP (node.sh).
# shellcheck disable=SC2034
NODE_MINIO_PORT=9000
# shellcheck disable=SC2034
POD_CIDR=10.244.0.0/24
# shellcheck disable=SC2034
CLUSTER_DNS_IP=10.0.0.10
# shellcheck disable=SC2034
CNI_BIN_DIR=/usr/lib/cni
NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
    kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Test nodes running on this machine (one file per node, named for its cgroup
# root), and the sysctls as they were before the first of them started: when
# clusters overlap, the last node to go puts them back. /run is emptied at
# boot, as the sysctls are.
NODE_REGISTRY=/run/ferry-test-nodes
# Marker that says a directory is a cluster state dir we may delete.
STATE_MARKER=.ferry-cluster-state

log() { printf '%s: %s\n' "${PROG:-cluster}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# state_dir [ARG]: absolute path of the state dir (argument, $FERRY_CLUSTER_STATE
# or the default), without creating it.
state_dir() {
    local d=${1:-${FERRY_CLUSTER_STATE:-$HOME/.cache/ferry/cluster}}
    [[ -n $d && $d != / ]] || die "refusing state dir '$d'"
    case $d in /*) ;; *) d="$PWD/$d" ;; esac
    printf '%s\n' "${d%/}"
}

# lock_state STATE: hold an exclusive lock on STATE.lock (beside STATE, which
# down deletes) until the calling script exits.
lock_state() {
    mkdir -p "$(dirname "$1")"
    exec 8>>"$1.lock"
    flock -w 300 8 || die "timed out waiting for $1.lock"
}

# pid_alive STATE NAME: true if the recorded process of NAME still runs the
# binary we started (guards against pid reuse).
pid_alive() {
    local pidf="$1/pids/$2.pid" exef="$1/pids/$2.exe" pid exe
    [[ -f $pidf && -f $exef ]] || return 1
    pid=$(<"$pidf")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    [[ $exe == "$(<"$exef")" ]]
}

# stop_component STATE NAME: TERM the recorded pid, KILL it after a bounded wait.
stop_component() {
    local state=$1 name=$2 pid i
    if pid_alive "$state" "$name"; then
        pid=$(<"$state/pids/$name.pid")
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do # 15 s
            pid_alive "$state" "$name" || break
            sleep 0.1
        done
        if pid_alive "$state" "$name"; then
            log "$name (pid $pid) did not exit after TERM; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do # 5 s
                pid_alive "$state" "$name" || break
                sleep 0.1
            done
            pid_alive "$state" "$name" && log "warning: $name (pid $pid) still running"
        fi
    fi
    rm -f "$state/pids/$name.pid" "$state/pids/$name.exe"
}

# node_paths STATE: the node's paths and names for STATE (NODE_DIR, NODE_NETNS,
# NODE_CONTAINERD_SOCK, NODE_SHIMS, CGROOT).
# shellcheck disable=SC2034 # NODE_NETNS, NODE_SHIMS: used by up and node.sh
node_paths() {
    NODE_DIR=$1/node
    NODE_NETNS=$NODE_DIR/netns
    NODE_CONTAINERD_SOCK=$NODE_DIR/containerd/containerd.sock
    # Shim sockets are <dir>/<64 hex digits>: a short dir keeps them < 108 bytes.
    NODE_SHIMS=$NODE_DIR/s
    # One cgroup root per state dir, so two clusters never share one.
    CGROOT=ferry-node-$(printf '%s' "$1" | sha256sum | cut -c1-8)
}

# node_register STATE: record the node of STATE as running, and the sysctls
# as they are if it is the first one.
node_register() {
    node_paths "$1"
    mkdir -p "$NODE_REGISTRY"
    if [[ ! -f $NODE_REGISTRY/sysctls ]]; then
        sysctl -n "${NODE_SYSCTLS[@]}" >"$NODE_REGISTRY/sysctls.tmp" || die "reading sysctls failed"
        mv "$NODE_REGISTRY/sysctls.tmp" "$NODE_REGISTRY/sysctls"
    fi
    printf '%s\n' "$1" >"$NODE_REGISTRY/$CGROOT"
}

# node_unregister STATE: forget the node of STATE; if no other node runs, put
# the sysctls back.
node_unregister() {
    node_paths "$1"
    [[ -d $NODE_REGISTRY ]] || return 0
    rm -f "$NODE_REGISTRY/$CGROOT"
    local other
    for other in "$NODE_REGISTRY"/ferry-node-*; do
        [[ -f $other ]] || continue
        # Another node's kubelet still runs: the sysctls stay as it set them.
        pid_alive "$(<"$other")" kubelet && return 0
        rm -f "$other" # a node that died without down
    done
    if [[ -f $NODE_REGISTRY/sysctls ]]; then
        local vals i=0 name
        mapfile -t vals <"$NODE_REGISTRY/sysctls"
        for name in "${NODE_SYSCTLS[@]}"; do
            [[ -z ${vals[i]:-} ]] || sysctl -q -w "$name=${vals[i]}" >/dev/null
            i=$((i + 1))
        done
    fi
    rm -rf "$NODE_REGISTRY"
}

# node_shims: pids of the containerd shims serving this node's containerd
# (their command line names its socket).
node_shims() {
    local f cmd
    for f in /proc/[0-9]*/cmdline; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
        [[ $cmd == *containerd-shim-runc-v2\ * && $cmd == *" -address $NODE_CONTAINERD_SOCK "* ]] || continue
        f=${f#/proc/}
        printf '%s\n' "${f%/cmdline}"
    done
}

# node_stop STATE: take the node apart. Pods first, through the kubelet (which
# unmounts their volumes and runs CNI DEL), then whatever it left in
# containerd, then the processes, mounts, network namespace and cgroups, and
# the VM-wide sysctls and fixed paths the kubelet touched.
node_stop() {
    local state=$1 bin c pid m
    node_paths "$state"
    [[ -d $NODE_DIR ]] || return 0
    bin=$(cat "$NODE_DIR/tools-bin" 2>/dev/null) || bin=
    if [[ -n $bin ]] && pid_alive "$state" kubelet && pid_alive "$state" kube-apiserver; then
        local k=(timeout 90 "$bin/kubectl" --kubeconfig="$state/kubeconfig" --cache-dir="$state/kubectl-cache")
        log "deleting the node's pods"
        "${k[@]}" -n kube-system delete deployment coredns --ignore-not-found --wait=false >/dev/null 2>&1 || true
        "${k[@]}" delete pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME_REAL" \
            --grace-period=1 --wait=true --timeout=60s >/dev/null 2>&1 || log "warning: not every pod on $NODE_NAME_REAL went"
    fi
    for c in kube-proxy kubelet; do stop_component "$state" "$c"; done
    if [[ -n $bin ]] && pid_alive "$state" containerd; then
        local cri=("$bin/crictl" --runtime-endpoint "unix://$NODE_CONTAINERD_SOCK" --timeout 20s)
        "${cri[@]}" rmp --all --force >/dev/null 2>&1 || true
        [[ -z $("${cri[@]}" pods -q 2>/dev/null) ]] || log "warning: sandboxes left in containerd"
    fi
    for c in csi-hostpath-node egress-proxy node-minio-listener node-minio-bridge \
        node-api-listener node-api-bridge containerd; do
        pid=$(cat "$state/pids/$c.pid" 2>/dev/null) || pid=
        stop_component "$state" "$c"
        # socat forks a child per connection, in the group the listener leads.
        [[ $c != node-*-bridge && $c != node-*-listener || -z $pid ]] || kill -TERM -- "-$pid" 2>/dev/null || true
    done
    # Shims outlive containerd; any left is a container of this node.
    for pid in $(node_shims); do
        log "stopping a containerd shim left behind (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
    done
    # Deepest first: pod volumes, overlay rootfs, shm, pod netns, the kubelet's
    # root (it bind-mounts it on itself), the node's netns.
    local mounts
    mounts=$(findmnt -rn -o TARGET | grep -F "$state/" | LC_ALL=C sort -r) || true
    while read -r m; do
        [[ -z $m ]] || umount "$m" 2>/dev/null || umount -l "$m" || log "warning: could not unmount $m"
    done <<<"$mounts"
    rm -f "$NODE_NETNS"
    [[ -f $NODE_DIR/cgroup-root ]] && CGROOT=$(<"$NODE_DIR/cgroup-root")
    for c in /sys/fs/cgroup/*/"$CGROOT"; do
        [[ -d $c ]] || continue
        find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ ! -d $c ]] || log "warning: cgroup $c is still there"
    done
    node_unregister "$state"
    # Paths the kubelet and containerd write whatever they are told: the device
    # plugin socket (a constant), /var/log/containers links, libcni's cache.
    find /var/log/containers -maxdepth 1 -type l -lname "$state/*" -delete 2>/dev/null || true
    if [[ -S /var/lib/kubelet/device-plugins/kubelet.sock && ! -f $NODE_DIR/had-device-plugins ]]; then
        rm -f /var/lib/kubelet/device-plugins/kubelet.sock
    fi
    rmdir /var/log/containers /var/lib/kubelet/device-plugins /var/lib/kubelet \
        /var/lib/cni/results /var/lib/cni 2>/dev/null || true
}

# stop_all STATE: stop the node, then every component recorded in STATE, in
# reverse order, then any other recorded one (a component an older harness
# started).
stop_all() {
    local state=$1 i f c
    node_stop "$state"
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
        stop_component "$state" "${COMPONENTS[i]}"
    done
    for f in "$state"/pids/*.pid; do
        [[ -e $f ]] || continue
        c=$(basename "$f" .pid)
        stop_component "$state" "$c"
    done
    rm -f "$state"/pids/*.stamp
}

# remove_state STATE: delete STATE, but only if it is one of ours.
remove_state() {
    local state=$1
    [[ -d $state ]] || return 0
    if [[ ! -f $state/$STATE_MARKER ]]; then
        die "$state has no $STATE_MARKER file; not deleting it"
    fi
    if findmnt -rn -o TARGET | grep -qF "$state/"; then
        die "mounts are left under $state; not deleting it"
    fi
    rm -rf -- "$state"
}
