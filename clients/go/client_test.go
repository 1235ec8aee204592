package healthai_test

import (
	"context"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"

	healthai "healthai.internal/go"
	healthaiv1 "healthai.internal/go/healthai/v1"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f-]{36}$`)

// live dials the real server that tests/e2e/test_clients_e2e.py started (HEALTHAI_ADDR, HEALTHAI_TOKEN).
func live(t *testing.T) *healthai.Client {
	t.Helper()
	addr := os.Getenv("HEALTHAI_ADDR")
	if addr == "" || os.Getenv("HEALTHAI_TOKEN") == "" {
		t.Fatal("set HEALTHAI_ADDR and HEALTHAI_TOKEN (tests/e2e/test_clients_e2e.py does)")
	}
	client, err := healthai.Dial(addr, healthai.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func TestUnaryExtractionReturnsVitalsAndAuditID(t *testing.T) {
	answer, err := live(t).Extract(context.Background(), "HR 72, BP 118/76", "go-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if answer.GetNoteId() != "go-1" || !uuidPattern.MatchString(answer.GetAuditId()) {
		t.Fatalf("note id %q, audit id %q", answer.GetNoteId(), answer.GetAuditId())
	}
	codes := map[string]bool{}
	for _, vital := range answer.GetData().GetVitalSigns() {
		codes[vital.GetLoinc().GetCode()] = true
	}
	for _, want := range []string{"8867-4", "8480-6", "8462-4"} {
		if !codes[want] {
			t.Errorf("LOINC %s missing from %v", want, codes)
		}
	}
}

func TestBidiStreamAnswersEveryNoteAndSurvivesABadOne(t *testing.T) {
	stream, err := live(t).Extraction.StreamExtractClinicalData(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"HR 72", "   ", "History of hypertension."} {
		if err := stream.Send(&healthaiv1.StreamExtractClinicalDataRequest{NoteId: "s-" + string(rune('0'+i)), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		answer, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kind := "result"
		if answer.GetError() != nil {
			kind = "error:" + codes.Code(answer.GetError().GetCode()).String()
		}
		got = append(got, answer.GetNoteId()+"="+kind)
	}
	want := "s-0=result s-1=error:InvalidArgument s-2=result"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

func TestBlankNoteIsInvalidArgumentWithDetails(t *testing.T) {
	_, err := live(t).Extract(context.Background(), "   ", "", false)
	failure := healthai.FromError(err)
	if failure == nil || failure.Code != codes.InvalidArgument || failure.Reason != "INVALID_ARGUMENT" {
		t.Fatalf("got %#v", failure)
	}
	if !uuidPattern.MatchString(failure.AuditID) {
		t.Errorf("audit id %q", failure.AuditID)
	}
	found := false
	for _, v := range failure.FieldViolations {
		found = found || v.Field == "text"
	}
	if !found {
		t.Errorf("no violation of field text in %v", failure.FieldViolations)
	}
}

func TestBadTokenIsUnauthenticated(t *testing.T) {
	client, err := healthai.Dial(os.Getenv("HEALTHAI_ADDR"), healthai.Options{Token: "not-a-jwt"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Extract(context.Background(), "HR 72", "", false)
	if failure := healthai.FromError(err); failure == nil || failure.Code != codes.Unauthenticated {
		t.Fatalf("got %v", err)
	}
}

func TestSpansCountCodePointsOnAstralAndZWJText(t *testing.T) {
	text := "👩‍⚕️ Pt 𝔸: 😀😀 history of hypertension; HR 72, BP 118/76. 👨‍👩‍👧 denies chest pain."
	answer, err := live(t).Extract(context.Background(), text, "", false)
	if err != nil {
		t.Fatal(err)
	}
	var spans []*healthaiv1.TextSpan
	for _, c := range answer.GetData().GetConditions() {
		spans = append(spans, c.GetSpan())
	}
	for _, v := range answer.GetData().GetVitalSigns() {
		spans = append(spans, v.GetSpan())
	}
	if len(spans) < 4 {
		t.Fatalf("expected conditions and vitals, got %d spans", len(spans))
	}
	for _, span := range spans {
		start, end, err := healthai.ByteOffsets(text, span.GetStart(), span.GetEnd())
		if err != nil {
			t.Fatal(err)
		}
		if text[start:end] != span.GetText() {
			t.Errorf("span %d-%d: %q, want %q", span.GetStart(), span.GetEnd(), text[start:end], span.GetText())
		}
	}
}

// A server that fails the first calls UNAVAILABLE with RetryInfo, as the real one does while draining.
type flakyServer struct {
	healthaiv1.UnimplementedClinicalExtractionServiceServer
	failures int32
	calls    int32
	delay    time.Duration
}

func (s *flakyServer) ExtractClinicalData(ctx context.Context, req *healthaiv1.ExtractClinicalDataRequest) (*healthaiv1.ExtractClinicalDataResponse, error) {
	if atomic.AddInt32(&s.calls, 1) <= s.failures {
		st, _ := status.New(codes.Unavailable, "shutting down").WithDetails(&errdetails.RetryInfo{
			RetryDelay: &durationpb.Duration{Nanos: int32(s.delay.Nanoseconds())},
		})
		return nil, st.Err()
	}
	return &healthaiv1.ExtractClinicalDataResponse{NoteId: req.GetNoteId()}, nil
}

func flaky(t *testing.T, server *flakyServer) *healthai.Client {
	t.Helper()
	listener := bufconn.Listen(1 << 20)
	grpcServer := grpc.NewServer()
	healthaiv1.RegisterClinicalExtractionServiceServer(grpcServer, server)
	go grpcServer.Serve(listener)
	t.Cleanup(grpcServer.Stop)
	client, err := healthai.Dial("bufnet", healthai.Options{
		Token: "t",
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			return listener.Dial()
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func TestUnavailableIsRetriedAfterRetryInfo(t *testing.T) {
	server := &flakyServer{failures: 2, delay: 60 * time.Millisecond}
	started := time.Now()
	answer, err := flaky(t, server).Extract(context.Background(), "HR 72", "n-1", false)
	if err != nil || answer.GetNoteId() != "n-1" {
		t.Fatalf("answer %v, error %v", answer, err)
	}
	if server.calls != 3 || time.Since(started) < 110*time.Millisecond {
		t.Fatalf("%d calls in %v", server.calls, time.Since(started))
	}
}

func TestRetryNeverSleepsPastTheDeadline(t *testing.T) {
	server := &flakyServer{failures: 1, delay: 800 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := flaky(t, server).Extract(ctx, "HR 72", "", false)
	failure := healthai.FromError(err)
	if failure == nil || failure.Code != codes.Unavailable || failure.RetryDelay != 800*time.Millisecond || server.calls != 1 {
		t.Fatalf("got %v after %d calls", err, server.calls)
	}
}

func TestByteOffsets(t *testing.T) {
	text := "𝔸😀 HR 72"
	start, end, err := healthai.ByteOffsets(text, 6, 8)
	if err != nil || text[start:end] != "72" {
		t.Fatalf("%d-%d %v", start, end, err)
	}
	if _, _, err := healthai.ByteOffsets(text, 0, 9); err == nil {
		t.Fatal("a span past the end must be an error")
	}
}
