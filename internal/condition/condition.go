// Package condition parses and evaluates FCM topic conditions, the
// boolean expressions over topic subscriptions that a send may target
// instead of a single token or topic:
//
//	'a' in topics && ('b' in topics || !('c' in topics))
//
// # Grammar
//
//	condition := or
//	or        := and ( "||" and )*
//	and       := unary ( "&&" unary )*
//	unary     := "!" unary | "(" or ")" | test
//	test      := "'" topic "'" "in" "topics"
//	topic     := [a-zA-Z0-9-_.~%]{1,900}
//
// Precedence, tightest first: "!", then "&&", then "||"; both binary
// operators group to the left, so "a || b && c" means "a || (b && c)" and
// "a && b && c" means "(a && b) && c". (Firebase's documentation only says
// conditions are evaluated "from left to right" after parentheses; Herald
// follows issue 4 and the usual convention of C, Go and JavaScript. String
// parenthesises every "&&" inside "||", so a canonical condition means the
// same under either reading.)
//
// Whitespace (space, tab, CR, LF) may appear between any two tokens and is
// required only between "in" and "topics". The keywords are lower case.
//
// Decisions where Firebase's documentation is silent, each made on the
// strict side so that it can be relaxed later without breaking anyone:
//   - Topic names are quoted with single quotes only; a double quote gets an
//     error that says so.
//   - A topic name in a condition is the bare name: "/topics/news" is
//     rejected with a hint, although the "topic" field of a send accepts
//     that prefix (the Admin SDKs strip it there, not in conditions).
//   - The MaxTopics limit counts occurrences, not distinct topics: Firebase
//     states it as "up to five topics in your conditional expression", and
//     counting every test also bounds the work of evaluating one.
//   - Nesting of "(" and "!" is limited to MaxDepth, to bound the recursion
//     of the parser on hostile input.
//
// # Evaluation
//
// A condition is evaluated against one device's topic set by
// [Condition.Eval], which does not allocate. "!('a' in topics)" is true for
// a device subscribed to no topic at all, so a fan-out cannot restrict
// itself to the subscribers of the condition's topics when the condition
// holds for the empty set; ask Eval with a function that always answers
// false to find out.
package condition

import "strings"

// MaxTopics is the number of topic tests a condition may contain,
// repetitions included. FCM allows five topics per condition; whether it
// counts repetitions is not documented (see the package documentation).
const MaxTopics = 5

// MaxDepth is how deeply "(" and "!" may nest, both as written and as
// [Condition.String] writes the condition (which may add parentheses).
// A condition over at most MaxTopics topics never needs more than a few
// levels; the limit exists to bound the parser's recursion.
const MaxDepth = 32

// MaxTopicLength is the longest topic name, in bytes, that FCM accepts.
const MaxTopicLength = 900

// A Condition is a parsed topic condition. Conditions come from [Parse];
// they are immutable and safe for concurrent use. The zero Condition
// contains no test: it matches nothing and prints as "".
type Condition struct {
	// nodes holds the syntax tree in post-order: the operands of a node
	// come before it and the root is last. Building it in one fixed order
	// makes structural equality plain slice equality.
	nodes []node
	// topics holds the distinct topic names in order of first appearance;
	// a test refers to its topic by index.
	topics []string
}

// op is the kind of a node.
type op uint8

const (
	opTest op = iota // topic in topics; topic indexes Condition.topics
	opNot            // !x
	opAnd            // x && y
	opOr             // x || y
)

// node is one operator or test. x and y index Condition.nodes.
type node struct {
	op    op
	topic uint8 // fits: a condition names at most MaxTopics topics
	x, y  int32
}

// Topics returns the distinct topic names the condition tests, in order
// of first appearance. The caller may modify the returned slice.
func (c *Condition) Topics() []string {
	if len(c.topics) == 0 {
		return nil
	}
	return append([]string(nil), c.topics...)
}

// Eval reports whether a device whose subscriptions are described by has
// satisfies the condition. has answers whether the device is subscribed to
// the topic it is given; Eval stops as soon as the result is known, so has
// may be called for fewer topics than the condition names, and more than
// once for a topic the condition repeats. Eval does not allocate.
func (c *Condition) Eval(has func(topic string) bool) bool {
	if len(c.nodes) == 0 {
		return false
	}
	return c.eval(int32(len(c.nodes)-1), has)
}

func (c *Condition) eval(i int32, has func(string) bool) bool {
	n := &c.nodes[i]
	switch n.op {
	case opTest:
		return has(c.topics[n.topic])
	case opNot:
		return !c.eval(n.x, has)
	case opAnd:
		return c.eval(n.x, has) && c.eval(n.y, has)
	default: // opOr
		return c.eval(n.x, has) || c.eval(n.y, has)
	}
}

// Equal reports whether c and d have the same syntax tree: they test the
// same topics in the same places with the same operators and grouping.
// Redundant parentheses and whitespace do not count; logically equivalent
// but differently written conditions ("a && b", "b && a") are not equal.
func (c *Condition) Equal(d *Condition) bool {
	if c == nil || d == nil {
		return c == d
	}
	if len(c.nodes) != len(d.nodes) || len(c.topics) != len(d.topics) {
		return false
	}
	for i := range c.nodes {
		if c.nodes[i] != d.nodes[i] {
			return false
		}
	}
	for i := range c.topics {
		if c.topics[i] != d.topics[i] {
			return false
		}
	}
	return true
}

// String returns the canonical form of the condition: single spaces
// around binary operators, one space in "in topics", the operand of "!"
// always in parentheses (as in FCM's documentation: "!('a' in topics)"),
// and parentheses wherever grouping differs from plain left-to-right
// reading or mixes "&&" with "||". Parse(c.String()) is Equal to c.
func (c *Condition) String() string {
	if len(c.nodes) == 0 {
		return ""
	}
	var b strings.Builder
	c.write(&b, int32(len(c.nodes)-1))
	return b.String()
}

func (c *Condition) write(b *strings.Builder, i int32) {
	n := &c.nodes[i]
	switch n.op {
	case opTest:
		b.WriteByte('\'')
		b.WriteString(c.topics[n.topic])
		b.WriteString("' in topics")
	case opNot:
		b.WriteByte('!')
		c.writeGrouped(b, n.x, c.nodes[n.x].op != opNot)
	default:
		c.writeGrouped(b, n.x, needsParens(n.op, c.nodes[n.x].op, false))
		if n.op == opAnd {
			b.WriteString(" && ")
		} else {
			b.WriteString(" || ")
		}
		c.writeGrouped(b, n.y, needsParens(n.op, c.nodes[n.y].op, true))
	}
}

func (c *Condition) writeGrouped(b *strings.Builder, i int32, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	c.write(b, i)
	if parens {
		b.WriteByte(')')
	}
}

// needsParens reports whether String parenthesises the operand child of
// the binary operator parent. A binary right operand always needs them,
// because both operators group to the left; a binary left operand needs
// them when it is the other operator: "&&" under "||" for readers who do
// not assume precedence, "||" under "&&" because it binds less tightly.
func needsParens(parent, child op, right bool) bool {
	if child != opAnd && child != opOr {
		return false
	}
	return right || child != parent
}
