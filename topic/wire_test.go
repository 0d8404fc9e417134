package topic

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateNamespace(t *testing.T) {
	t.Parallel()
	for _, ns := range []string{"", "prod", "prod.eu", "tenant42", "a", "a1.b2.c3", "dev.alice", "cmds", "events", strings.Repeat("n", MaxNamespaceLen)} {
		assert.NoErrorf(t, ValidateNamespace(ns), "ValidateNamespace(%q)", ns)
	}
	tests := []struct {
		ns   string
		want string
	}{
		{"prod_eu", `segment 1 "prod_eu" has '_'`},
		{"prod-eu", `segment 1 "prod-eu" has '-'`},
		{"Prod", `segment 1 "Prod" has upper case`},
		{"prod.*", `segment 2 "*" has the wildcard '*'`},
		{"prod.>", `segment 2 ">" has the wildcard '>'`},
		{"prod eu", `has white space`},
		{"prod.", `segment 2 "" is empty`},
		{".prod", `segment 1 "" is empty`},
		{"prod..eu", `segment 2 "" is empty`},
		{"1prod", `starts with a digit`},
		{"prød", `has non-ASCII characters`},
		{"cmd", `segment 1 "cmd" is reserved`},
		{"prod.evt", `segment 2 "evt" is reserved`},
		{"dlq", `segment 1 "dlq" is reserved`},
		{"$js", `has '$'`},
		{strings.Repeat("n", MaxNamespaceLen+1), "bytes long, the limit is 64"},
	}
	for _, tt := range tests {
		err := ValidateNamespace(tt.ns)
		require.Errorf(t, err, "ValidateNamespace(%q)", tt.ns)
		assert.True(t, errors.Is(err, ErrInvalidNamespace))
		assert.False(t, errors.Is(err, ErrInvalidName))
		assert.Contains(t, err.Error(), tt.want)
		assert.True(t, strings.HasPrefix(err.Error(), "choreo/topic: invalid namespace "), err.Error())
	}
}

func TestSubjectStreamAndFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ns, name          string
		kind              Kind
		subject, stream   string
		streamSubjectsFor string
	}{
		{"", "v1.user.signup", KindCommand, "cmd.v1.user.signup", "CMD_user", "cmd.*.user.>"},
		{"", "v1.user.signedup", KindEvent, "evt.v1.user.signedup", "EVT_user", "evt.*.user.>"},
		{"", "v2.user.email.changed", KindEvent, "evt.v2.user.email.changed", "EVT_user", "evt.*.user.>"},
		{"prod", "v1.order.ship", KindCommand, "prod.cmd.v1.order.ship", "prod_CMD_order", "prod.cmd.*.order.>"},
		{"prod.eu", "v1.order.shipped", KindEvent, "prod.eu.evt.v1.order.shipped", "prod_eu_EVT_order", "prod.eu.evt.*.order.>"},
	}
	for _, tt := range tests {
		n := mustParse(t, tt.name)
		assert.Equal(t, tt.subject, Subject(tt.ns, tt.kind, n))
		assert.Equal(t, tt.stream, Stream(tt.ns, tt.kind, n.Entity))
		assert.Equal(t, tt.streamSubjectsFor, StreamSubjects(tt.ns, tt.kind, n.Entity))
		assert.Truef(t, subjectMatches(StreamSubjects(tt.ns, tt.kind, n.Entity), Subject(tt.ns, tt.kind, n)),
			"the stream's filter covers the topic's subject")

		k, parsed, err := ParseSubject(tt.ns, tt.subject)
		require.NoError(t, err)
		assert.Equal(t, tt.kind, k)
		assert.Equal(t, tt.name, parsed.String())
	}
}

