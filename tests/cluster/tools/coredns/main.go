// Command coredns is CoreDNS with the plugins the test node's Corefile uses
// (tests/cluster/node/coredns.yaml) instead of all of them: the same server
// and kubernetes plugin as stock CoreDNS, without the cloud backends' SDKs,
// which would make it a build of many minutes.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
