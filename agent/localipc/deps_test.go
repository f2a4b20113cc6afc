package localipc

import (
	"strings"
	"testing"

	"github.com/vcguard/vcguard/internal/importcheck"
)

// The IPC knows nothing of camera detection or of notices' wording: the
// agent wires camera reports to its devices watcher (Server.OnMedia), and
// notify imports this package, not the other way round. Every file counts,
// whatever its build tag.
func TestIPCImportsNeitherDevicesNorNotify(t *testing.T) {
	t.Parallel()
	importcheck.Forbid(t, func(path string) string {
		if strings.HasSuffix(path, "/agent/devices") || strings.HasSuffix(path, "/agent/notify") {
			return "the IPC must not know devices or notify"
		}
		return ""
	})
}
