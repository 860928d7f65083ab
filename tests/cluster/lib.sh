# Shared helpers for tests/cluster/up and tests/cluster/down. Sourced, not run.
# shellcheck shell=bash

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by up
REPO_ROOT=$(cd "$CLUSTER_DIR/../.." && pwd)
# Components in start order; they are stopped in reverse. A cluster is reused
# only while every one of them runs.
COMPONENTS=(etcd kube-apiserver kube-controller-manager minio
    csi-hostpath snapshot-controller csi-snapshotter csi-provisioner)
# The pod runner (the kubelet stand-in, a Rust binary of ferry-e2e) is started
# apart from them, when its binary is built, and replaced when it is rebuilt;
# it is stopped first.
RUNNER=ferry-pod-runner
# The Node the runner binds pods to and the CSI driver reports.
# shellcheck disable=SC2034 # used by up
NODE_NAME=ferry-local
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

# stop_all STATE: stop the pod runner (which stops the processes it runs), then
# every component recorded in STATE, in reverse order.
stop_all() {
    local state=$1 i
    stop_component "$state" "$RUNNER"
    rm -f "$state/pids/$RUNNER.stamp"
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
        stop_component "$state" "${COMPONENTS[i]}"
    done
}

# remove_state STATE: delete STATE, but only if it is one of ours.
remove_state() {
    local state=$1
    [[ -d $state ]] || return 0
    if [[ ! -f $state/$STATE_MARKER ]]; then
        die "$state has no $STATE_MARKER file; not deleting it"
    fi
    rm -rf -- "$state"
}
