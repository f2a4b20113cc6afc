package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// Files read from the server's data directory (as vcguard-server writes
// them: server/pki.CAFile and the first-start secrets).
const (
	caFile           = "ca.pem"
	enrollSecretFile = "enroll-secret"
	adminTokenFile   = "admin-token"
)

// descriptorsSpare is kept beyond one descriptor per agent: enrollment
// connections, the admin API, files.
const descriptorsSpare = 256

// run enrolls (or reuses) the agents, connects them, holds the load for
// cfg.Duration, drains, counts back what the server stored and reports.
func run(ctx context.Context, cfg *config, logger *slog.Logger) (*report, error) {
	attackFDs := cfg.attackDescriptors()
	limit, err := raiseFileLimit(uint64(cfg.Agents) + descriptorsSpare + attackFDs)
	if err != nil {
		logger.Warn("raise the open file limit", "err", err)
	}
	if err := checkDescriptors(cfg, limit); err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(cfg.DataDir, caFile))
	if err != nil {
		return nil, fmt.Errorf("read the server's CA: %w (is --data the server's data directory?)", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", filepath.Join(cfg.DataDir, caFile))
	}
	secret, err := readSecret(filepath.Join(cfg.DataDir, enrollSecretFile))
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(cfg.Server)
	s := &sim{
		cfg: cfg, logger: logger, roots: roots, serverName: host, secret: secret,
		enrollTLS:  &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: host},
		connectSem: make(chan struct{}, cfg.ConnectConcurrency),
		stopGen:    make(chan struct{}),
		base:       time.Now().Truncate(time.Second),
	}
	var adm *adminClient
	if cfg.HTTP != "" {
		token, err := readSecret(filepath.Join(cfg.DataDir, adminTokenFile))
		if err != nil {
			return nil, err
		}
		httpHost, _, _ := net.SplitHostPort(cfg.HTTP)
		adm = newAdminClient(cfg.HTTP, token, roots, httpHost)
		cur, err := adm.currentPolicy(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the current policy through the admin API (--http): %w", err)
		}
		s.startPolicy = cur.Version
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the state directory (--state): %w", err)
	}
	// The attacker's devices are enrolled before the agents' ramp; the
	// attacks run during the hold.
	var atk *attacker
	if len(cfg.Attack) > 0 {
		if atk, err = newAttacker(ctx, s); err != nil {
			return nil, err
		}
	}
	rep := &report{Agents: cfg.Agents, Rate: cfg.Rate, Batch: cfg.Batch, FileLimit: limit}
	rss := &rssSampler{pid: cfg.ServerPID}
	rep.ServerRSSKiBStart = rss.sample()

	// Enroll (or load) and connect, with EnrollConcurrency workers; each
	// agent's goroutine starts as soon as it has its identity.
	agentCtx, stopAgents := context.WithCancel(ctx)
	defer stopAgents()
	agents := make([]*agent, cfg.Agents)
	var agentsWG sync.WaitGroup
	var enrolled, reused, retries atomic.Int64
	var enrollMu sync.Mutex
	var enrollFirst, enrollLast time.Time
	next := atomic.Int64{}
	var workers sync.WaitGroup
	rampStart := time.Now()
	for range min(cfg.EnrollConcurrency, cfg.Agents) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Agents || agentCtx.Err() != nil {
					return
				}
				id := loadIdentity(cfg.StateDir, i, roots)
				if id != nil {
					reused.Add(1)
				} else {
					began := time.Now()
					var err error
					id, err = s.enroll(agentCtx, i, func() { retries.Add(1) })
					if err != nil {
						if agentCtx.Err() == nil {
							s.errs.add("enroll")
							logger.Warn("enroll", "agent", i, "err", err)
						}
						continue
					}
					ended := time.Now()
					enrollMu.Lock()
					if enrollFirst.IsZero() || began.Before(enrollFirst) {
						enrollFirst = began
					}
					if ended.After(enrollLast) {
						enrollLast = ended
					}
					enrollMu.Unlock()
					enrolled.Add(1)
					if err := saveIdentity(cfg.StateDir, i, id); err != nil {
						s.errs.add("state_write")
						logger.Warn("cache identity", "agent", i, "err", err)
					}
				}
				a := &agent{s: s, i: i, id: id, policyVersion: s.startPolicy}
				conn, err := grpc.NewClient(s.target(), s.dialOptions(i, a.tlsConfig())...)
				if err != nil {
					s.errs.add("dial")
					continue
				}
				a.conn = conn
				agents[i] = a
				agentsWG.Add(1)
				go func() {
					defer agentsWG.Done()
					a.run(agentCtx)
				}()
			}
		}()
	}
	enrollDone := make(chan struct{})
	go func() { workers.Wait(); close(enrollDone) }()

	// Ramp: until every agent is connected.
	rampTimeout := time.NewTimer(cfg.RampTimeout)
	defer rampTimeout.Stop()
	progress := time.NewTicker(100 * time.Millisecond)
	defer progress.Stop()
	lastLog := time.Now()