// TestStreamsNeverOverlap checks the property the reserved namespace
// segments buy: a stream's filter never matches a subject that belongs to
// another namespace, kind or entity.
func TestStreamsNeverOverlap(t *testing.T) {
	t.Parallel()
	namespaces := []string{"", "prod", "prod.eu", "eu", "prod.eu.v1", "v1", "v1.user", "user", "evts"}
	names := []string{"v1.user.signup", "v1.user.signedup", "v2.user.email.changed", "v1.cmd.run", "v1.evt.ran", "v1.order.shipped", "v1.prod.eu"}
	for _, ns := range namespaces {
		require.NoError(t, ValidateNamespace(ns))
	}
	for _, nsA := range namespaces {
		for _, kA := range []Kind{KindCommand, KindEvent} {
			for _, entity := range []string{"user", "cmd", "order", "prod"} {
				filter := StreamSubjects(nsA, kA, entity)
				for _, nsB := range namespaces {
					for _, kB := range []Kind{KindCommand, KindEvent} {
						for _, s := range names {
							n := mustParse(t, s)
							want := nsA == nsB && kA == kB && n.Entity == entity
							assert.Equalf(t, want, subjectMatches(filter, Subject(nsB, kB, n)),
								"filter %q, subject %q", filter, Subject(nsB, kB, n))
						}
					}
				}
			}
		}
	}
}

func TestStreamNamesAreDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, ns := range []string{"", "prod", "prod.eu", "prodeu", "prod.e.u", "cmds"} {
		for _, k := range []Kind{KindCommand, KindEvent} {
			for _, entity := range []string{"user", "eu", "cmd", "produser"} {
				s := Stream(ns, k, entity)
				key := ns + "|" + k.String() + "|" + entity
				if prev, dup := seen[s]; dup {
					t.Errorf("stream %q for both %s and %s", s, prev, key)
				}
				seen[s] = key
				assert.NotContains(t, s, ".")
			}
		}
	}
}

func TestParseSubjectErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ ns, subject, want string }{
		{"prod", "dev.cmd.v1.user.signup", `not in namespace "prod"`},
		{"", "xyz.v1.user.signup", "no cmd or evt segment"},
		{"", "v1.user.signup", "no cmd or evt segment"},
		{"", "cmd.v1.User.signup", `segment 2 (entity) "User" has upper case`},
		{"", "evt", `"": it is empty`},
		{"prod", "prod", `not in namespace`},
	}
	for _, tt := range tests {
		_, _, err := ParseSubject(tt.ns, tt.subject)
		require.Errorf(t, err, "ParseSubject(%q, %q)", tt.ns, tt.subject)
		assert.ErrorIs(t, err, ErrInvalidName)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestInvalidKindPanics(t *testing.T) {
	t.Parallel()
	n := mustParse(t, "v1.user.signup")
	assert.PanicsWithValue(t, "topic: Kind(0) is not a kind; use topic.KindCommand or topic.KindEvent",
		func() { Subject("", 0, n) })
	assert.Panics(t, func() { Stream("", 3, "user") })
	assert.Panics(t, func() { StreamSubjects("", 3, "user") })
}

func TestSubjectAllocatesOnce(t *testing.T) {
	n := mustParse(t, "v1.user.signedup")
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = Subject("prod.eu", KindEvent, n) }))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = Stream("prod.eu", KindEvent, "user") }))
}

