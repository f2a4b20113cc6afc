package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// MaxPolicyComment bounds a change comment, in bytes.
const MaxPolicyComment = 1000

// ErrUnchanged is the refusal (errors.Is) of a publish or rollback whose
// document is identical to the version in force; the error names that
// version.
var ErrUnchanged = store.ErrUnchanged

// ValidatePolicy checks a document as publishing would, without publishing
// it.
func (s *Service) ValidatePolicy(document []byte) (*policies.Policy, error) {
	if len(document) > MaxPolicySize {
		return nil, fmt.Errorf("%w: policy is %d bytes, at most %d are accepted", ErrInvalid, len(document), MaxPolicySize)
	}
	p, err := policies.ParsePolicy("policy", document, s.CurrentCatalog())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return p, nil
}

// ValidateComment checks a change comment and returns it without the white
// space around it: required (it is the history's answer to "why"), at most
// MaxPolicyComment bytes of UTF-8 text.
func ValidateComment(comment string) (string, error) {
	comment = strings.TrimSpace(comment)
	switch {
	case comment == "":
		return "", fmt.Errorf("%w: a change comment is required: say what changes and why, e.g. \"allow Jitsi for radiology\"", ErrInvalid)
	case len(comment) > MaxPolicyComment:
		return "", fmt.Errorf("%w: change comment is %d bytes, at most %d are accepted", ErrInvalid, len(comment), MaxPolicyComment)
	case !utf8.ValidString(comment):
		return "", fmt.Errorf("%w: change comment is not UTF-8 text", ErrInvalid)
	case strings.ContainsFunc(comment, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return "", fmt.Errorf("%w: change comment contains control characters", ErrInvalid)
	}
	return comment, nil
}

// PublishPolicy validates a policy document against the catalog, stores it
// as a new signed version with its change comment and audit entry, and
// pushes it to every connected agent. A document identical to the version
// in force is refused (ErrUnchanged).
func (s *Service) PublishPolicy(ctx context.Context, by Actor, document []byte, comment string) (store.PolicyVersion, error) {
	return s.publish(ctx, by, document, comment, "policy_publish", by.Subject, nil)
}

// RollbackPolicy publishes the document of an earlier version again, as a
// new version: agents refuse older version numbers, so going back is going
// forward with old content. Going back to the content in force is refused
// (ErrUnchanged).
func (s *Service) RollbackPolicy(ctx context.Context, by Actor, version uint64, comment string) (store.PolicyVersion, error) {
	old, err := s.Store.Policy(ctx, version)
	if err != nil {
		return store.PolicyVersion{}, err
	}
	v, err := s.publish(ctx, by, old.Document, comment, "policy_rollback", fmt.Sprintf("%s (rollback to version %d)", by.Subject, old.Version),
		map[string]any{"content_of_version": old.Version})
	if errors.Is(err, ErrUnchanged) {
		return v, fmt.Errorf("roll back to version %d: %w", version, err)
	}
	return v, err
}

func (s *Service) publish(ctx context.Context, by Actor, document []byte, comment, action, publishedBy string, detail map[string]any) (store.PolicyVersion, error) {
	// Against the newest catalog, which another replica may have published.
	if _, err := s.RefreshCatalog(ctx); err != nil {
		return store.PolicyVersion{}, fmt.Errorf("load the current catalog: %w", err)
	}
	p, err := s.ValidatePolicy(document)
	if err != nil {
		return store.PolicyVersion{}, err
	}
	// After the document, so a broken one is named first.
	if comment, err = ValidateComment(comment); err != nil {
		return store.PolicyVersion{}, err
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["name"] = p.Name
	detail["comment"] = comment
	e, err := s.entry(by, action, "", detail)
	if err != nil {
		return store.PolicyVersion{}, err
	}
	storeDone := s.Metrics.StoreTimer(metrics.OpPublish)
	v, err := s.Store.PublishPolicy(ctx, store.NewPolicy{Name: p.Name, Document: document, By: publishedBy, Comment: comment, At: s.Now()},
		func(version uint64, doc []byte) []byte {
			return policies.SignPolicy(s.PolicyKey, version, doc)
		}, e)
	storeDone()
	if err != nil {
		return v, err
	}
	s.logger().Info("policy published", "version", v.Version, "name", v.Name, "by", by.Subject)
	if s.Hub != nil {
		s.Hub.Publish(agentapi.SignedPolicy(v))
	}
	return v, nil
}

// withRollout sets a view's rollout counts.
func withRollout(p apitypes.Policy, r store.Rollout) apitypes.Policy {
	p.Applied, p.Total, p.OnVersion = r.Applied(p.Version), r.Total, r.On(p.Version)
	return p
}

// Policies lists every policy version, without documents, with its
// rollout counts.
func (s *Service) Policies(ctx context.Context) ([]apitypes.Policy, error) {
	ps, err := s.Store.Policies(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.Store.PolicyRollout(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]apitypes.Policy, 0, len(ps))
	for _, p := range ps {
		out = append(out, withRollout(PolicyView(p, false), r))
	}
	return out, nil
}

// Policy reads one version with its document and rollout counts.
func (s *Service) Policy(ctx context.Context, version uint64) (apitypes.Policy, error) {
	p, err := s.Store.Policy(ctx, version)
	if err != nil {
		return apitypes.Policy{}, err
	}
	r, err := s.Store.PolicyRollout(ctx)
	if err != nil {
		return apitypes.Policy{}, err
	}
	return withRollout(PolicyView(p, true), r), nil
}

// CurrentPolicy reads the version in force with its document and rollout
// counts; ErrNotFound before the first is published.
func (s *Service) CurrentPolicy(ctx context.Context) (apitypes.Policy, error) {
	p, err := s.Store.CurrentPolicy(ctx)
	if err != nil {
		return apitypes.Policy{}, err
	}
	r, err := s.Store.PolicyRollout(ctx)
	if err != nil {
		return apitypes.Policy{}, err
	}
	return withRollout(PolicyView(p, true), r), nil
}
