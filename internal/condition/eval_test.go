package condition

import (
	"go/constant"
	"go/token"
	"go/types"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testPattern matches one topic test as the grammar allows it to be written.
var testPattern = regexp.MustCompile(`'([^']*)'[ \t\r\n]*in[ \t\r\n]+topics`)

// referenceEval evaluates the accepted condition s for a device subscribed
// to the topics in set, independently of the parser under test: it
// replaces every topic test by true or false and lets the Go type checker
// evaluate what is left as a Go constant expression. Go's "!", "&&" and
// "||" have the precedence and grouping the condition grammar specifies.
func referenceEval(t testing.TB, s string, set []string) bool {
	t.Helper()
	expr := testPattern.ReplaceAllStringFunc(s, func(m string) string {
		if slices.Contains(set, testPattern.FindStringSubmatch(m)[1]) {
			return "true"
		}
		return "false"
	})
	// A newline after "true" would end a Go statement; make it a space.
	expr = strings.NewReplacer("\n", " ", "\r", " ").Replace(expr)
	tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, expr)
	if err != nil || tv.Value == nil || tv.Value.Kind() != constant.Bool {
		t.Fatalf("reference evaluation of %q as %q: %v", s, expr, err)
	}
	return constant.BoolVal(tv.Value)
}

// subsets returns every subset of topics, plus each with an unrelated topic.
func subsets(topics []string) [][]string {
	var out [][]string
	for mask := range 1 << len(topics) {
		var set []string
		for i, topic := range topics {
			if mask&(1<<i) != 0 {
				set = append(set, topic)
			}
		}
		out = append(out, set, append(slices.Clip(set), "unrelated"))
	}
	return out
}

func contains(set []string) func(string) bool {
	return func(topic string) bool { return slices.Contains(set, topic) }
}

func TestEvalTruthTables(t *testing.T) {
	a, b, c, d, e := test("a"), test("b"), test("c"), test("d"), test("e")
	for _, s := range []string{
		a,
		"!" + a,
		"!!" + a,
		a + " && " + b,
		a + " || " + b,
		a + " || " + b + " && " + c,
		a + " && " + b + " || " + c,
		"(" + a + " || " + b + ") && " + c,
		"!" + a + " && " + b,
		"!(" + a + " && " + b + ")",
		"!" + a + " || !" + b + " && " + c,
		a + " && (" + b + " || !(" + c + "))", // issue 4
		"'TopicA' in topics && ('TopicB' in topics || 'TopicC' in topics)", // FCM documentation
		a + " && !" + a,
		a + " || " + a + " && !" + a,
		a + " || " + b + " && " + c + " || " + d + " && !" + e,
		"!(" + a + " || " + b + ") && (" + c + " || !(" + d + " && " + e + "))",
		"((" + a + "||" + b + ")&&(" + c + "||" + d + "))||!" + e,
	} {
		cond, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		canonical, err := Parse(cond.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", cond.String(), err)
		}
		for _, set := range subsets(cond.Topics()) {
			want := referenceEval(t, s, set)
			if got := cond.Eval(contains(set)); got != want {
				t.Errorf("%s\n  on %q = %v, want %v", s, set, got, want)
			}
			if got := canonical.Eval(contains(set)); got != want {
				t.Errorf("canonical %s\n  on %q = %v, want %v", cond, set, got, want)
			}
		}
	}
}

func TestEvalExamples(t *testing.T) {
	for _, tc := range []struct {
		cond string
		set  []string
		want bool
	}{
		// fcm.md §1.4: a negation matches devices subscribed to nothing.
		{"!('a' in topics)", nil, true},
		{"!('a' in topics)", []string{"b"}, true},
		{"!('a' in topics)", []string{"a"}, false},
		{"'a' in topics || 'b' in topics && 'c' in topics", []string{"a"}, true},  // a || (b && c)
		{"'a' in topics || 'b' in topics && 'c' in topics", []string{"c"}, false}, // not (a || b) && c
		{"'a' in topics && ('b' in topics || !('c' in topics))", []string{"a"}, true},
		{"'a' in topics && ('b' in topics || !('c' in topics))", []string{"a", "c"}, false},
		{"'a' in topics && ('b' in topics || !('c' in topics))", []string{"a", "b", "c"}, true},
	} {
		c, err := Parse(tc.cond)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.cond, err)
		}
		if got := c.Eval(contains(tc.set)); got != tc.want {
			t.Errorf("%s on %q = %v, want %v", tc.cond, tc.set, got, tc.want)
		}
	}
}

func TestEvalStopsWhenTheResultIsKnown(t *testing.T) {
	c, err := Parse("'a' in topics || 'b' in topics && 'c' in topics")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	c.Eval(func(topic string) bool {
		asked = append(asked, topic)
		return topic == "a"
	})
	if want := []string{"a"}; !slices.Equal(asked, want) {
		t.Errorf("asked about %q, want %q", asked, want)
	}
}

func TestZeroCondition(t *testing.T) {
	var c Condition
	if c.Eval(func(string) bool { return true }) {
		t.Error("zero Condition matched")
	}
	if s := c.String(); s != "" {
		t.Errorf("zero Condition prints as %q", s)
	}
	if topics := c.Topics(); topics != nil {
		t.Errorf("zero Condition has topics %q", topics)
	}
	if !c.Equal(&Condition{}) {
		t.Error("zero Conditions are not Equal")
	}
	if c.Equal(nil) || !(*Condition)(nil).Equal(nil) {
		t.Error("Equal mishandles nil")
	}
}

func TestEvalDoesNotAllocate(t *testing.T) {
	c, set := fiveTopics(t)
	has := contains(set)
	if n := testing.AllocsPerRun(100, func() { c.Eval(has) }); n != 0 {
		t.Errorf("Eval allocates %v times per run", n)
	}
}

// TestConcurrentUse lets the race detector watch one Condition used by
// several goroutines at once.
func TestConcurrentUse(t *testing.T) {
	c, set := fiveTopics(t)
	want := c.Eval(contains(set))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if c.Eval(contains(set)) != want || c.String() == "" || len(c.Topics()) != 5 {
					t.Error("results differ under concurrent use")
					return
				}
			}
		})
	}
	wg.Wait()
}

func fiveTopics(t testing.TB) (*Condition, []string) {
	c, err := Parse("'news' in topics && ('sports' in topics || !('weather' in topics)) || 'offers' in topics && !('muted' in topics)")
	if err != nil {
		t.Fatal(err)
	}
	return c, []string{"news", "weather", "offers"}
}

func BenchmarkEval(b *testing.B) {
	c, set := fiveTopics(b)
	has := contains(set)
	b.ReportAllocs()
	for b.Loop() {
		c.Eval(has)
	}
}

// BenchmarkParse shows that parsing is linear: the cost per byte does not
// grow when the input grows a thousandfold (MB/s rises instead, as the
// fixed cost of a call is spread over more bytes). Whitespace and long
// topic names are the only ways an accepted condition can grow.
func BenchmarkParse(b *testing.B) {
	const cond = "'news' in topics && ('sports' in topics || !('weather' in topics)) || 'offers' in topics && !('muted' in topics)"
	for _, bc := range []struct{ name, s string }{
		{"five-topics", cond},
		{"1KiB-space", cond + strings.Repeat(" ", 1<<10)},
		{"1MiB-space", cond + strings.Repeat(" ", 1<<20)},
		{"900B-topic", test(strings.Repeat("x", MaxTopicLength))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			for b.Loop() {
				if _, err := Parse(bc.s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
