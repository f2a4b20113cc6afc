package devices

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckDarwin runs one real check: it must load the frameworks and
// answer without error on any Mac (an empty answer is fine).
func TestCheckDarwin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	us, err := New(Config{}).Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, u := range us {
		t.Logf("%+v", u)
		if u.Source != SourceCoreAudio && u.Source != SourceCoreMediaIO {
			t.Errorf("source %q", u.Source)
		}
	}
}

func TestMacAPIProcess(t *testing.T) {
	api, err := loadMacAPI()
	if err != nil {
		t.Fatal(err)
	}
	path, uid, alive := api.process(int32(os.Getpid()))
	exe, _ := os.Executable()
	if !alive || uid != os.Getuid() || path == "" || filepath.Base(path) != filepath.Base(exe) {
		t.Errorf("process(self) = %q, %d, %v; executable %q, uid %d", path, uid, alive, exe, os.Getuid())
	}
	if _, _, alive := api.process(1 << 30); alive {
		t.Error("a PID no process has is alive")
	}
	if _, err := api.cameraDevices(); err != nil {
		t.Logf("CoreMediaIO (may need camera permission): %v", err)
	}
}

func TestPropertyError(t *testing.T) {
	t.Parallel()
	e := &propertyError{"CoreAudio", 1, propertyAddress{selProcessObjectList, scopeGlobal, elementMain}, int32(fourCCOf("who?"))}
	if got, want := e.Error(), "CoreAudio: read 'prs#' (scope 'glob') of object 1: kAudioHardwareUnknownPropertyError ('who?')"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
