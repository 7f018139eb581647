package fcm

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want durationValue
		ok   bool
	}{
		{"0s", durationValue{}, true},
		{"3s", durationValue{seconds: 3}, true},
		{"3.5s", durationValue{seconds: 3, nanos: 500_000_000}, true},
		{"3.500000000s", durationValue{seconds: 3, nanos: 500_000_000}, true},
		{"0.000000001s", durationValue{nanos: 1}, true},
		{"-1.5s", durationValue{negative: true, seconds: 1, nanos: 500_000_000}, true},
		{"007s", durationValue{seconds: 7}, true},
		{"315576000000s", durationValue{seconds: maxDurationSeconds}, true},
		{"315576000000.000000001s", durationValue{}, false},
		{"315576000001s", durationValue{}, false},
		{"", durationValue{}, false},
		{"s", durationValue{}, false},
		{"3", durationValue{}, false},
		{".5s", durationValue{}, false},
		{"3.s", durationValue{}, false},
		{"3.0000000001s", durationValue{}, false},
		{"+3s", durationValue{}, false},
		{"3ss", durationValue{}, false},
		{"3 s", durationValue{}, false},
		{"1e3s", durationValue{}, false},
		{"3ms", durationValue{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if ok != tt.ok {
			t.Errorf("parseDuration(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if ok {
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(durationValue{})); diff != "" {
				t.Errorf("parseDuration(%q) (-want +got):\n%s", tt.in, diff)
			}
		}
	}
}

func TestAppendDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{3 * time.Second, "3s"},
		{3500 * time.Millisecond, "3.500s"},
		{time.Second + time.Microsecond, "1.000001s"},
		{time.Nanosecond, "0.000000001s"},
		{MaxTTL, "2419200s"},
		{-1500 * time.Millisecond, "-1.500s"},
	}
	for _, tt := range tests {
		if got := string(appendDuration(nil, tt.in)); got != tt.want {
			t.Errorf("appendDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"é😀<>&", `"é😀<>&"`},
		{"a\xffb", `"a\ufffdb"`},
	}
	for _, tt := range tests {
		if got := string(appendString(nil, tt.in)); got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
