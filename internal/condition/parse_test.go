package condition

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// test writes the topic test for name, to keep long tables readable.
func test(name string) string { return "'" + name + "' in topics" }

func TestParseCanonicalForm(t *testing.T) {
	a, b, c := test("a"), test("b"), test("c")
	for _, tc := range []struct{ name, in, want string }{
		{"single test", a, a},
		{"&& binds tighter than || on the right", a + "||" + b + "&&" + c, a + " || (" + b + " && " + c + ")"},
		{"&& binds tighter than || on the left", a + " && " + b + " || " + c, "(" + a + " && " + b + ") || " + c},
		{"&& groups to the left", a + " && " + b + " && " + c, a + " && " + b + " && " + c},
		{"|| groups to the left", a + " || " + b + " || " + c, a + " || " + b + " || " + c},
		{"redundant left grouping dropped", "(" + a + " && " + b + ") && " + c, a + " && " + b + " && " + c},
		{"right grouping kept", a + " && (" + b + " && " + c + ")", a + " && (" + b + " && " + c + ")"},
		{"right || grouping kept", a + " || (" + b + " || " + c + ")", a + " || (" + b + " || " + c + ")"},
		{"parentheses override precedence", "(" + a + " || " + b + ") && " + c, "(" + a + " || " + b + ") && " + c},
		{"! binds tighter than &&", "!" + a + " && " + b, "!(" + a + ") && " + b},
		{"! binds tighter than ||", "!" + a + " || " + b, "!(" + a + ") || " + b},
		{"! of a group", "!(" + a + " && " + b + ")", "!(" + a + " && " + b + ")"},
		{"double negation kept", "!!" + a, "!!(" + a + ")"},
		{"double negation in parentheses", "!(!(" + a + "))", "!!(" + a + ")"},
		{"redundant parentheses", "(((" + a + ")))", a},
		{"issue 4 example", a + "&&(" + b + "||!(" + c + "))", a + " && (" + b + " || !(" + c + "))"},
		{"no space before in", "'a'in topics", a},
		{"any whitespace", " \t'a'\n in \r\n\ttopics\t&&\n\n'b' in  topics  ", a + " && " + b},
		{"no space around operators", "!(" + a + ")&&!(" + b + ")||" + c, "(!(" + a + ") && !(" + b + ")) || " + c},
		{"every topic character", "'AZaz09-_.~%' in topics", "'AZaz09-_.~%' in topics"},
		{"longest topic name", test(strings.Repeat("x", MaxTopicLength)), test(strings.Repeat("x", MaxTopicLength))},
		{"five topics", a + "||" + b + "||" + c + "||" + test("d") + "||" + test("e"),
			a + " || " + b + " || " + c + " || " + test("d") + " || " + test("e")},
		{"deepest parentheses", strings.Repeat("(", MaxDepth) + a + strings.Repeat(")", MaxDepth), a},
		{"deepest negation", strings.Repeat("!", MaxDepth-1) + a, strings.Repeat("!", MaxDepth-1) + "(" + a + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := c.String(); got != tc.want {
				t.Errorf("Parse(%q).String()\n got %s\nwant %s", tc.in, got, tc.want)
			}
			again, err := Parse(c.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			if !again.Equal(c) {
				t.Errorf("Parse(%q) is not Equal to the original", c.String())
			}
		})
	}
}

func TestParseGrouping(t *testing.T) {
	a, b, c := test("a"), test("b"), test("c")
	for _, tc := range []struct {
		x, y  string
		equal bool
	}{
		{a + " || " + b + " && " + c, a + " || (" + b + " && " + c + ")", true},
		{a + " || " + b + " && " + c, "(" + a + " || " + b + ") && " + c, false},
		{a + " && " + b + " || " + c, "(" + a + " && " + b + ") || " + c, true},
		{a + " && " + b + " || " + c, a + " && (" + b + " || " + c + ")", false},
		{a + " && " + b + " && " + c, "(" + a + " && " + b + ") && " + c, true},
		{a + " && " + b + " && " + c, a + " && (" + b + " && " + c + ")", false},
		{a + " || " + b + " || " + c, "(" + a + " || " + b + ") || " + c, true},
		{"!" + a + " && " + b, "(!" + a + ") && " + b, true},
		{"!" + a + " && " + b, "!(" + a + " && " + b + ")", false},
		{"!" + a + " || " + b, "!(" + a + " || " + b + ")", false},
		{"!!" + a, a, false},
		{a + " || " + b, b + " || " + a, false},
		{a + " && " + a, a, false},
	} {
		x, err := Parse(tc.x)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.x, err)
		}
		y, err := Parse(tc.y)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.y, err)
		}
		if got := x.Equal(y); got != tc.equal {
			t.Errorf("%s\n  Equal %s\n  = %v, want %v", tc.x, tc.y, got, tc.equal)
		}
	}
}

