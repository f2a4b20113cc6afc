package admin

import (
	"context"

	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
)

// The reads of the fleet views: the overview's breakdowns and what the
// devices filter offers.

// FleetBreakdown is what the overview shows besides its counters.
type FleetBreakdown struct {
	// ByOS and ByGroup count devices, online and compliant per OS and
	// per group ("" is no group); ByApp the devices each running app runs
	// on.
	ByOS, ByGroup []store.Breakdown
	ByApp         []store.AppBreakdown
	// ByVerdict counts devices by the worst verdict of their running
	// apps ("" for none running), worst first.
	ByVerdict []store.VerdictCount
	// Findings are the running apps of an unapproved verdict on most
	// devices.
	Findings []store.Finding
	// NotReporting are the devices silent longest (not revoked),
	// NotReportingTotal how many are silent in all.
	NotReporting      []apitypes.DeviceSummary
	NotReportingTotal int
}

// MaxBreakdownRows bounds each list of a FleetBreakdown.
const MaxBreakdownRows = store.MaxBreakdownRows

// Breakdown reads the overview's breakdowns; top bounds the findings and
// silent devices (1 to MaxBreakdownRows).
func (s *Service) Breakdown(ctx context.Context, top int) (FleetBreakdown, error) {
	var b FleetBreakdown
	now := s.Now()
	var err error
	if b.ByOS, err = s.Store.ComplianceBy(ctx, "os", now, s.Stale()); err != nil {
		return b, err
	}
	if b.ByGroup, err = s.Store.ComplianceBy(ctx, "group", now, s.Stale()); err != nil {
		return b, err
	}
	if b.ByApp, err = s.Store.RunningByApp(ctx); err != nil {
		return b, err
	}
	if b.ByVerdict, err = s.Store.DevicesByVerdict(ctx); err != nil {
		return b, err
	}
	if b.Findings, err = s.Store.TopFindings(ctx, top); err != nil {
		return b, err
	}
	silent, total, err := s.Store.NotReporting(ctx, now, s.Stale(), top)
	if err != nil {
		return b, err
	}
	b.NotReportingTotal = total
	for _, d := range silent {
		b.NotReporting = append(b.NotReporting, s.DeviceSummaryView(store.DeviceSummary{Device: d}))
	}
	return b, nil
}

// AppFacet is an app the device filter offers.
type AppFacet = store.AppFacet

// AppFacets lists the apps any device runs or ran (at most 200).
func (s *Service) AppFacets(ctx context.Context) ([]AppFacet, error) {
	return s.Store.AppFacets(ctx)
}

// DeviceSortKeys are the columns a device list sorts by.
var DeviceSortKeys = store.DeviceSortKeys

// ValidDeviceSort checks a device list's sort (a key of DeviceSortKeys,
// with a leading "-" for descending; "" for the default).
func ValidDeviceSort(sort string) error {
	_, err := store.ParseDeviceSort(sort)
	return err
}

// Breakdown counts the devices of one OS or group.
type Breakdown = store.Breakdown
