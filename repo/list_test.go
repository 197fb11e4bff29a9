package repo_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/debflow/debflow/repo"
)

func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustPublish(repo.PublishOptions{},
		f.deb("hello", "1.10", "amd64"), f.deb("hello", "1.9", "amd64"), f.deb("hello", "1.9", "arm64"),
		f.deb("hello", "1:0.1", "amd64"), f.deb("docs", "1.0", "all"), f.deb("app", "2.0~rc1", "amd64"))
	snap := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("zz", "1.0", "amd64"))

	got, err := f.repo.List(ctx, repo.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := func(name, version, arch string) repo.ListedPackage {
		return repo.ListedPackage{Name: name, Version: version, Architecture: arch, Component: "main"}
	}
	want := []repo.ListedPackage{
		p("app", "2.0~rc1", "amd64"),
		p("docs", "1.0", "all"), // once, though every architecture's index lists it
		p("hello", "1.9", "amd64"),
		p("hello", "1.9", "arm64"),
		p("hello", "1.10", "amd64"),
		p("hello", "1:0.1", "amd64"),
		p("zz", "1.0", "amd64"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("development:\n got %v\nwant %v", got, want)
	}
	got, err = f.repo.List(ctx, repo.ListOptions{Snapshot: snap})
	if err != nil || !reflect.DeepEqual(got, want[:len(want)-1]) {
		t.Errorf("snapshot: %v, %v", got, err)
	}

	for _, o := range []repo.ListOptions{{Suite: "nope"}, {Snapshot: "2000-01-01"}, {Snapshot: "development"}, {Suite: "../x"}} {
		if _, err := f.repo.List(ctx, o); !errors.Is(err, repo.ErrNoSuite) {
			t.Errorf("%+v: %v, want ErrNoSuite", o, err)
		}
	}

	// An empty suite lists as an empty slice, not nil (JSON [] not null).
	if _, err := f.remove(repo.RemoveOptions{}, "app", "docs", "hello", "zz"); err != nil {
		t.Fatal(err)
	}
	got, err = f.repo.List(ctx, repo.ListOptions{Suite: "development"})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty suite: %#v, %v", got, err)
	}
}