func TestParseTopics(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{test("a"), []string{"a"}},
		{test("b") + " && (" + test("a") + " || !(" + test("b") + "))", []string{"b", "a"}},
		{test("x") + " || " + test("x") + " || " + test("x"), []string{"x"}},
		{"!!(" + test("c") + ") && " + test("b") + " && " + test("a"), []string{"c", "b", "a"}},
	} {
		c, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		got := c.Topics()
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Parse(%q).Topics() (-want +got):\n%s", tc.in, diff)
		}
		got[0] = "changed" // the caller owns the slice
		if c.Topics()[0] == "changed" {
			t.Errorf("Parse(%q).Topics() returned the condition's own slice", tc.in)
		}
	}
}

func TestParseErrors(t *testing.T) {
	a := test("a")
	six := strings.Join([]string{test("a"), test("b"), test("c"), test("d"), test("e"), test("f")}, " || ")
	for _, tc := range []struct {
		name, in string
		want     string // the whole Error(); its leading offset is checked against Offset
	}{
		{"empty", "", `at 0: empty condition`},
		{"only whitespace", " \t\r\n", `at 0: empty condition`},
		{"test without in topics at the end", "'news'", `at 6: expected "in topics" after 'news', found end of input`},
		{"test without in topics", "'news' && " + a, `at 7: expected "in topics" after 'news', found "&&"`},
		{"in without topics", "'news' in", `at 9: expected "topics" after "in", found end of input`},
		{"in and topics run together", "'news' intopics", `at 7: expected "in topics" after 'news', found "intopics"`},
		{"topics runs into a word", "'news' in topicsx", `at 10: expected "topics" after "in", found "topicsx"`},
		{"in followed by a parenthesis", "'news' in(topics)", `at 9: expected "topics" after "in", found "("`},
		{"upper-case keyword", "'news' IN topics", `at 7: expected "in topics" after 'news', found "IN"`},
		{"long topic in the message", "'" + strings.Repeat("n", 30) + "' on",
			`at 33: expected "in topics" after 'nnnnnnnnnnnnnnnnnnnnnnnn...', found "on"`},
		{"&& at the end", a + " &&", `at 16: expected 'topic' in topics, "!" or "(" after "&&", found end of input`},
		{"|| at the end", a + " ||", `at 16: expected 'topic' in topics, "!" or "(" after "||", found end of input`},
		{"two operators", a + " && || " + a, `at 17: expected 'topic' in topics, "!" or "(" after "&&", found "||"`},
		{"leading operator", "&& " + a, `at 0: expected 'topic' in topics, "!" or "(", found "&&"`},
		{"bare word", "news", `at 0: expected 'topic' in topics, "!" or "(", found "news"`},
		{"! at the end", a + " || !", `at 18: expected 'topic' in topics, "!" or "(" after "!", found end of input`},
		{"empty parentheses", "()", `at 1: expected 'topic' in topics, "!" or "(" after "(", found ")"`},
		{"non-ASCII operand", "é", `at 0: expected 'topic' in topics, "!" or "(", found "é"`},
		{"missing operator", a + " " + test("b"), `at 14: expected "&&", "||" or end of input, found "'b'"`},
		{"single &", a + " & " + test("b"), `at 14: expected "&&", "||" or end of input, found "&"`},
		{"single |", a + "|" + test("b"), `at 13: expected "&&", "||" or end of input, found "|"`},
		{"and as a word", a + " and " + test("b"), `at 14: expected "&&", "||" or end of input, found "and"`},
		{"long token in the message", a + " '" + strings.Repeat("b", 40) + "'",
			`at 14: expected "&&", "||" or end of input, found "'bbbbbbbbbbbbbbbbbbbbbbb..."`},
		{"unclosed parenthesis", "(" + a, `at 0: unbalanced parenthesis: "(" is never closed`},
		{"outer parenthesis unclosed", "(((" + a + ")", `at 1: unbalanced parenthesis: "(" is never closed`},
		{"unclosed after operands", "'news' in topics || 'b' in topics && ('c' in topics",
			`at 37: unbalanced parenthesis: "(" is never closed`},
		{"extra closing parenthesis", a + ")", `at 13: unbalanced parenthesis: ")" has no matching "("`},
		{"missing operator in parentheses", "(" + a + " " + test("b") + ")",
			`at 15: expected "&&", "||" or ")", found "'b'"`},
		{"double quotes", `"a" in topics`, `at 0: topic names are quoted with ', not "`},
		{"double quotes after an operator", a + ` && "b" in topics`, `at 17: topic names are quoted with ', not "`},
		{"unterminated topic name", "'a in topics", `at 0: unterminated topic name: no closing '`},
		{"empty topic name", a + " || '' in topics", `at 17: empty topic name`},
		{"space in topic name", "'a b' in topics", `at 2: invalid topic name "a b": ' ' is not allowed, use letters, digits and -_.~%`},
		{"tab in topic name", "'a\tb' in topics", `at 2: invalid topic name "a\tb": '\t' is not allowed, use letters, digits and -_.~%`},
		{"slash in topic name", "'a/b' in topics", `at 2: invalid topic name "a/b": '/' is not allowed, use letters, digits and -_.~%`},
		{"non-ASCII topic name", "'né' in topics", `at 2: invalid topic name "né": 'é' is not allowed, use letters, digits and -_.~%`},
		{"invalid UTF-8 in topic name", "'n\xff' in topics", `at 2: invalid topic name "n\xff": byte 0xff is not allowed, use letters, digits and -_.~%`},
		{"/topics/ prefix", "'/topics/news' in topics", `at 1: invalid topic name "/topics/news": leave out the /topics/ prefix`},
		{"topic name too long", test(strings.Repeat("x", MaxTopicLength+1)), `at 1: topic name is 901 bytes long, at most 900 are allowed`},
		{"six topics", six, `at 85: too many topics: at most 5 are allowed, repetitions included`},
		{"one topic six times", strings.Repeat(a+" && ", 5) + a, `at 85: too many topics: at most 5 are allowed, repetitions included`},
		{"parentheses too deep", strings.Repeat("(", MaxDepth+1) + a + strings.Repeat(")", MaxDepth+1),
			`at 32: nested too deeply: at most 32 levels of "(" and "!" are allowed`},
		{"negations too deep", strings.Repeat("!", MaxDepth+1) + a,
			`at 32: nested too deeply: at most 32 levels of "(" and "!" are allowed`},
		// String would write "!!...!('a' in topics)", one level deeper than
		// the input, and that form must parse too.
		{"negations too deep as String writes them", strings.Repeat("!", MaxDepth) + a,
			`at 0: nested too deeply: at most 32 levels of "(" and "!" are allowed`},
		// Likewise String adds parentheses around the && inside the ||.
		// Here 32 levels as written ("!" 30 times, "(", "!") become 34 in
		// String's form: "(" around the "&&" and "!(" around the last test.
		// The second "!" from the left is the first to exceed the limit.
		{"grouping too deep as String writes it", strings.Repeat("!", 30) + "(" + a + " || " + test("b") + " && !" + test("c") + ")",
			`at 1: nested too deeply: at most 32 levels of "(" and "!" are allowed`},
		{"|| too deep as String writes it", a + " || " + strings.Repeat("!", MaxDepth-1) + test("b") + " && " + test("c"),
			`at 14: nested too deeply: at most 32 levels of "(" and "!" are allowed`},
		{"&& too deep as String writes it", "(" + strings.Repeat("!", MaxDepth-1) + test("b") + " || " + test("c") + ") && " + a,
			`at 64: nested too deeply: at most 32 levels of "(" and "!" are allowed`},
		{"shortened on a rune boundary", a + " '" + strings.Repeat("é", 15) + "'",
			`at 14: expected "&&", "||" or end of input, found "'ééééééééééé..."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %s", tc.in, c, tc.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is a %T, want *SyntaxError", tc.in, err, err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Parse(%q) error\n got %s\nwant %s", tc.in, got, tc.want)
			}
			if se.Offset < 0 || se.Offset > len(tc.in) {
				t.Errorf("Offset %d outside the input of %d bytes", se.Offset, len(tc.in))
			}
			if c != nil {
				t.Errorf("Parse(%q) returned a condition with its error", tc.in)
			}
		})
	}
}