// subjectMatches implements NATS subject matching for a filter with '*'
// and a trailing '>', which is all StreamSubjects produces.
func subjectMatches(filter, subject string) bool {
	f := strings.Split(filter, ".")
	s := strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func TestParseStreamInvertsStream(t *testing.T) {
	for _, ns := range []string{"", "prod", "prod.eu"} {
		for _, k := range []Kind{KindCommand, KindEvent} {
			k2, entity, ok := ParseStream(ns, Stream(ns, k, "user"))
			if !ok || k2 != k || entity != "user" {
				t.Errorf("ParseStream(%q, Stream(%q, %s, user)) = %s, %q, %v", ns, ns, k, k2, entity, ok)
			}
		}
	}
	for _, tc := range []struct{ ns, stream string }{
		{"", "prod_CMD_user"},          // another namespace's
		{"prod", "CMD_user"},           // no namespace's
		{"prod", "prodx_CMD_user"},     // a namespace that only starts alike
		{"", "DLQ"},                    // dead letters
		{"prod", "prod_DLQ"},           // dead letters
		{"", "EVT_user_MAXDELIVERIES"}, // advisories
		{"", "CMD_"},                   // no entity
		{"", "CMD_User"},               // not a segment
		{"", "KV_inbox"},               // a bucket
		{"prod.eu", "prod_CMD_user"},   // a shorter namespace's
		{"prod", "prod_eu_CMD_user"},   // a longer namespace's
	} {
		if k, e, ok := ParseStream(tc.ns, tc.stream); ok {
			t.Errorf("ParseStream(%q, %q) = %s, %q; want not ours", tc.ns, tc.stream, k, e)
		}
	}
}

func TestDeadLetterNames(t *testing.T) {
	n, err := Parse("v1.user.signedup")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{ConsumerName("email", n), "email__v1_user_signedup"},
		{DeadLetterStream(""), "DLQ"},
		{DeadLetterStream("prod.eu"), "prod_eu_DLQ"},
		{DeadLetterSubjects(""), "dlq.>"},
		{DeadLetterSubjects("prod.eu"), "prod.eu.dlq.>"},
		{DeadLetterSubject("prod", "prod_EVT_user", "email__v1_user_signedup"), "prod.dlq.prod_EVT_user.email__v1_user_signedup"},
		{DeadLetterMsgID("EVT_user", "email__v1_user_signedup", 7), "dlq:EVT_user:email__v1_user_signedup:7"},
		{RedeliveryMsgID("DLQ", 9), "redeliver:DLQ:9"},
		{AdvisoryStream("EVT_user"), "EVT_user_MAXDELIVERIES"},
		{AdvisoryStream("prod_eu_CMD_user"), "prod_eu_CMD_user_MAXDELIVERIES"},
		{AdvisorySubject("prod_CMD_user"), "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.prod_CMD_user.*"},
		{AdvisoryConsumer("email__v1_user_signedup"), "email__v1_user_signedup"},
		{AdvisoryConsumerSubject("EVT_user", "email__v1_user_signedup"), "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.EVT_user.email__v1_user_signedup"},
		{InboxPrefix("", "email"), "_INBOX_email"},
		{InboxPrefix("prod.eu", "email"), "_INBOX_prod_eu__email"},
		{InboxPrefix("prod", "eu_email"), "_INBOX_prod__eu_email"},
		{InboxBucket("", "email"), "email_inbox"},
		{InboxBucket("prod.eu", "email"), "prod_eu__email_inbox"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestValidateGroupAndGroupName(t *testing.T) {
	for _, g := range []string{"email", "a", "billing-eu", "x_y", strings.Repeat("g", MaxGroupLen)} {
		if err := ValidateGroup(g); err != nil {
			t.Errorf("ValidateGroup(%q) = %v", g, err)
		}
	}
	for _, g := range []string{"", "a.b", "a__b", "email_", "_email", "é", "a b", strings.Repeat("g", MaxGroupLen+1), strings.Repeat("s", 5000)} {
		err := ValidateGroup(g)
		if !errors.Is(err, ErrInvalidGroup) {
			t.Errorf("ValidateGroup(%q) = %v, want ErrInvalidGroup", g, err)
		} else if len(err.Error()) > 200 {
			t.Errorf("ValidateGroup error is %d bytes long: it quotes the input whole", len(err.Error()))
		}
	}
	for in, want := range map[string]string{"": "choreo", "my.service": "my-service", "a__b___c": "a_b_c", "TestX/sub_test": "TestX-sub_test", "_x_": "x", "___": "choreo"} {
		if got := GroupName(in); got != want {
			t.Errorf("GroupName(%q) = %q, want %q", in, got, want)
		}
	}
	long1, long2 := GroupName(strings.Repeat("x", 300)+"1"), GroupName(strings.Repeat("x", 300)+"2")
	if long1 == long2 || ValidateGroup(long1) != nil || ValidateGroup(long2) != nil {
		t.Errorf("long names %q and %q must be valid and differ", long1, long2)
	}
}
