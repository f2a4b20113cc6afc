package e2e

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestHostileStreamAcrossReplicas: two replicas on one PostgreSQL
// database. A device's stream on replica A ends (Aborted) when the same
// device connects to replica B, and the other way round: a copied device
// certificate cannot hold a stream on every replica. The newest stream
// keeps working, and another device's stream on A is untouched.
func TestHostileStreamAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	root := t.TempDir()
	a := newServerIn(t, root, "a", "--db", dsn)
	b := newServerIn(t, root, "b", "--db", dsn)
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()

	dev := enrollProto(t, a, "hostile-copied")
	bystander := enrollProto(t, a, "hostile-bystander")
	other, _, err := bystander.connect(ctx, t, a, "hostile-bystander")
	if err != nil {
		t.Fatal(err)
	}

	onA, _, err := dev.connect(ctx, t, a, "hostile-copied")
	if err != nil {
		t.Fatal(err)
	}
	// A's stream was announced before its first ack: B's comes after it
	// in the database's order.
	onB, _, err := dev.connect(ctx, t, b, "hostile-copied")
	if err != nil {
		t.Fatal(err)
	}
	if err := streamEnd(onA); status.Code(err) != codes.Aborted {
		t.Fatalf("the device's stream on replica A after it connected to B: %v, want Aborted", err)
	}
	if acked, err := sendBatchAck(onB, []*protoEvent{policyApplied(1)}); err != nil || acked != 1 {
		t.Fatalf("the newest stream, on B: ack %d, %v", acked, err)
	}

	// And back: connecting to A again ends the stream on B.
	onA2, _, err := dev.connect(ctx, t, a, "hostile-copied")
	if err != nil {
		t.Fatal(err)
	}
	if err := streamEnd(onB); status.Code(err) != codes.Aborted {
		t.Fatalf("the device's stream on replica B after it connected to A again: %v, want Aborted", err)
	}
	if acked, err := sendBatchAck(onA2, []*protoEvent{policyApplied(2)}); err != nil || acked != 2 {
		t.Fatalf("the newest stream, on A: ack %d, %v", acked, err)
	}
	if acked, err := sendBatchAck(other, []*protoEvent{policyApplied(1)}); err != nil || acked != 1 {
		t.Fatalf("another device's stream on A: ack %d, %v", acked, err)
	}
	if !logHas(a.log, "replaced by a newer connection of the device on another replica") {
		t.Error("replica A did not log the replacement from B")
	}
}
