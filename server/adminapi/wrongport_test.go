package adminapi_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// An agent (a real gRPC client) pointed at the HTTPS port is told which
// port to use; ordinary requests still reach the handler.
func TestRefuseGRPCNamesThePort(t *testing.T) {
	srv := httptest.NewUnstartedServer(adminapi.RefuseGRPC(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("dashboard"))
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	conn, err := grpc.NewClient(strings.TrimPrefix(srv.URL, "https://"),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = vcguardv1.NewAgentServiceClient(conn).Enroll(t.Context(), &vcguardv1.EnrollRequest{})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(status.Convert(err).Message(), "--grpc-addr") {
		t.Errorf("Enroll on the HTTPS port: %v, want Unimplemented naming --grpc-addr", err)
	}

	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / = %d", resp.StatusCode)
	}
}
