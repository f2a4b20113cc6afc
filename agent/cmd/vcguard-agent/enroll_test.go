package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vcguard/vcguard/agent/uplink"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTransientEnrollError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"server not answering", fmt.Errorf("enroll at h:1: %w", status.Error(codes.Unavailable, "connection refused")), true},
		{"timed out", status.Error(codes.DeadlineExceeded, "deadline"), true},
		{"server busy", status.Error(codes.ResourceExhausted, "too many enrollments"), true},
		{"secret refused", &uplink.EnrollError{Msg: "refused the enrollment secret"}, false},
		{"server not trusted", fmt.Errorf("x: %w", &uplink.EnrollError{Msg: "not trusted"}), false},
		{"bad request", status.Error(codes.InvalidArgument, "device"), false},
		{"local failure", errors.New("create state directory: permission denied"), false},
	} {
		if got := transientEnrollError(tc.err); got != tc.want {
			t.Errorf("%s: transientEnrollError(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
