package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vcguard/vcguard/agent/uplink"
)

// cmdEnrollSecret stores the enrollment secret in the state directory,
// readable by root (SYSTEM) only, for the enrollment that follows; the
// agent deletes it once enrolled. The MSI runs it as SYSTEM with the
// ENROLL_SECRET property; a package script or an admin may run it too.
// --stdin keeps the secret off the command line, where other users'
// process listings could see it.
func cmdEnrollSecret(args []string, stdin io.Reader, stdout io.Writer) error {
	var value string
	var fromStdin bool
	c, err := loadConfig("enroll-secret", args, configInputs{
		DefaultFile: defaultConfigFile, Managed: osManagedStore(), Getenv: os.Getenv,
		Extra: func(fs *flag.FlagSet) {
			fs.StringVar(&value, "set", "", "the enrollment secret (visible in process listings while this runs: prefer --stdin)")
			fs.BoolVar(&fromStdin, "stdin", false, "read the enrollment secret from the first line of standard input")
		},
	})
	if err != nil {
		return err
	}
	return storeEnrollSecret(c.StateDir, value, fromStdin, stdin, stdout)
}

func storeEnrollSecret(stateDir, value string, fromStdin bool, stdin io.Reader, stdout io.Writer) error {
	switch {
	case value != "" && fromStdin:
		return errors.New("enroll-secret: give --set VALUE or --stdin, not both")
	case fromStdin:
		line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("enroll-secret: read standard input: %w", err)
		}
		value = line
	case value == "":
		return errors.New("enroll-secret: give --set VALUE or --stdin")
	}
	if err := uplink.StoreSecret(stateDir, value); err != nil {
		return fmt.Errorf("enroll-secret: %w", err)
	}
	fmt.Fprintf(stdout, "enrollment secret stored in %s; it is deleted once the agent has enrolled\n", stateDir)
	return nil
}
