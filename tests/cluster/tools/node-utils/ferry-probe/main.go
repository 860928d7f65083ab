// Command ferry-probe is what the test images run inside pods: a tiny HTTP
// server, an HTTP client, and file writing and stat-ing with nanosecond times,
// so that tests can check networking, DNS and volumes from inside a container.
// It is static (no cgo), so it runs from a scratch or busybox image.
//
//	ferry-probe serve ADDR TEXT          answer every GET with TEXT
//	ferry-probe get URL [TRIES]          print the body of URL (retrying, 1 s apart)
//	ferry-probe write PATH TEXT MODE MTIME   write TEXT, chmod MODE (octal), set mtime (RFC 3339, ns)
//	ferry-probe stat PATH                print size, sha256, mode, uid, gid, mtime (ns) as JSON
//	ferry-probe id                       print uid and gid
//	ferry-probe pairs DIR ADDR           write agreeing pairs, serve /freeze and /thaw (pairs.go)
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-probe:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ferry-probe serve|get|write|stat|id|pairs ...")
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "serve" && len(rest) == 2:
		return serve(rest[0], rest[1])
	case cmd == "get" && (len(rest) == 1 || len(rest) == 2):
		tries := 1
		if len(rest) == 2 {
			n, err := strconv.Atoi(rest[1])
			if err != nil {
				return fmt.Errorf("tries: %w", err)
			}
			tries = n
		}
		return get(rest[0], tries)
	case cmd == "write" && len(rest) == 4:
		return write(rest[0], rest[1], rest[2], rest[3])
	case cmd == "stat" && len(rest) == 1:
		return stat(rest[0])
	case cmd == "pairs" && len(rest) == 2:
		return runPairs(rest[0], rest[1])
	case cmd == "id" && len(rest) == 0:
		fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
		return nil
	}
	return fmt.Errorf("bad arguments: %q", args)
}

func serve(addr, text string) error {
	fmt.Printf("serving on %s\n", addr)
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s from %s\n", r.Method, r.URL.Path, r.RemoteAddr)
		_, _ = io.WriteString(w, text)
	}))
}

func get(url string, tries int) error {
	client := &http.Client{Timeout: 5 * time.Second}
	var last error
	for i := 0; i < tries; i++ {
		if i > 0 {
			time.Sleep(time.Second)
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err
			fmt.Fprintln(os.Stderr, "attempt", i+1, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("GET %s: %s", url, resp.Status)
			continue
		}
		_, err = os.Stdout.Write(body)
		return err
	}
	return last
}

func write(path, text, mode, mtime string) error {
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, mtime)
	if err != nil {
		return fmt.Errorf("mtime: %w", err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(path, os.FileMode(m)); err != nil {
		return err
	}
	if err := os.Chtimes(path, t, t); err != nil {
		return err
	}
	return stat(path)
}

// fileStat is what stat prints: what a restore must keep.
type fileStat struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Mode    string `json:"mode"`
	UID     uint32 `json:"uid"`
	GID     uint32 `json:"gid"`
	MtimeNs int64  `json:"mtimeNs"`
}

func stat(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	out, err := json.Marshal(fileStat{
		Path:    path,
		Size:    st.Size,
		SHA256:  hex.EncodeToString(sum[:]),
		Mode:    fmt.Sprintf("%04o", st.Mode&0o7777),
		UID:     st.Uid,
		GID:     st.Gid,
		MtimeNs: st.Mtim.Sec*1e9 + st.Mtim.Nsec,
	})
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
