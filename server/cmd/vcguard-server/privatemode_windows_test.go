package main

import (
	"os"
	"testing"
)

// wantPrivateMode checks nothing on Windows: who may read a file is said by
// its ACL (inherited from its directory), not by a mode, and Go reports
// mode 0666 for every writable file.
func wantPrivateMode(*testing.T, string, os.FileInfo) {}
