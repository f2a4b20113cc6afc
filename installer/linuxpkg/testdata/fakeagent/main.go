// Command fakeagent stands in for vcguard-agent in the dpkg test: a small
// real program whose packages build fast, even under the race detector. It
// answers "version" as the agent does.
package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println("vcguard-agent", version)
		return
	}
	fmt.Fprintln(os.Stderr, "fakeagent: only \"version\" is known")
	os.Exit(2)
}
