// Command catalog-check reports what in the catalog needs a person's
// attention: facts whose source was last checked more than a year ago (or
// on a date in the future). An entry that lacks a fact, or whose fact is
// malformed, does not load: that is reported with its file and line. It reads the
// catalog from a directory (by default the repository's policies/catalog)
// and fetches nothing, unless -online is given: then it requests every
// source once, without following redirects, and reports the ones that
// redirect or fail, so a moved page is replaced by its final address.
//
// It exits 1 when it reports anything, 2 on bad usage or an unreadable
// catalog.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vcguard/vcguard/policies"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now(), http.DefaultTransport))
}

func run(args []string, stdout, stderr io.Writer, now time.Time, transport http.RoundTripper) int {
	fs := flag.NewFlagSet("catalog-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("catalog", "policies/catalog", "directory of catalog entries (*.yaml)")
	maxAge := fs.Duration("max-age", policies.MaxFactAge, "report facts checked longer ago than this")
	online := fs.Bool("online", false, "also request every source and report redirects and failures")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "catalog-check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cat, err := policies.LoadCatalog(os.DirFS(*dir), ".")
	if err != nil {
		fmt.Fprintf(stderr, "catalog-check: %v\n", err)
		return 2
	}
	problems := 0
	for _, f := range cat.StaleFacts(now, *maxAge) {
		when := fmt.Sprintf("%d days ago", f.Days)
		if f.Days < 0 {
			when = "in the future"
		}
		fmt.Fprintf(stdout, "%s: %s: facts.%s was checked on %s, %s\n", f.File, f.AppID, f.Fact, f.Checked.Format(time.DateOnly), when)
		problems++
	}
	if *online {
		problems += checkSources(cat, stdout, &http.Client{
			Transport:     transport,
			Timeout:       20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		})
	}
	if problems > 0 {
		fmt.Fprintf(stdout, "%d to look at\n", problems)
		return 1
	}
	fmt.Fprintf(stdout, "catalog ok: %d entries\n", len(cat.Apps()))
	return 0
}

// checkSources requests each distinct source once, four at a time, and
// reports those that redirect or do not answer 2xx, naming every fact that
// cites them.
func checkSources(cat *policies.Catalog, out io.Writer, client *http.Client) int {
	cited := map[string][]string{}
	for _, a := range cat.Apps() {
		for _, r := range a.Facts.List() {
			if r.Present {
				cited[r.Source] = append(cited[r.Source], a.File+": facts."+r.Name)
			}
		}
	}
	urls := make([]string, 0, len(cited))
	for u := range cited {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	results := make([]string, len(urls))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, u := range urls {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = probe(client, u)
		})
	}
	wg.Wait()
	n := 0
	for i, u := range urls {
		if results[i] == "" {
			continue
		}
		n++
		fmt.Fprintf(out, "%s %s (cited by %s)\n", u, results[i], strings.Join(cited[u], ", "))
	}
	return n
}

// probe returns what is wrong with a source URL, "" when it answers 2xx.
func probe(client *http.Client, u string) string {
	ctx, cancel := context.WithTimeout(context.Background(), client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "is not a URL: " + err.Error()
	}
	req.Header.Set("User-Agent", "vcguard-catalog-check")
	resp, err := client.Do(req)
	if err != nil {
		return "fails: " + err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Sprintf("redirects (%d) to %s", resp.StatusCode, resp.Header.Get("Location"))
	case resp.StatusCode >= 400:
		return fmt.Sprintf("answers %s", resp.Status)
	}
	return ""
}
