package condition_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/heraldpush/herald/internal/condition"
)

func ExampleParse() {
	c, err := condition.Parse("'a' in topics||'b' in topics&&!'c' in topics")
	if err != nil {
		panic(err)
	}
	fmt.Println(c)
	fmt.Println(c.Topics())
	// Output:
	// 'a' in topics || ('b' in topics && !('c' in topics))
	// [a b c]
}

func ExampleParse_error() {
	_, err := condition.Parse("'news' && 'sports' in topics")
	fmt.Println(err)

	var se *condition.SyntaxError
	if errors.As(err, &se) {
		fmt.Printf("'news' && 'sports' in topics\n%*s^\n", se.Offset, "")
	}
	// Output:
	// at 7: expected "in topics" after 'news', found "&&"
	// 'news' && 'sports' in topics
	//        ^
}

func ExampleCondition_Eval() {
	c, err := condition.Parse("'news' in topics && !('muted' in topics)")
	if err != nil {
		panic(err)
	}
	for _, device := range [][]string{{"news"}, {"news", "muted"}, {"sports"}} {
		fmt.Println(device, c.Eval(func(topic string) bool { return slices.Contains(device, topic) }))
	}

	// A negation can match devices subscribed to no topic at all.
	none := func(string) bool { return false }
	neg, _ := condition.Parse("!('muted' in topics)")
	fmt.Println(neg.Eval(none))
	// Output:
	// [news] true
	// [news muted] false
	// [sports] false
	// true
}
