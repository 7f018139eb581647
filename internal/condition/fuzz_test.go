package condition

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics; that every rejection is a
// *SyntaxError pointing into the input; and that every accepted condition
// has at most MaxTopics topics, prints a canonical form that parses to an
// Equal condition and prints the same again, and evaluates like the input
// (by the reference evaluator) on every subset of its topics.
func FuzzParse(f *testing.F) {
	a := test("a")
	for _, seed := range []string{
		a,
		"'a' in topics && ('b' in topics || !('c' in topics))",
		"'TopicA' in topics && ('TopicB' in topics || 'TopicC' in topics)",
		"'a'in topics||'b' in topics&&'c' in topics",
		" \t'a'\n in \r\n\ttopics\t&&\n\n'b' in  topics  ",
		"!!(" + a + ") && !" + a,
		"(((" + a + ")))",
		"'AZaz09-_.~%' in topics || 'x' in topics || 'y' in topics || 'z' in topics || 'w' in topics",
		strings.Repeat("!", 30) + "(" + a + " || " + test("b") + " && !" + test("c") + ")",
		strings.Repeat("(", MaxDepth) + a + strings.Repeat(")", MaxDepth),
		a + " || " + strings.Repeat("!", MaxDepth-1) + test("b") + " && " + test("c"),
		"(" + strings.Repeat("!", MaxDepth-1) + test("b") + " || " + test("c") + ") && " + a,
		// rejected
		"",
		"'news'",
		"'news' in topicsx",
		a + " &&",
		a + " & " + a,
		"(" + a,
		a + ")",
		`"a" in topics`,
		"'a in topics",
		"'' in topics",
		"'a b' in topics",
		"'n\xff' in topics",
		"'/topics/a' in topics",
		strings.Repeat(a+" && ", 5) + a,
		strings.Repeat("!", MaxDepth) + a,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %v is a %T, want *SyntaxError", s, err, err)
			}
			if se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("Parse(%q): offset %d outside the input of %d bytes", s, se.Offset, len(s))
			}
			if c != nil {
				t.Fatalf("Parse(%q) returned a condition with its error", s)
			}
			return
		}
		topics := c.Topics()
		if len(topics) == 0 || len(topics) > MaxTopics {
			t.Fatalf("Parse(%q) has %d topics", s, len(topics))
		}
		canonical := c.String()
		again, err := Parse(canonical)
		if err != nil {
			t.Fatalf("Parse(%q) prints %q, which does not parse: %v", s, canonical, err)
		}
		if !again.Equal(c) {
			t.Fatalf("Parse(%q) prints %q, which parses to a different condition", s, canonical)
		}
		if s2 := again.String(); s2 != canonical {
			t.Fatalf("canonical form %q prints as %q", canonical, s2)
		}
		for _, set := range subsets(topics) {
			want := referenceEval(t, s, set)
			if got := c.Eval(contains(set)); got != want {
				t.Fatalf("Parse(%q).Eval(%q) = %v, reference says %v", s, set, got, want)
			}
			if got := again.Eval(contains(set)); got != want {
				t.Fatalf("Parse(%q).Eval(%q) = %v, reference says %v", canonical, set, got, want)
			}
		}
	})
}
