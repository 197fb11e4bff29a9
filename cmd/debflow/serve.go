package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
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
		Long: `Serve serves the repository tree over HTTP until interrupted. debflow's
own records (.debflow/) are not served. For production, any static web
server or object-storage website does the same job.`,
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
	return cmd
}

// serve serves dir on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, dir string) error {
	return serveHandler(ctx, ln, http.FileServer(http.Dir(dir)))
}

// storageFiles serves a storage's objects (a convenience proxy for a
// bucket: devices should read the bucket or its CDN directly).
func storageFiles(st repo.Storage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
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
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/.") {
				http.NotFound(w, r)
				return
			}
			files.ServeHTTP(w, r)
		}),
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
