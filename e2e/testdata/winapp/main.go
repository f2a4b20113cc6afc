// Command winapp stands in for a Windows app (installed as Zoom.exe) in the
// Wine end-to-end tests: it runs until it is killed. With -child EXE it
// first starts EXE (another copy of itself, as an app starts its helper)
// and keeps it as its child.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"
)

func main() {
	child := flag.String("child", "", "executable to start as a child first")
	flag.Parse()
	if *child != "" {
		if err := exec.Command(*child).Start(); err != nil {
			fmt.Fprintln(os.Stderr, "winapp:", err)
			os.Exit(1)
		}
	}
	time.Sleep(24 * time.Hour)
}
