package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// store keeps volumes and snapshots under one directory. IDs are the names the
// sidecars ask for (pvc-<uid>, snapshot-<uid>), so a retried create finds what
// the first attempt made. One mutex serialises all changes: the test cluster
// makes few, and each is a local copy.
type store struct {
	mu  sync.Mutex
	dir string
}

// snapshotMeta is what <snapshot-id>.json records about a snapshot.
type snapshotMeta struct {
	SourceVolumeID string    `json:"sourceVolumeID"`
	CreatedAt      time.Time `json:"createdAt"`
	SizeBytes      int64     `json:"sizeBytes"`
}

var errNotFound = errors.New("not found")

// tarKeep makes GNU tar keep what a real CSI snapshot keeps: the pax format
// records mtimes to the nanosecond (ustar and GNU formats truncate them to
// whole seconds), owners are numbers (never remapped through this host's user
// names), and extended attributes go with their files.
var tarKeep = []string{"--format=pax", "--numeric-owner", "--xattrs", "--xattrs-include=*"}

func newStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &store{dir: dir}, nil
}

// validID refuses anything that is not one plain path component.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") ||
		strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".snap") || strings.HasSuffix(id, ".json") {
		return fmt.Errorf("invalid name %q", id)
	}
	return nil
}

func (s *store) volumePath(id string) string       { return filepath.Join(s.dir, id) }
func (s *store) snapshotPath(id string) string     { return filepath.Join(s.dir, id+".snap") }
func (s *store) snapshotMetaPath(id string) string { return filepath.Join(s.dir, id+".json") }

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// createVolume makes the volume directory, filled by fill (may be nil) while
// it is still a temporary directory, so a half-made volume never appears.
// It reports whether the volume already existed.
func (s *store) createVolume(id string, fill func(tmp string) error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dst := s.volumePath(id)
	if isDir(dst) {
		return true, nil
	}
	tmp := filepath.Join(s.dir, ".tmp-"+id)
	if err := os.RemoveAll(tmp); err != nil {
		return false, err
	}
	if err := os.Mkdir(tmp, 0o777); err != nil {
		return false, err
	}
	// Mode 0777 like an emptyDir: the pods' users differ.
	if err := os.Chmod(tmp, 0o777); err != nil {
		return false, err
	}
	if fill != nil {
		if err := fill(tmp); err != nil {
			_ = os.RemoveAll(tmp)
			return false, err
		}
	}
	return false, os.Rename(tmp, dst)
}

func (s *store) deleteVolume(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return os.RemoveAll(s.volumePath(id))
}

// copyVolume copies volume src into dir, keeping modes, owners and times.
func (s *store) copyVolume(src, dir string) error {
	from := s.volumePath(src)
	if !isDir(from) {
		return fmt.Errorf("volume %s: %w", src, errNotFound)
	}
	return runCmd("cp", "-a", "--", from+"/.", dir+"/")
}

// restoreSnapshot unpacks snapshot id into dir.
func (s *store) restoreSnapshot(id, dir string) error {
	snap := s.snapshotPath(id)
	if _, err := os.Stat(snap); err != nil {
		return fmt.Errorf("snapshot %s: %w", id, errNotFound)
	}
	return runCmd("tar", append([]string{"-C", dir, "-xpf", snap, "--same-owner"}, tarKeep...)...)
}

// createSnapshot archives volume src as snapshot id, unless it exists. It
// returns the snapshot's metadata and whether it already existed.
func (s *store) createSnapshot(id, src string) (snapshotMeta, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if meta, err := s.readSnapshot(id); err == nil {
		return meta, true, nil
	}
	from := s.volumePath(src)
	if !isDir(from) {
		return snapshotMeta{}, false, fmt.Errorf("volume %s: %w", src, errNotFound)
	}
	tmp := filepath.Join(s.dir, ".tmp-"+id+".snap")
	if err := runCmd("tar", append([]string{"-C", from, "-cf", tmp}, append(tarKeep, ".")...)...); err != nil {
		_ = os.Remove(tmp)
		return snapshotMeta{}, false, err
	}
	size, err := dirSize(from)
	if err != nil {
		return snapshotMeta{}, false, err
	}
	meta := snapshotMeta{SourceVolumeID: src, CreatedAt: time.Now().UTC(), SizeBytes: size}
	data, err := json.Marshal(meta)
	if err != nil {
		return snapshotMeta{}, false, err
	}
	if err := os.Rename(tmp, s.snapshotPath(id)); err != nil {
		return snapshotMeta{}, false, err
	}
	// The metadata file is written last: it is what marks a finished snapshot.
	if err := writeFileAtomic(s.snapshotMetaPath(id), data); err != nil {
		return snapshotMeta{}, false, err
	}
	return meta, false, nil
}

func (s *store) readSnapshot(id string) (snapshotMeta, error) {
	var meta snapshotMeta
	data, err := os.ReadFile(s.snapshotMetaPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return meta, fmt.Errorf("snapshot %s: %w", id, errNotFound)
	} else if err != nil {
		return meta, err
	}
	return meta, json.Unmarshal(data, &meta)
}

func (s *store) deleteSnapshot(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []string{s.snapshotMetaPath(id), s.snapshotPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// listSnapshots returns every finished snapshot by ID.
func (s *store) listSnapshots() (map[string]snapshotMeta, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	out := map[string]snapshotMeta{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		if meta, err := s.readSnapshot(id); err == nil {
			out[id] = meta
		}
	}
	return out, nil
}

func dirSize(dir string) (int64, error) {
	var size int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			size += info.Size()
		}
		return nil
	})
	return size, err
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func runCmd(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
