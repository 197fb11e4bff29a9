package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage"
)

func newServeCmd(g *globalOptions, e env) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve --repo DIR [--addr 127.0.0.1:8080]",
		Short: "Serve the repository over HTTP, for demos and local use",
		Long: `Serve serves the repository tree over HTTP until interrupted: regular files
inside the tree only. Symbolic links that lead out of the tree, directories,
dot files and debflow's own records (.debflow/) are not served.

Files under dists/ (InRelease, Release, the indexes) are sent with a strong
ETag, their content's SHA-256, and without Last-Modified, so that a client's
If-Modified-Since (one-second resolution) never gets a 304 for a file that
changed within the same second.

For production, any static web server or object-storage website does the
same job; see the README for what it needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.repo == "" {
				return usagef("no repository: give --repo DIR or set DEBFLOW_REPO")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "serving %s at http://%s/\n", g.repo, ln.Addr())
			if storage.IsURL(g.repo) {
				st, err := openStorage(g)
				if err != nil {
					return err
				}
				return serveHandler(cmd.Context(), ln, storageFiles(st))
			}
			return serve(cmd.Context(), ln, g.repo)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	return withoutJSON(cmd, "it serves until interrupted")
}

// serve serves dir on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	defer root.Close()
	return serveHandler(ctx, ln, treeHandler{root})
}

// storageFiles serves a storage's objects (a convenience proxy for a
// bucket: devices should read the bucket or its CDN directly), with the
// tree's rules: no dot files, nothing of .debflow/.
func storageFiles(st repo.Storage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := treeName(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		rc, err := st.Get(r.Context(), name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, repo.ErrBadName) {
				http.NotFound(w, r)
			} else {
				http.Error(w, "storage error", http.StatusBadGateway)
			}
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		if r.Method == http.MethodGet {
			io.Copy(w, rc)
		}
	})
}

func serveHandler(ctx context.Context, ln net.Listener, files http.Handler) error {
	srv := &http.Server{
		Handler:           files,
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// maxIndexSize bounds the files under dists/ that are read into memory to
// be hashed for their ETag; larger ones are refused.
const maxIndexSize = 512 << 20

// treeHandler serves the regular files of a repository tree. Everything
// is opened through an os.Root, so that no name and no symbolic link can
// reach outside the tree.
type treeHandler struct{ root *os.Root }

func (h treeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := treeName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	// O_NONBLOCK: opening a FIFO that was put in the tree must not hang
	// the request; it is refused below as not a regular file.
	f, err := h.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		notServed(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		notServed(w, r, err)
		return
	}
	if !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(name, "dists/") {
		// Pool files never change under their name: Last-Modified is
		// safe for them.
		http.ServeContent(w, r, name, fi.ModTime(), f)
		return
	}
	// dists/ files change in place, possibly within one second: send what
	// was read with its hash as a strong ETag, and no Last-Modified, so
	// that If-None-Match decides and If-Modified-Since is ignored.
	if fi.Size() > maxIndexSize {
		http.Error(w, "file too large", http.StatusInternalServerError)
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		http.Error(w, "read error", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	if !strings.Contains(name, "/by-hash/") {
		w.Header().Set("Cache-Control", "no-cache") // by-hash files never change
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// treeName turns a URL path into a name inside the tree; ok is false for
// the root, for dot files and directories (.debflow/ among them) and for
// anything that climbs.
func treeName(urlPath string) (string, bool) {
	if !strings.HasPrefix(urlPath, "/") || strings.ContainsRune(urlPath, 0) {
		return "", false
	}
	for _, elem := range strings.Split(urlPath[1:], "/") {
		if strings.HasPrefix(elem, ".") {
			return "", false
		}
	}
	name := path.Clean(urlPath)[1:]
	if name == "" || !fs.ValidPath(name) {
		return "", false
	}
	return name, true
}

// notServed answers a file that could not be opened: 404 for what does not
// exist or is outside the tree, 403 for what may not be read.
func notServed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrPermission) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	http.NotFound(w, r)
}
