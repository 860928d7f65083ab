package main

// The consistency-hooks test app (issue 23): it keeps rewriting pairs of files that must
// agree, and serves /freeze and /thaw on the pod's loopback.
//
//	ferry-probe pairs DIR ADDR
//
// DIR/pairs/N/a and DIR/pairs/N/b (N = 0..7) hold the same sequence number once a pair is
// written; the writer writes a, pauses 5 ms, then writes b, so at almost any moment one pair
// disagrees. POST (or PUT, GET) /freeze waits until the pair being written is whole, stops
// the writer and answers 200; /thaw lets it go on. Any other path answers 404. Every call
// is logged on stdout ("freeze", "thaw", ...) for the tests to read with kubectl logs. On
// SIGTERM while frozen it waits up to 25 s for /thaw before exiting, as an app that must not
// die frozen would.

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const pairCount = 8

func logf(format string, args ...any) {
	fmt.Printf("%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
}

type pairs struct {
	dir    string
	token  chan struct{} // held by the writer while it writes a pair, and by a freeze
	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed and replaced at each thaw
}

func runPairs(dir, addr string) error {
	p := &pairs{dir: dir, token: make(chan struct{}, 1), thawed: make(chan struct{})}
	p.token <- struct{}{}
	for i := 0; i < pairCount; i++ {
		if err := os.MkdirAll(filepath.Join(dir, "pairs", strconv.Itoa(i)), 0o755); err != nil {
			return err
		}
	}
	go p.write()
	go p.onSigterm()
	mux := http.NewServeMux()
	mux.HandleFunc("/freeze", p.freeze)
	mux.HandleFunc("/thaw", p.thaw)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		logf("%s %s: 404", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	logf("pairs: writing %d pairs in %s, serving on %s", pairCount, dir, addr)
	return http.ListenAndServe(addr, mux)
}

func (p *pairs) write() {
	for seq := 1; ; seq++ {
		for i := 0; i < pairCount; i++ {
			<-p.token
			body := []byte(strconv.Itoa(seq) + "\n")
			d := filepath.Join(p.dir, "pairs", strconv.Itoa(i))
			if err := os.WriteFile(filepath.Join(d, "a"), body, 0o644); err != nil {
				logf("write: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
			if err := os.WriteFile(filepath.Join(d, "b"), body, 0o644); err != nil {
				logf("write: %v", err)
			}
			p.token <- struct{}{}
			time.Sleep(time.Millisecond)
		}
	}
}

func (p *pairs) freeze(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		logf("freeze: already frozen")
		_, _ = fmt.Fprintln(w, "already frozen")
		return
	}
	<-p.token
	p.frozen = true
	logf("freeze: %s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
	_, _ = fmt.Fprintln(w, "frozen")
}

func (p *pairs) thaw(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		logf("thaw: not frozen")
		_, _ = fmt.Fprintln(w, "not frozen")
		return
	}
	p.frozen = false
	p.token <- struct{}{}
	close(p.thawed)
	p.thawed = make(chan struct{})
	logf("thaw: %s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
	_, _ = fmt.Fprintln(w, "thawed")
}

func (p *pairs) onSigterm() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	p.mu.Lock()
	frozen, thawed := p.frozen, p.thawed
	p.mu.Unlock()
	logf("SIGTERM (frozen: %v)", frozen)
	if frozen {
		select {
		case <-thawed:
			logf("thawed after SIGTERM")
			// Let the answer to /thaw reach the caller before the process ends.
			time.Sleep(500 * time.Millisecond)
		case <-time.After(25 * time.Second):
			logf("still frozen 25 s after SIGTERM")
		}
	}
	logf("exit")
	os.Exit(0)
}
