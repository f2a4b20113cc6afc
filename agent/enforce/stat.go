package enforce

import "time"

// sameStart reports whether a start time matches a key's (Unix ms) within
// slack.
func sameStart(keyMilli int64, started time.Time, slack time.Duration) bool {
	d := started.UnixMilli() - keyMilli
	return d >= -slack.Milliseconds() && d <= slack.Milliseconds()
}
