package adminapi

import (
	"net/http"
	"net/url"
	"strings"
)

// WrongPortMessage is what a gRPC client (an agent) that reached the
// dashboard and JSON API port is told.
const WrongPortMessage = "this is the vcguard server's dashboard and JSON API port (--http-addr); agents connect to its gRPC port (--grpc-addr, 8443 by default)"

// RefuseGRPC answers gRPC requests with a gRPC status that says which
// port agents use, and passes every other request to next. Without it an
// agent pointed at this port reports a bare "Unimplemented ... 404 page
// not found" from the mux.
func RefuseGRPC(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			next.ServeHTTP(w, r)
			return
		}
		// A Trailers-Only response: status 200, the gRPC status in the
		// headers and no body (the gRPC over HTTP/2 protocol).
		h := w.Header()
		h.Set("Content-Type", "application/grpc")
		h.Set("Grpc-Status", "12") // UNIMPLEMENTED
		h.Set("Grpc-Message", grpcMessage(WrongPortMessage))
		w.WriteHeader(http.StatusOK)
	})
}

// grpcMessage percent-encodes a grpc-message value as the protocol asks
// (bytes outside printable ASCII, and '%').
func grpcMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '%' {
			b.WriteString(url.PathEscape(string(c)))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