ramp:
	for s.connected.Load() < int64(cfg.Agents) {
		select {
		case <-ctx.Done():
			break ramp
		case <-rampTimeout.C:
			logger.Warn("not every agent connected within --ramp-timeout; holding with those that did", "connected", s.connected.Load())
			break ramp
		case <-progress.C:
			if time.Since(lastLog) > 5*time.Second {
				logger.Info("ramp", "connected", s.connected.Load(), "enrolled", enrolled.Load(), "reused", reused.Load())
				lastLog = time.Now()
			}
		}
		select {
		case <-enrollDone:
			if started := countStarted(agents); started < cfg.Agents && s.connected.Load() == int64(started) && s.connected.Load() > 0 {
				// Some could not enroll; the rest are up.
				break ramp
			}
		default:
		}
	}
	rep.RampS = seconds(time.Since(rampStart))
	rep.AgentsEnrolled, rep.AgentsReused, rep.EnrollRetries = enrolled.Load(), reused.Load(), retries.Load()
	enrollMu.Lock()
	rep.EnrollPerS = perSecond(enrolled.Load(), enrollLast.Sub(enrollFirst))
	enrollMu.Unlock()
	logger.Info("holding", "connected", s.connected.Load(), "for", cfg.Duration)

	// Hold: events flow; the server's memory is sampled; a policy is
	// published half-way.
	holdStart := time.Now()
	ackedAtStart := s.acked.Load()
	var publishAt time.Time
	var publishedVersion uint64
	publishDone := make(chan struct{})
	if cfg.Publish && ctx.Err() == nil {
		go func() {
			defer close(publishDone)
			select {
			case <-ctx.Done():
				return
			case <-time.After(cfg.Duration / 2):
			}
			cur, err := adm.currentPolicy(ctx)
			if err != nil {
				s.errs.add("publish")
				logger.Warn("read the current policy", "err", err)
				return
			}
			publishAt = time.Now()
			v, err := adm.publish(ctx, republished(cur.Document, publishAt))
			rep.PublishPostMS = roundMS(float64(time.Since(publishAt).Microseconds()))
			if err != nil {
				s.errs.add("publish")
				logger.Warn("publish", "err", err)
				return
			}
			publishedVersion = v
			logger.Info("published", "version", v, "post_ms", rep.PublishPostMS)
		}()
	} else {
		close(publishDone)
	}
	if atk != nil && ctx.Err() == nil {
		atk.start(ctx)
	}
	sampleTick := time.NewTicker(time.Second)
	holdEnd := time.NewTimer(cfg.Duration)
hold:
	for {
		select {
		case <-ctx.Done():
			break hold
		case <-holdEnd.C:
			break hold
		case <-sampleTick.C:
			rss.sample()
		}
	}
	sampleTick.Stop()
	holdEnd.Stop()
	rss.sample()
	rep.ServerRSSKiB = rss.peak
	if kib, err := readRSS(os.Getpid()); err == nil {
		rep.LoadgenRSSKiB = kib
	}
	rep.HoldS = seconds(time.Since(holdStart))
	rep.AgentsConnected = s.connected.Load()
	rep.EventsPerS = perSecond(s.acked.Load()-ackedAtStart, time.Since(holdStart))
	var attackOpenAtEnd map[string]int64
	if atk != nil {
		attackOpenAtEnd = atk.stop()
	}
	if rep.AgentsConnected < int64(cfg.Agents) {
		s.errs.addN("not_connected", int64(cfg.Agents)-rep.AgentsConnected)
	}
	if rep.AgentsConnected > 0 && rep.ServerRSSKiB > rep.ServerRSSKiBStart && rep.ServerRSSKiBStart > 0 {
		rep.ServerKiBPerAgent = float64((rep.ServerRSSKiB-rep.ServerRSSKiBStart)*10/rep.AgentsConnected) / 10
	}
	<-publishDone

	// Drain: no new events; wait for the acknowledgement of the rest.
	close(s.stopGen)
	drainStart := time.Now()
	for s.unacked.Load() > 0 && time.Since(drainStart) < cfg.DrainTimeout && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	rep.DrainS = seconds(time.Since(drainStart))
	stopAgents()
	agentsWG.Wait()
	<-enrollDone

	// What the agents saw.
	for _, a := range agents {
		if a == nil {
			continue
		}
		a.mu.Lock()
		if !a.started {
			a.mu.Unlock()
			continue
		}
		rep.EventsAcked += int64(a.ackedSeq - a.startSeq)
		if a.lastSeq > a.ackedSeq {
			rep.EventsUnacked += int64(a.lastSeq - a.ackedSeq)
			s.errs.add("unacked_at_end")
		}
		if publishedVersion > 0 {
			if a.pushVersion >= publishedVersion {
				s.push.observe(a.pushAt.Sub(publishAt))
				rep.PolicyReceived++
			} else {
				s.errs.add("policy_missing")
			}
		}
		a.mu.Unlock()
	}
	rep.PolicyVersion = publishedVersion
	rep.AckMS, rep.PushMS = s.ack.summary(), s.push.summary()

	// What the server stored.
	if ctx.Err() == nil {
		countBack(ctx, s, adm, agents, rep)
	}
	for _, a := range agents {
		if a != nil {
			a.conn.Close()
		}
	}
	if atk != nil {
		rep.Attack = atk.report(ctx, adm, attackOpenAtEnd)
	}
	rep.Errors, rep.ErrorKinds = s.errs.snapshot()
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	return rep, nil
}

