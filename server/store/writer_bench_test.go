package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BenchmarkIngest measures concurrent ingest from benchDevices devices, each
// sending batches of 1, 10 or 100 events in sequence, through the group
// commit ("grouped") and through the path it replaced ("baseline": one
// transaction per call, a statement per event, on a pool without an open
// limit as the store had before), in the same run. PostgreSQL runs when
// VCGUARD_TEST_POSTGRES is set. Report: events/s.
//
//	go test -run '^$' -bench Ingest -benchtime 3s ./server/store/
func BenchmarkIngest(b *testing.B) {
	backends := []string{"sqlite"}
	if os.Getenv("VCGUARD_TEST_POSTGRES") != "" {
		backends = append(backends, "postgres")
	}
	for _, backend := range backends {
		for _, batch := range []int{1, 10, 100} {
			for _, mode := range []string{"grouped", "baseline"} {
				b.Run(fmt.Sprintf("%s/batch=%d/%s", backend, batch, mode), func(b *testing.B) {
					s, baseline := benchStore(b, backend)
					ingest := s.IngestEvents
					if mode == "baseline" {
						ingest = baseline.ingest
					}
					benchIngest(b, s, ingest, batch)
				})
			}
		}
	}
}

const benchDevices = 1000

func benchIngest(b *testing.B, s *Store, ingest func(context.Context, string, []*vcguardv1.Event, time.Time) (uint64, error), batch int) {
	ctx := context.Background()
	for d := range benchDevices {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO devices (id, hostname, os, enrolled_at) VALUES ($1, $2, 'linux', 1)`,
			fmt.Sprintf("dev-%04d", d), fmt.Sprintf("host-%04d", d)); err != nil {
			b.Fatal(err)
		}
	}
	var seqs [benchDevices]uint64
	var failed atomic.Int64
	var firstErr atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for d := range benchDevices {
		// Device d sends batches d, d+benchDevices, ... of the b.N.
		n := b.N / benchDevices
		if d < b.N%benchDevices {
			n++
		}
		id := fmt.Sprintf("dev-%04d", d)
		wg.Go(func() {
			for range n {
				evs := make([]*vcguardv1.Event, batch)
				for i := range evs {
					seqs[d]++
					evs[i] = &vcguardv1.Event{Seq: seqs[d], Time: timestamppb.Now(),
						Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: seqs[d]}}}
				}
				if _, err := ingest(ctx, id, evs, time.Now()); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(failed.Load()), "failed-batches")
	if err := firstErr.Load(); err != nil {
		b.Logf("%d batches failed, first: %v", failed.Load(), err)
	}
}

// benchStore opens an empty store and the baseline beside it.
func benchStore(b *testing.B, backend string) (*Store, *baselineIngest) {
	ctx := context.Background()
	if backend == "sqlite" {
		path := filepath.Join(b.TempDir(), "bench.db")
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		// The pool as it was: no open limit.
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return s, &baselineIngest{db: db}
	}
	dsn := os.Getenv("VCGUARD_TEST_POSTGRES")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	schema := fmt.Sprintf("bench_%d", rand.Int64())
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := OpenPostgres(ctx, dsn+sep+"search_path="+schema)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	// The baseline shares the store's pool (20 connections), as before.
	return s, &baselineIngest{db: s.db, postgres: true}
}

var _ = stdlib.GetDefaultDriver // registers "pgx"

// baselineIngest is the write path before group commit, kept only as the
// benchmark's baseline: one transaction per call, the device row read (and
// locked) first, then one INSERT per event and one UPDATE per
// policy_applied, and the device row updated at the end.
type baselineIngest struct {
	db       *sql.DB
	postgres bool
}

func (bl *baselineIngest) ingest(ctx context.Context, deviceID string, events []*vcguardv1.Event, now time.Time) (uint64, error) {
	tx, err := bl.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	lock := ""
	if bl.postgres {
		lock = ` FOR NO KEY UPDATE`
	}
	var lastSeq int64
	if err := tx.QueryRowContext(ctx, `SELECT last_seq FROM devices WHERE id = $1`+lock, deviceID).Scan(&lastSeq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrNotFound
		}
		return 0, err
	}
	last := uint64(lastSeq)
	for _, e := range events {
		if e.GetSeq() <= last {
			continue
		}
		payload, err := proto.Marshal(e)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (device_id, seq, type, time, received_at, payload)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			deviceID, int64(e.GetSeq()), EventType(e), micros(eventTime(e, now)), micros(now), payload); err != nil {
			return 0, err
		}
		if pa := e.GetPolicyApplied(); pa != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE devices SET policy_version = $1 WHERE id = $2`, int64(pa.GetVersion()), deviceID); err != nil {
				return 0, err
			}
		}
		last = e.GetSeq()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET last_seq = $1, last_seen = $2 WHERE id = $3`, int64(last), micros(now), deviceID); err != nil {
		return 0, err
	}
	return last, tx.Commit()
}
