package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/uplink"
)

func TestStoreEnrollSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		value     string
		fromStdin bool
		stdin     string
		want      string // stored; "" when refused
		wantErr   string
	}{
		{name: "--set", value: "vcg_enroll_abc", want: "vcg_enroll_abc\n"},
		{name: "--stdin", fromStdin: true, stdin: "vcg_enroll_abc\r\nignored\n", want: "vcg_enroll_abc\n"},
		{name: "--stdin without a newline", fromStdin: true, stdin: "vcg_enroll_abc", want: "vcg_enroll_abc\n"},
		{name: "both", value: "x", fromStdin: true, wantErr: "not both"},
		{name: "neither", wantErr: "give --set VALUE or --stdin"},
		{name: "empty stdin", fromStdin: true, wantErr: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state := filepath.Join(t.TempDir(), "state")
			var out bytes.Buffer
			err := storeEnrollSecret(state, tc.value, tc.fromStdin, strings.NewReader(tc.stdin), &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if uplink.HasStoredSecret(state) {
					t.Error("a refused secret was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(state, uplink.SecretFile))
			if err != nil || string(data) != tc.want {
				t.Errorf("stored %q, %v; want %q", data, err, tc.want)
			}
			if strings.Contains(out.String(), "vcg_enroll_abc") {
				t.Errorf("the secret was printed: %s", out.String())
			}
		})
	}
}

// A stored secret satisfies enrollment's checks; its flags are not passed
// on to a service command line.
func TestEnrollSecretCommand(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	c := &config{Server: "vcguard.example:8443", CAFingerprint: fixtureFP, StateDir: state}
	if err := c.validateEnroll(); err == nil || !strings.Contains(err.Error(), "enroll-secret --set") {
		t.Errorf("no secret anywhere: %v", err)
	}
	if err := uplink.StoreSecret(state, "vcg_enroll_abc"); err != nil {
		t.Fatal(err)
	}
	if err := c.validateEnroll(); err != nil {
		t.Errorf("with a stored secret: %v", err)
	}
	var value string
	cfg, err := loadConfig("enroll-secret", []string{"--set", "vcg_enroll_abc", "--state-dir", state}, configInputs{
		DefaultFile: noDefault(t), Extra: func(fs *flag.FlagSet) { fs.StringVar(&value, "set", "", "") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if value != "vcg_enroll_abc" || strings.Contains(strings.Join(cfg.flagArgs, " "), "vcg_enroll_abc") {
		t.Errorf("--set = %q, flagArgs %v", value, cfg.flagArgs)
	}
}
