// Package githubtest is an in-process fake of the part of GitHub's REST API
// that debflow uses: deployments, deployment statuses, issue comments, git
// refs, contents and pulls. It records every request, so that tests assert
// what was sent, and it can be told to fail chosen calls.
package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string // the URL path, unescaped
	Query  string // the raw query
	Auth   string // the Authorization header
	Body   map[string]any
}

// Reply is a canned reply that replaces the fake's own.
type Reply struct {
	Status int
	Header map[string]string
	Body   string
}

// Server is a fake GitHub for one repository.
type Server struct {
	*httptest.Server
	Owner, Repo string

	mu       sync.Mutex
	requests []Request
	failures map[string][]Reply         // "METHOD /path" -> replies to give first, in order
	refs     map[string]string          // "heads/canary" -> sha
	files    map[string]map[string]File // ref (branch or sha) -> path -> file
	nextID   int
	drop     map[string]int // "METHOD /path" -> connections to close without reply
	pulls    []Pull
}

// Pull is a pull request the fake holds.
type Pull struct {
	Number     int
	Head, Base string // branch names
	State      string // "open" or "closed"
	URL        string
}

// File is a file in the fake's repository.
type File struct {
	Content string
	SHA     string
}

// New starts a fake for OWNER/REPO; it stops when the test ends.
func New(t testing.TB, owner, repo string) *Server {
	s := &Server{Owner: owner, Repo: repo, failures: map[string][]Reply{}, refs: map[string]string{},
		files: map[string]map[string]File{}, nextID: 100, drop: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetBranch makes a branch point at sha with the files given (path ->
// content).
func (s *Server) SetBranch(branch, sha string, files map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs["heads/"+branch] = sha
	m := map[string]File{}
	for p, c := range files {
		m[p] = File{Content: c, SHA: fmt.Sprintf("blob-%s-%s", sha, p)}
	}
	s.files[sha] = m
	s.files[branch] = m
}

// Fail makes the next calls of "METHOD /path" (the path without the query)
// get the given replies, one each, before the fake answers normally again.
func (s *Server) Fail(route string, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[route] = append(s.failures[route], replies...)
}

// Drop makes the next n calls of "METHOD /path" end without a reply, as a
// broken connection does.
func (s *Server) Drop(route string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[route] += n
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Routes returns "METHOD /path" of every request received so far.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// Pulls returns the pull requests opened so far.
func (s *Server) Pulls() []Pull {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Pull(nil), s.pulls...)
}

// ClosePull closes pull request number.
func (s *Server) ClosePull(number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.pulls {
		if s.pulls[i].Number == number {
			s.pulls[i].State = "closed"
		}
	}
}

// File returns a file as it is on a branch now.
func (s *Server) File(branch, path string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[branch][path]
	return f, ok
}

// Ref returns what a ref ("heads/x") points at.
func (s *Server) Ref(ref string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.refs[ref]
	return sha, ok
}

var (
	reDeployments = regexp.MustCompile(`^deployments$`)
	reStatuses    = regexp.MustCompile(`^deployments/(\d+)/statuses$`)
	reComments    = regexp.MustCompile(`^issues/(\d+)/comments$`)
	reGetRef      = regexp.MustCompile(`^git/ref/(.+)$`)
	reRefs        = regexp.MustCompile(`^git/refs$`)
	reDeleteRef   = regexp.MustCompile(`^git/refs/(.+)$`)
	reContents    = regexp.MustCompile(`^contents/(.+)$`)
	rePulls       = regexp.MustCompile(`^pulls$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &req.Body); err != nil {
			req.Body = map[string]any{"_raw": string(data)}
		}
	}
	route := r.Method + " " + r.URL.Path

	s.mu.Lock()
	s.requests = append(s.requests, req)
	if s.drop[route] > 0 {
		s.drop[route]--
		s.mu.Unlock()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if f := s.failures[route]; len(f) > 0 {
		s.failures[route] = f[1:]
		s.mu.Unlock()
		for k, v := range f[0].Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f[0].Status)
		io.WriteString(w, f[0].Body)
		return
	}
	defer s.mu.Unlock()

	prefix := "/repos/" + s.Owner + "/" + s.Repo + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == "POST" && reDeployments.MatchString(rest):
		s.nextID++
		reply(w, http.StatusCreated, map[string]any{"id": s.nextID, "ref": req.Body["ref"], "environment": req.Body["environment"]})
	case r.Method == "POST" && reStatuses.MatchString(rest):
		s.nextID++
		reply(w, http.StatusCreated, map[string]any{"id": s.nextID, "state": req.Body["state"]})
	case r.Method == "POST" && reComments.MatchString(rest):
		n := reComments.FindStringSubmatch(rest)[1]
		s.nextID++
		reply(w, http.StatusCreated, map[string]any{"id": s.nextID, "html_url": fmt.Sprintf("%s/%s/%s/pull/%s#issuecomment-%d", s.URL, s.Owner, s.Repo, n, s.nextID)})
	case r.Method == "GET" && reGetRef.MatchString(rest):
		ref := reGetRef.FindStringSubmatch(rest)[1]
		sha, ok := s.refs[ref]
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		reply(w, http.StatusOK, map[string]any{"ref": "refs/" + ref, "object": map[string]any{"sha": sha, "type": "commit"}})
	case r.Method == "POST" && reRefs.MatchString(rest):
		ref, _ := req.Body["ref"].(string)
		sha, _ := req.Body["sha"].(string)
		short := strings.TrimPrefix(ref, "refs/")
		if _, exists := s.refs[short]; exists {
			reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference already exists"})
			return
		}
		s.refs[short] = sha
		files := map[string]File{}
		for p, f := range s.files[sha] {
			files[p] = f
		}
		s.files[strings.TrimPrefix(short, "heads/")] = files
		reply(w, http.StatusCreated, map[string]any{"ref": ref, "object": map[string]any{"sha": sha}})
	case r.Method == "DELETE" && reDeleteRef.MatchString(rest):
		ref := reDeleteRef.FindStringSubmatch(rest)[1]
		if _, ok := s.refs[ref]; !ok {
			reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference does not exist"})
			return
		}
		delete(s.refs, ref)
		delete(s.files, strings.TrimPrefix(ref, "heads/"))
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "GET" && reContents.MatchString(rest):
		path := reContents.FindStringSubmatch(rest)[1]
		ref := r.URL.Query().Get("ref")
		f, ok := s.files[ref][path]
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		reply(w, http.StatusOK, map[string]any{"type": "file", "encoding": "base64", "path": path, "sha": f.SHA,
			"content": base64.StdEncoding.EncodeToString([]byte(f.Content))})
	case r.Method == "PUT" && reContents.MatchString(rest):
		path := reContents.FindStringSubmatch(rest)[1]
		branch, _ := req.Body["branch"].(string)
		files, ok := s.files[branch]
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"message": "Branch not found"})
			return
		}
		sha, _ := req.Body["sha"].(string)
		if old, exists := files[path]; exists && old.SHA != sha || !exists && sha != "" {
			reply(w, http.StatusConflict, map[string]any{"message": path + " does not match " + sha})
			return
		}
		content, err := base64.StdEncoding.DecodeString(fmt.Sprint(req.Body["content"]))
		if err != nil {
			reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "content is not base64"})
			return
		}
		s.nextID++
		files[path] = File{Content: string(content), SHA: "blob-" + strconv.Itoa(s.nextID)}
		reply(w, http.StatusCreated, map[string]any{"content": map[string]any{"path": path, "sha": files[path].SHA},
			"commit": map[string]any{"sha": "commit-" + strconv.Itoa(s.nextID)}})
	case r.Method == "POST" && rePulls.MatchString(rest):
		head, _ := req.Body["head"].(string)
		base, _ := req.Body["base"].(string)
		for _, p := range s.pulls {
			if p.State == "open" && p.Head == head && p.Base == base {
				reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
					"errors": []any{map[string]any{"message": "A pull request already exists for " + s.Owner + ":" + head + "."}}})
				return
			}
		}
		s.nextID++
		p := Pull{Number: s.nextID, Head: head, Base: base, State: "open", URL: fmt.Sprintf("%s/%s/%s/pull/%d", s.URL, s.Owner, s.Repo, s.nextID)}
		s.pulls = append(s.pulls, p)
		reply(w, http.StatusCreated, pullJSON(p))
	case r.Method == "GET" && rePulls.MatchString(rest):
		// GitHub's filters: state (default open), base, and head as
		// OWNER:BRANCH.
		q := r.URL.Query()
		state := q.Get("state")
		if state == "" {
			state = "open"
		}
		out := []any{}
		for _, p := range s.pulls {
			if (state == "all" || p.State == state) && (q.Get("base") == "" || q.Get("base") == p.Base) &&
				(q.Get("head") == "" || q.Get("head") == s.Owner+":"+p.Head) {
				out = append(out, pullJSON(p))
			}
		}
		reply(w, http.StatusOK, out)
	default:
		reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

func pullJSON(p Pull) map[string]any {
	return map[string]any{"number": p.Number, "state": p.State, "html_url": p.URL,
		"head": map[string]any{"ref": p.Head}, "base": map[string]any{"ref": p.Base}}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
