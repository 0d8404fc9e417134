package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// TestLintTense covers the tense rule across what the tense rules know: a
// known verb in the wrong tense is an error (the run time rejects it too),
// a word they do not know is a warning, with a suggestion worded as a
// question where the spelling gives one, and skip_tense_check silences
// both but warns where it is not needed.
func TestLintTense(t *testing.T) {
	t.Parallel()
	const head = "version: 1\ntopics:\n"
	tests := []struct {
		name string
		src  string
		want []finding
	}{
		{
			name: "known verb in the present tense declared as an event",
			src:  head + "  v1.user.signup:\n    kind: event\n",
			want: []finding{{catalog.RuleTense, E, 4, `topic v1.user.signup: declared kind event contradicts the verb's tense: an event says what happened, so its verb is in the past tense, and "signup" is in the present tense; did you mean v1.user.signedup? If the tense rules misread this verb, add skip_tense_check: true`}},
		},
		{
			name: "known verb in the past tense declared as a command",
			src:  head + "  v1.user.created:\n    kind: command\n",
			want: []finding{{catalog.RuleTense, E, 4, `declared kind command contradicts the verb's tense: a command says what to do, so its verb is in the present tense, and "created" is in the past tense; did you mean v1.user.create?`}},
		},
		{
			name: "known verb misread, skipped",
			src:  head + "  v1.app.startup:\n    kind: event\n    skip_tense_check: true\n",
		},
		{
			name: "unknown words declared as events",
			src: head + "  v1.invoice.overdue: {kind: event}\n  v1.order.ready: {kind: event}\n" +
				"  v1.stock.low: {kind: event}\n  v1.item.outofstock: {kind: event}\n",
			want: []finding{
				{catalog.RuleTense, W, 3, `topic v1.invoice.overdue: the tense rules do not know the verb "overdue", so they cannot check it: an event says what happened, so its verb is in the past tense; if "overdue" is a verb, did you mean v1.invoice.overdued? If the name is right as it is, add skip_tense_check: true`},
				{catalog.RuleTense, W, 4, `if "ready" is a verb, did you mean v1.order.readied?`},
				{catalog.RuleTense, W, 5, `if "low" is a verb, did you mean v1.stock.lowed?`},
				{catalog.RuleTense, W, 6, `topic v1.item.outofstock: the tense rules do not know the verb "outofstock"`},
			},
		},
		{
			name: "unknown word declared as a command, no suggestion",
			src:  head + "  v1.sled.sled: {kind: command}\n",
			want: []finding{{catalog.RuleTense, W, 3, `topic v1.sled.sled: the tense rules do not know the verb "sled", so they cannot check it: a command says what to do, so its verb is in the present tense. If the name is right as it is, add skip_tense_check: true`}},
		},
		{
			name: "unknown past-looking word declared as a command",
			src:  head + "  v1.user.frobnicated:\n    kind: command\n",
			want: []finding{{catalog.RuleTense, W, 4, `if "frobnicated" is a past tense, did you mean v1.user.frobnicate? If the name is right as it is`}},
		},
		{
			name: "unknown word without a kind",
			src:  head + "  v1.stock.low: {}\n",
			want: []finding{{catalog.RuleTense, W, 3, `topic v1.stock.low: the tense rules do not know the verb "low", so the kind command is a guess from its spelling; declare ` + "`kind: command` or `kind: event`" + `, and add skip_tense_check: true if the verb is right`}},
		},
		{
			name: "unknown word vouched for",
			src:  head + "  v1.stock.low:\n    kind: event\n    skip_tense_check: true\n",
		},
		{
			name: "skip not needed for a verb of both tenses",
			src:  head + "  v1.counter.reset:\n    kind: command\n    skip_tense_check: true\n",
			want: []finding{{catalog.RuleTense, W, 4, `skip_tense_check is not needed: the verb "reset" reads the same in both tenses and fits either kind; remove it`}},
		},
		{
			name: "skip not needed for a known verb that fits",
			src:  head + "  v1.user.signup:\n    kind: command\n    skip_tense_check: true\n",
			want: []finding{{catalog.RuleTense, W, 4, `skip_tense_check is not needed: the verb "signup" already fits a command; remove it`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertFindings(t, catalog.Lint(mustParse(t, tt.src)), tt.want)
		})
	}
}

// TestUnknownVerbsDoNotStopGeneration: a tense warning is no error, so the
// generator accepts the catalog, and the generated topics need no option
// for a word the run time accepts anyway.
func TestUnknownVerbsDoNotStopGeneration(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.stock.low: {kind: event}\n  v1.build.green: {kind: event, skip_tense_check: true}\n")
	require.NoError(t, catalog.Validate(c))
	src, err := catalog.GenerateGo(c)
	require.NoError(t, err)
	assert.Contains(t, string(src), "topic.MustEvent[struct{}](TopicStockLowV1)\n")
	assert.Contains(t, string(src), "topic.MustEvent[struct{}](TopicBuildGreenV1)\n")
}

// TestGeneratedSkipTenseCheck: the generated topic passes
// topic.SkipTenseCheck() exactly when the run time would reject the name
// without it, a known verb in the wrong tense.
func TestGeneratedSkipTenseCheck(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.app.startup: {kind: event, skip_tense_check: true}\n  v1.counter.reset: {kind: command, skip_tense_check: true}\n")
	src, err := catalog.GenerateGo(c)
	require.NoError(t, err)
	assert.Contains(t, string(src), "topic.MustEvent[struct{}](TopicAppStartupV1, topic.SkipTenseCheck())\n")
	assert.Contains(t, string(src), "topic.MustCommand[struct{}](TopicCounterResetV1)\n")
}
