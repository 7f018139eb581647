package dispatch

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/store"
)

// A Web Push message's frame carries the encrypted body and the endpoint
// ID, and not the collapse key derived from its Topic header (RFC 8030
// §5.4: the Topic is not forwarded). An FCM message keeps its collapse key.
func TestWebPushFrame(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	wp := &herald.WebPush{EndpointID: "ep-1", Body: "AAEC_-8"}
	payload, err := EncodeBody(Body{WebPush: wp})
	if err != nil {
		t.Fatal(err)
	}
	topicKey := WebPushCollapseKey("ep-1", "news")
	m := &store.Message{Token: "tok", Seq: 7, ID: "id7", ProjectID: "demo", AcceptedAt: at, TTL: time.Minute,
		CollapseKey: topicKey, Payload: payload}
	fcmPayload, _ := EncodeBody(Body{Data: map[string]string{"k": "v"}})
	fcm := &store.Message{Token: "tok", Seq: 8, ID: "id8", ProjectID: "demo", AcceptedAt: at, CollapseKey: "c", Payload: fcmPayload}

	frame := []byte(`{"type":"messages","messages":[`)
	frame = appendMessage(frame, m)
	frame = append(frame, ',')
	frame = appendMessage(frame, fcm)
	frame = append(frame, "]}"...)
	if strings.Contains(string(frame), "news") || strings.Contains(string(frame), topicKey) {
		t.Errorf("the frame shows the Web Push Topic: %s", frame)
	}
	got, err := herald.DecodeFrame(frame)
	if err != nil {
		t.Fatalf("DecodeFrame(%s): %v", frame, err)
	}
	want := []herald.Message{
		{ID: "id7", Seq: 7, Token: "tok", From: "demo", SentAtMillis: at.UnixMilli(), TTLSeconds: 60,
			Priority: herald.PriorityNormal, WebPush: wp},
		{ID: "id8", Seq: 8, Token: "tok", From: "demo", SentAtMillis: at.UnixMilli(), CollapseKey: "c",
			Priority: herald.PriorityNormal, Data: map[string]string{"k": "v"}},
	}
	if diff := cmp.Diff(want, got.Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// Topic replacement is per endpoint: the same Topic on two endpoints gives
// two collapse keys, and neither shows the endpoint ID (a capability).
func TestWebPushCollapseKey(t *testing.T) {
	a, b := WebPushCollapseKey("endpoint-a", "t1"), WebPushCollapseKey("endpoint-b", "t1")
	if a == b {
		t.Errorf("two endpoints share the collapse key %q", a)
	}
	if a != WebPushCollapseKey("endpoint-a", "t1") || a == WebPushCollapseKey("endpoint-a", "t2") {
		t.Errorf("the collapse key is not a function of endpoint and topic")
	}
	if strings.Contains(a, "endpoint-a") || !strings.HasPrefix(a, "webpush:") || !strings.HasSuffix(a, ":t1") {
		t.Errorf("collapse key %q", a)
	}
}
