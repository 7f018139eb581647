package condition

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A SyntaxError reports why [Parse] rejected a condition and where.
type SyntaxError struct {
	// Offset is the byte offset in the input at which the problem was
	// found; len(input) means at the end of the input.
	Offset int
	// Msg says what is wrong or what was expected at Offset.
	Msg string
}

// Error returns "at OFFSET: MSG", e.g.
// `at 14: expected "in topics" after 'news', found "&&"`.
func (e *SyntaxError) Error() string {
	return "at " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Parse parses a condition written in the grammar of the package
// documentation. Every error is a *SyntaxError for the first problem in
// the input. Parse runs in time linear in the length of the input.
func Parse(s string) (*Condition, error) {
	p := &parser{s: s}
	p.skipSpace()
	if p.pos == len(s) {
		return nil, &SyntaxError{Offset: 0, Msg: "empty condition"}
	}
	if _, err := p.or(""); err != nil {
		return nil, err
	}
	p.skipSpace()
	switch {
	case p.pos == len(s):
	case s[p.pos] == ')':
		return nil, p.errorf(p.pos, `unbalanced parenthesis: ")" has no matching "("`)
	default:
		return nil, p.errorf(p.pos, `expected "&&", "||" or end of input, found %s`, p.found())
	}
	return &Condition{nodes: p.nodes, topics: p.topics}, nil
}

// parser is a recursive-descent parser with one function per grammar rule.
// Each rule appends its node after those of its operands, which yields
// Condition.nodes in post-order, and returns the node's index.
type parser struct {
	s      string
	pos    int
	depth  int // "(" and "!" currently open
	tests  int // topic tests so far, repetitions included
	nodes  []node
	height []int // per node: nesting of "(" and "!" inside it as String writes it
	topics []string
}

// or parses: and ( "||" and )*. after names the token before the first
// operand, for error messages.
func (p *parser) or(after string) (int32, error) {
	x, err := p.and(after)
	if err != nil {
		return 0, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "||") {
			return x, nil
		}
		at := p.pos
		p.pos += 2
		y, err := p.and(`"||"`)
		if err != nil {
			return 0, err
		}
		if x, err = p.binary(opOr, x, y, at); err != nil {
			return 0, err
		}
	}
}

// and parses: unary ( "&&" unary )*.
func (p *parser) and(after string) (int32, error) {
	x, err := p.unary(after)
	if err != nil {
		return 0, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "&&") {
			return x, nil
		}
		at := p.pos
		p.pos += 2
		y, err := p.unary(`"&&"`)
		if err != nil {
			return 0, err
		}
		if x, err = p.binary(opAnd, x, y, at); err != nil {
			return 0, err
		}
	}
}

// unary parses: "!" unary | "(" or ")" | test.
func (p *parser) unary(after string) (int32, error) {
	p.skipSpace()
	at := p.pos
	if at == len(p.s) {
		return 0, p.expectedOperand(after)
	}
	switch p.s[at] {
	case '!':
		if err := p.enter(at); err != nil {
			return 0, err
		}
		p.pos++
		x, err := p.unary(`"!"`)
		if err != nil {
			return 0, err
		}
		p.depth--
		h := 1 + p.height[x]
		if p.nodes[x].op != opNot {
			h++ // String writes "!(x)"
		}
		return p.add(node{op: opNot, x: x}, h, at)
	case '(':
		if err := p.enter(at); err != nil {
			return 0, err
		}
		p.pos++
		x, err := p.or(`"("`)
		if err != nil {
			return 0, err
		}
		p.skipSpace()
		switch {
		case p.pos == len(p.s):
			return 0, p.errorf(at, `unbalanced parenthesis: "(" is never closed`)
		case p.s[p.pos] != ')':
			return 0, p.errorf(p.pos, `expected "&&", "||" or ")", found %s`, p.found())
		}
		p.pos++
		p.depth--
		return x, nil
	case '\'':
		return p.test()
	case '"':
		return 0, p.errorf(at, `topic names are quoted with ', not "`)
	default:
		return 0, p.expectedOperand(after)
	}
}

