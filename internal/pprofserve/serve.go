//go:build pprof

package pprofserve

import (
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("VCGUARD_PPROF_ADDR")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("VCGUARD_PPROF_ADDR %q: want a loopback HOST:PORT such as 127.0.0.1:6060", addr)
	}
	go func() { log.Println(http.ListenAndServe(addr, nil)) }()
}
