package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/policies/catalogbundle"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// readCatalog reads what `catalog publish` sends: a catalog directory
// (VERSION and *.yaml, laid out like policies/catalog) or an encoded bundle
// file. The server loads every entry and names the one that does not load
// by file and line; catalogPathError points that at the local file.
func readCatalog(path string) ([]byte, *catalogbundle.Bundle, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read catalog: %w", err)
	}
	var b *catalogbundle.Bundle
	if fi.IsDir() {
		if b, err = catalogbundle.ReadDir(os.DirFS(path), "."); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read catalog: %w", err)
		}
		if b, err = catalogbundle.Parse(data); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	data, err := b.Encode()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, b, nil
}

// catalogPathError turns the server's refusal of an entry ("invalid
// input: catalog version 8: zoom.yaml:3: …") into one that names the local
// file ("DIR/zoom.yaml:3: … (catalog version 8)").
func catalogPathError(err error, path string, dir bool) error {
	ae, ok := err.(*apiError)
	if !ok || ae.Status != 400 {
		return err
	}
	msg := strings.TrimPrefix(ae.Message, "invalid input: ")
	if rest, ok := strings.CutPrefix(msg, "catalog version "); ok && dir {
		if v, entry, ok := strings.Cut(rest, ": "); ok && !strings.HasPrefix(entry, "the current policy") {
			msg = fmt.Sprintf("%s (catalog version %s)", filepath.Join(path, entry), v)
		}
	}
	return fmt.Errorf("%s\nthe catalog was not published; fix it and run the command again", msg)
}

func catalogPublish(ctx context.Context, e *env, args []string) error {
	data, b, err := readCatalog(args[0])
	if err != nil {
		return err
	}
	var c apitypes.Catalog
	raw, err := e.c.postJSON(ctx, "/api/v1/catalogs", "application/json", data, &c)
	if err != nil {
		if ae, ok := err.(*apiError); ok && ae.Status == 409 {
			return fmt.Errorf("%s\nthe catalog was not published", ae.Message)
		}
		fi, _ := os.Stat(args[0])
		return catalogPathError(err, args[0], fi != nil && fi.IsDir())
	}
	if e.json() {
		return e.raw(raw)
	}
	fmt.Fprintf(e.out, "published catalog version %d (%d tools, %d entry files); connected agents receive it now\n", c.Version, c.Apps, len(b.Files))
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
