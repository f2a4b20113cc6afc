package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// maxPage is the largest page the server hands out (its lists' maximum
// limit).
const maxPage = 1000

// listAll GETs a paged list of the JSON API, following next_cursor until
// want items have come (0: all of them), and returns the items of every
// page in order. key names the list in the answer ("devices", "events",
// "entries").
func (c *client) listAll(ctx context.Context, path string, q url.Values, key string, want int) ([]json.RawMessage, error) {
	var all []json.RawMessage
	q = cloneValues(q)
	for {
		size := maxPage
		if want > 0 {
			size = min(maxPage, want-len(all))
		}
		q.Set("limit", strconv.Itoa(size))
		data, err := c.getJSON(ctx, path, q, nil)
		if err != nil {
			return nil, err
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, fmt.Errorf("GET %s: unexpected answer (is --server a vcguard server of this version?): %w", path, err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[key], &items); err != nil {
			return nil, fmt.Errorf("GET %s: unexpected answer, no %q list: %w", path, key, err)
		}
		all = append(all, items...)
		var next string
		if raw, ok := page["next_cursor"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return nil, fmt.Errorf("GET %s: unexpected next_cursor: %w", path, err)
			}
		}
		if next == "" || want > 0 && len(all) >= want || len(items) == 0 {
			return all, nil
		}
		q.Set("cursor", next)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// decodeItems decodes raw list items into T.
func decodeItems[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, raw := range items {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("unexpected list item %.100s: %w", raw, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// rawList writes items as one indented JSON array, for --output json.
func (e *env) rawList(items []json.RawMessage) error {
	if items == nil {
		items = []json.RawMessage{}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = e.out.Write(out.Bytes())
	return err
}
