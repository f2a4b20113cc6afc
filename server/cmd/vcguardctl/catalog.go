package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// readCatalog reads what `catalog publish` sends: a catalog directory
// (VERSION and *.yaml, laid out like policies/catalog) or an encoded bundle
// file. Every entry is loaded here first, so a mistake is reported with the
// local file and line before anything is sent.
func readCatalog(path string) ([]byte, *policies.CatalogBundle, int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read catalog: %w", err)
	}
	var b *policies.CatalogBundle
	if fi.IsDir() {
		if b, err = policies.ReadCatalogDir(os.DirFS(path), "."); err != nil {
			return nil, nil, 0, catalogPathError(err, path)
		}
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("read catalog: %w", err)
		}
		if b, err = policies.ParseCatalogBundle(data); err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	cat, err := b.Catalog()
	if err != nil {
		return nil, nil, 0, catalogPathError(err, path)
	}
	data, err := b.Encode()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return data, b, len(cat.Apps()), nil
}

// catalogPathError names the entry's file under dir: "catalog version 8:
// zoom.yaml:3: …" becomes "DIR/zoom.yaml:3: … (catalog version 8)".
func catalogPathError(err error, dir string) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "catalog version "); ok {
		if v, entry, ok := strings.Cut(rest, ": "); ok {
			return fmt.Errorf("%s (catalog version %s)\nthe catalog was not published; fix the file and run the command again", filepath.Join(dir, entry), v)
		}
	}
	return fmt.Errorf("%s: %s\nthe catalog was not published", dir, strings.TrimPrefix(msg, "catalog .: "))
}

func catalogPublish(ctx context.Context, e *env, args []string) error {
	data, b, apps, err := readCatalog(args[0])
	if err != nil {
		return err
	}
	var c apitypes.Catalog
	raw, err := e.c.postJSON(ctx, "/api/v1/catalogs", "application/json", data, &c)
	if err != nil {
		if ae, ok := err.(*apiError); ok && ae.Status == 409 {
			return fmt.Errorf("%s\nthe catalog was not published", ae.Message)
		}
		return err
	}
	if e.json() {
		return e.raw(raw)
	}
	fmt.Fprintf(e.out, "published catalog version %d (%d tools, %d entry files); connected agents receive it now\n", c.Version, apps, len(b.Files))
	return nil
}

func catalogsList(ctx context.Context, e *env, _ []string) error {
	var cs []apitypes.Catalog
	data, err := e.c.getJSON(ctx, "/api/v1/catalogs", nil, &cs)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	t := newTable(e.out, "VERSION", "TOOLS", "PUBLISHED", "BY", "")
	for i, c := range cs {
		mark := ""
		if i == 0 {
			mark = "current"
		}
		t.row(strconv.FormatUint(c.Version, 10), strconv.Itoa(c.Apps), when(c.Published), c.PublishedBy, mark)
	}
	return t.flush()
}
