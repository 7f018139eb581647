package jsonscan

import (
	"encoding/json"
	"testing"
)

// Each value the Scanner accepts decodes as encoding/json decodes it;
// what it refuses, encoding/json may still accept (the callers fall back).
func TestScalarsAgreeWithEncodingJSON(t *testing.T) {
	for _, in := range []string{`0`, `7`, ` 18446744073709551615`, `18446744073709551616`, `-1`, `01`, `1.0`, `1e3`, `-0`, `-9223372036854775808`, `9223372036854775808`} {
		if v, ok := (&Scanner{B: []byte(in)}).Uint(); ok {
			var want uint64
			if err := json.Unmarshal([]byte(in), &want); err != nil || want != v {
				t.Errorf("Uint(%s) = %d; encoding/json: %d, %v", in, v, want, err)
			}
		}
		if v, ok := (&Scanner{B: []byte(in)}).Int(); ok {
			var want int64
			if err := json.Unmarshal([]byte(in), &want); err != nil || want != v {
				t.Errorf("Int(%s) = %d; encoding/json: %d, %v", in, v, want, err)
			}
		}
	}
	for _, in := range []string{`"plain"`, `"ünï"`, `""`, `"a\"b"`, `"\u0041"`, "\"\xff\"", "\"a\x01\"", `"unterminated`} {
		if v, ok := (&Scanner{B: []byte(in)}).String(); ok {
			var want string
			if err := json.Unmarshal([]byte(in), &want); err != nil || want != v {
				t.Errorf("String(%s) = %q; encoding/json: %q, %v", in, v, want, err)
			}
		}
	}
	if _, ok := (&Scanner{B: []byte(`"a\"b"`)}).String(); ok {
		t.Error("a string with an escape was accepted: it must fall back")
	}
	raw, ok := (&Scanner{B: []byte(` {"a":"}{","b":[{}]} ,`)}).RawObject()
	if !ok || string(raw) != `{"a":"}{","b":[{}]}` {
		t.Errorf("RawObject = %q, %v", raw, ok)
	}
}

// AppendString writes each string byte for byte as encoding/json does.
func FuzzAppendStringAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain-token_1:abc", "ünï", "a\"b\\c", "<&>", "\x00\x1f\x7f", "\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	})
}