// checkDescriptors refuses a run the open-file limit cannot hold: the
// agents' descriptors first, then the attacks' on top (the agents' are
// reserved: the attacker never takes those). A limit of 0 is unknown.
func checkDescriptors(cfg *config, limit uint64) error {
	agentFDs, attackFDs := uint64(cfg.Agents)+descriptorsSpare, cfg.attackDescriptors()
	if limit > 0 && limit < agentFDs {
		return fmt.Errorf("%d agents need about %d open files, the limit is %d: raise it (ulimit -n %d, as root for more than the hard limit) or run fewer agents",
			cfg.Agents, agentFDs, limit, agentFDs)
	}
	if limit > 0 && limit < agentFDs+attackFDs {
		return fmt.Errorf("%d agents need about %d open files and --attack %s about %d more, the limit is %d: lower --attack-conns (%d), --attack-streams (%d) or --attack-dup-streams (%d), run fewer --agents, or raise the limit (ulimit -n %d)",
			cfg.Agents, agentFDs, strings.Join(cfg.Attack, ","), attackFDs, limit,
			cfg.AttackConns, cfg.AttackStreams, cfg.AttackDupStreams, agentFDs+attackFDs)
	}
	return nil
}

// countBack counts the events the server stored of this run: the
// "events_stored" of each device in the admin API when the server reports
// it, otherwise the last sequence number the server stored, as it answers a
// new stream's hello.
func countBack(ctx context.Context, s *sim, adm *adminClient, agents []*agent, rep *report) {
	var started []*agent
	for _, a := range agents {
		if a != nil && a.started {
			started = append(started, a)
		}
	}
	if len(started) == 0 {
		return
	}
	useAPI := false
	if adm != nil {
		if _, ok, err := adm.eventsStored(ctx, started[0].id.DeviceID); err == nil && ok {
			useAPI = true
		}
	}
	rep.EventsStoredSource = "hello_last_seq"
	if useAPI {
		rep.EventsStoredSource = "api_events_stored"
		if rep.AgentsReused > 0 {
			// The count includes earlier runs' events; the sequence
			// numbers of this run start after startSeq.
			rep.EventsStoredSource = "api_events_stored_minus_start_seq"
		}
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(16, len(started)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(started) {
					return
				}
				a := started[k]
				if useAPI {
					n, ok, err := adm.eventsStored(ctx, a.id.DeviceID)
					if err != nil || !ok {
						s.errs.add("count_back")
						continue
					}
					// A reused device's earlier events (its sequence
					// numbers up to startSeq) were stored by earlier
					// runs; they are not this run's.
					total.Add(n - int64(a.startSeq))
					continue
				}
				seq, err := a.storedSeq(ctx)
				if err != nil {
					s.errs.add("count_back")
					s.logger.Warn("count back", "agent", a.i, "err", err)
					continue
				}
				total.Add(int64(seq) - int64(a.startSeq))
			}
		}()
	}
	wg.Wait()
	rep.EventsStored = total.Load()
}

func countStarted(agents []*agent) int {
	n := 0
	for _, a := range agents {
		if a != nil {
			n++
		}
	}
	return n
}

// readSecret reads a one-line secret file of the data directory.
func readSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w (is --data the server's data directory?)", filepath.Base(path), err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", errors.New(path + " is empty")
	}
	return v, nil
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// rssSampler keeps the peak of the server's resident memory.
type rssSampler struct {
	pid  int
	peak int64
}

func (r *rssSampler) sample() int64 {
	if r.pid == 0 {
		return 0
	}
	kib, err := readRSS(r.pid)
	if err != nil {
		return 0
	}
	r.peak = max(r.peak, kib)
	return kib
}
