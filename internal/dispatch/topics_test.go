package dispatch

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldpush/herald/internal/store"
)

// A run of entries to one topic or condition is matched once per
// registration, and each gets exactly the entries it would get one by
// one: those after its subscription, those its topics satisfied.
func TestTargetsOfARun(t *testing.T) {
	idx := newTopics()
	idx.set("all", &topicState{project: "p", subs: newTopicSubs([]store.Subscription{{Topic: "news", Since: 0}, {Topic: "a", Since: 0}})})
	idx.set("late", &topicState{project: "p", subs: newTopicSubs([]store.Subscription{{Topic: "news", Since: 6}})})
	idx.set("other", &topicState{project: "p", subs: newTopicSubs([]store.Subscription{{Topic: "sport", Since: 0}})})
	idx.set("a-then-b", &topicState{project: "p", subs: newTopicSubs([]store.Subscription{{Topic: "a", Since: 0}, {Topic: "b", Since: 6}})})
	idx.set("elsewhere", &topicState{project: "q", subs: newTopicSubs([]store.Subscription{{Topic: "news", Since: 0}})})

	entry := func(seq uint64, topic, cond string) *topicEntry {
		e, err := newTopicEntry(&store.TopicMessage{ProjectID: "p", Seq: seq, Topic: topic, Condition: cond})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	seqs := func(tgs []target) map[string][]uint64 {
		out := map[string][]uint64{}
		for _, tg := range tgs {
			for _, e := range tg.entries {
				out[tg.st.token] = append(out[tg.st.token], e.Seq)
			}
		}
		return out
	}
	// What each registration gets entry by entry: the reference.
	oneByOne := func(run []*topicEntry) map[string][]uint64 {
		out := map[string][]uint64{}
		for _, e := range run {
			for tok, s := range seqs(idx.targets([]*topicEntry{e}, nil)) {
				out[tok] = append(out[tok], s...)
			}
		}
		return out
	}

	news := []*topicEntry{entry(5, "news", ""), entry(6, "news", ""), entry(7, "news", "")}
	want := map[string][]uint64{"all": {5, 6, 7}, "late": {7}}
	if diff := cmp.Diff(want, seqs(idx.targets(news, nil))); diff != "" {
		t.Errorf("topic run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, oneByOne(news)); diff != "" {
		t.Errorf("topic entries one by one (-want +got):\n%s", diff)
	}

	cond := "'a' in topics && !('b' in topics)"
	run := []*topicEntry{entry(5, "", cond), entry(6, "", cond), entry(7, "", cond)}
	want = map[string][]uint64{"all": {5, 6, 7}, "a-then-b": {5, 6}}
	if diff := cmp.Diff(want, seqs(idx.targets(run, nil))); diff != "" {
		t.Errorf("condition run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, oneByOne(run)); diff != "" {
		t.Errorf("condition entries one by one (-want +got):\n%s", diff)
	}
}
