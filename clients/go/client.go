// Package healthai is a small Go client for the HealthAI gRPC API: the generated stubs in
// healthai/v1 plus a bearer token, a default deadline, retries of UNAVAILABLE that honour
// RetryInfo, typed errors from the status details, and code-point span conversion.
package healthai

import (
	"context"
	"math/rand"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	healthaiv1 "healthai.internal/go/healthai/v1"
)

// Options configure a Client; the zero value of each field picks the default.
type Options struct {
	// Token is the bearer token; default $HEALTHAI_TOKEN.
	Token string
	// Timeout is the deadline of a call whose context has none; default 30 s.
	Timeout time.Duration
	// MaxAttempts counts the first attempt (1 = no retries); default 4.
	MaxAttempts int
	// InitialBackoff doubles per attempt (with jitter) when the server sent no RetryInfo; default 100 ms.
	InitialBackoff time.Duration
	// MaxRetryDelay: a RetryInfo delay above it is not waited for; default 30 s.
	MaxRetryDelay time.Duration
	// DialOptions are appended to the client's own (use them for TLS).
	DialOptions []grpc.DialOption
}

// Client holds one connection and the generated clients of every service.
type Client struct {
	conn             *grpc.ClientConn
	Extraction       healthaiv1.ClinicalExtractionServiceClient
	Analysis         healthaiv1.NoteAnalysisServiceClient
	Deidentification healthaiv1.DeidentificationServiceClient
	Usage            healthaiv1.UsageServiceClient
}

// Dial connects to addr ("host:port"), plaintext unless DialOptions say otherwise.
func Dial(addr string, options Options) (*Client, error) {
	options = withDefaults(options)
	dialOptions := []grpc.DialOption{
		// Debian's grpc-go 1.33 predates insecure.NewCredentials(); WithInsecure still exists today.
		grpc.WithInsecure(),
		grpc.WithChainUnaryInterceptor(deadlineInterceptor(options.Timeout), retryInterceptor(options)),
		grpc.WithChainStreamInterceptor(streamDeadlineInterceptor(options.Timeout)),
	}
	if options.Token != "" {
		dialOptions = append(dialOptions, grpc.WithPerRPCCredentials(bearerToken(options.Token)))
	}
	conn, err := grpc.Dial(addr, append(dialOptions, options.DialOptions...)...)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn:             conn,
		Extraction:       healthaiv1.NewClinicalExtractionServiceClient(conn),
		Analysis:         healthaiv1.NewNoteAnalysisServiceClient(conn),
		Deidentification: healthaiv1.NewDeidentificationServiceClient(conn),
		Usage:            healthaiv1.NewUsageServiceClient(conn),
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Extract runs ExtractClinicalData on one note; failures are *Error.
func (c *Client) Extract(ctx context.Context, text, noteID string, includeFHIR bool) (*healthaiv1.ExtractClinicalDataResponse, error) {
	answer, err := c.Extraction.ExtractClinicalData(ctx, &healthaiv1.ExtractClinicalDataRequest{
		NoteId:  noteID,
		Text:    text,
		Options: &healthaiv1.ExtractionOptions{IncludeFhir: includeFHIR},
	})
	if err != nil {
		return nil, FromError(err)
	}
	return answer, nil
}

func withDefaults(o Options) Options {
	if o.Token == "" {
		o.Token = os.Getenv("HEALTHAI_TOKEN")
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 4
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = 100 * time.Millisecond
	}
	if o.MaxRetryDelay == 0 {
		o.MaxRetryDelay = 30 * time.Second
	}
	return o
}

type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false so the dev server on loopback works; use TLS elsewhere.
func (bearerToken) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = bearerToken("")

func deadlineInterceptor(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func streamDeadlineInterceptor(timeout time.Duration) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if _, ok := ctx.Deadline(); !ok {
			// The stream outlives this function: its deadline is released when it ends.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			stream, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				cancel()
				return nil, err
			}
			go func() { <-stream.Context().Done(); cancel() }()
			return stream, nil
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}

// retryInterceptor retries UNAVAILABLE after the server's RetryInfo delay (else an exponential
// backoff with full jitter), never past the call's deadline. Streams are not retried.
func retryInterceptor(o Options) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		for attempt := 1; ; attempt++ {
			err := invoker(ctx, method, req, reply, cc, opts...)
			failure := FromError(err)
			if err == nil || failure.Code != codes.Unavailable || attempt >= o.MaxAttempts {
				return err
			}
			delay := failure.RetryDelay
			if delay > o.MaxRetryDelay {
				return err
			}
			if delay == 0 {
				delay = time.Duration(rand.Int63n(int64(o.InitialBackoff) << (attempt - 1)))
			}
			if deadline, ok := ctx.Deadline(); ok && time.Now().Add(delay).After(deadline) {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(delay):
			}
		}
	}
}