// test parses: "'" topic "'" "in" "topics", the opening quote at p.pos.
func (p *parser) test() (int32, error) {
	open := p.pos
	if p.tests++; p.tests > MaxTopics {
		return 0, p.errorf(open, "too many topics: at most %d are allowed, repetitions included", MaxTopics)
	}
	n := strings.IndexByte(p.s[open+1:], '\'')
	if n < 0 {
		return 0, p.errorf(open, "unterminated topic name: no closing '")
	}
	name := p.s[open+1 : open+1+n]
	if err := p.checkName(name, open+1); err != nil {
		return 0, err
	}
	p.pos = open + 1 + n + 1
	p.skipSpace()
	if p.word() != "in" {
		return 0, p.errorf(p.pos, `expected "in topics" after '%s', found %s`, shorten(name), p.found())
	}
	p.pos += len("in")
	p.skipSpace()
	if p.word() != "topics" {
		return 0, p.errorf(p.pos, `expected "topics" after "in", found %s`, p.found())
	}
	p.pos += len("topics")
	i := indexOf(p.topics, name)
	if i < 0 {
		i = len(p.topics)
		p.topics = append(p.topics, name)
	}
	return p.add(node{op: opTest, topic: uint8(i)}, 0, open)
}

// checkName validates a topic name found at offset off of the input.
func (p *parser) checkName(name string, off int) error {
	switch {
	case name == "":
		return p.errorf(off-1, "empty topic name")
	case strings.HasPrefix(name, "/topics/"):
		return p.errorf(off, "invalid topic name %q: leave out the /topics/ prefix", shorten(name))
	case len(name) > MaxTopicLength:
		return p.errorf(off, "topic name is %d bytes long, at most %d are allowed", len(name), MaxTopicLength)
	}
	for i := 0; i < len(name); i++ {
		if topicByte(name[i]) {
			continue
		}
		what := fmt.Sprintf("byte 0x%02x", name[i])
		if r, size := utf8.DecodeRuneInString(name[i:]); r != utf8.RuneError || size > 1 {
			what = strconv.QuoteRune(r)
		}
		return p.errorf(off+i, "invalid topic name %q: %s is not allowed, use letters, digits and -_.~%%",
			shorten(name), what)
	}
	return nil
}

// binary adds x op y, the operator found at offset at.
func (p *parser) binary(o op, x, y int32, at int) (int32, error) {
	hx, hy := p.height[x], p.height[y]
	if needsParens(o, p.nodes[x].op, false) {
		hx++
	}
	if needsParens(o, p.nodes[y].op, true) {
		hy++
	}
	return p.add(node{op: o, x: x, y: y}, max(hx, hy), at)
}

// add appends n, whose canonical nesting is h, and returns its index. It
// rejects n if String would write it nested more than MaxDepth deep, so
// that every accepted condition's canonical form parses again.
func (p *parser) add(n node, h int, at int) (int32, error) {
	if h > MaxDepth {
		return 0, p.tooDeep(at)
	}
	p.nodes = append(p.nodes, n)
	p.height = append(p.height, h)
	return int32(len(p.nodes) - 1), nil
}

// enter opens a "(" or "!" at offset at.
func (p *parser) enter(at int) error {
	if p.depth++; p.depth > MaxDepth {
		return p.tooDeep(at)
	}
	return nil
}

func (p *parser) tooDeep(at int) error {
	return p.errorf(at, `nested too deeply: at most %d levels of "(" and "!" are allowed`, MaxDepth)
}

func (p *parser) expectedOperand(after string) error {
	if after != "" {
		after = " after " + after
	}
	return p.errorf(p.pos, `expected 'topic' in topics, "!" or "("%s, found %s`, after, p.found())
}

func (p *parser) errorf(at int, format string, args ...any) error {
	return &SyntaxError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// word returns the run of letters, digits and underscores at p.pos, so
// that "intopics" and "topicsx" are read as one word, not a keyword.
func (p *parser) word() string {
	i := p.pos
	for i < len(p.s) && wordByte(p.s[i]) {
		i++
	}
	return p.s[p.pos:i]
}

// found describes the token at p.pos for an error message: a quoted,
// shortened copy of it, or "end of input".
func (p *parser) found() string {
	rest := p.s[p.pos:]
	var tok string
	switch {
	case rest == "":
		return "end of input"
	case strings.HasPrefix(rest, "&&"), strings.HasPrefix(rest, "||"):
		tok = rest[:2]
	case rest[0] == '\'':
		tok = rest
		if n := strings.IndexByte(rest[1:], '\''); n >= 0 {
			tok = rest[:n+2]
		}
	case wordByte(rest[0]):
		tok = p.word()
	default:
		_, size := utf8.DecodeRuneInString(rest)
		tok = rest[:size]
	}
	return strconv.Quote(shorten(tok))
}

// shorten cuts s to at most 24 bytes, on a rune boundary, marking the cut.
func shorten(s string) string {
	const limit = 24
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

func indexOf(list []string, s string) int {
	for i, t := range list {
		if t == s {
			return i
		}
	}
	return -1
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func wordByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_'
}

// topicByte reports whether b may appear in a topic name: [a-zA-Z0-9-_.~%].
func topicByte(b byte) bool {
	return wordByte(b) || b == '-' || b == '.' || b == '~' || b == '%'
}
