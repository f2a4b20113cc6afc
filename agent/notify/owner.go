package notify

import "errors"

// ErrNoOwner is returned by ProcessOwner when the process does not exist
// (any more) or its owner cannot be read.
var ErrNoOwner = errors.New("process owner unknown")
