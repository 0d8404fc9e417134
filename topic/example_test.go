package topic_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/choreo-bus/choreo/topic"
)

func ExampleParse() {
	n, err := topic.Parse("v2.user.email.changed")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Version, n.Entity, n.Qualifiers, n.Verb)
	fmt.Println(n)
	// Output:
	// 2 user [email] changed
	// v2.user.email.changed
}

func ExampleParse_error() {
	_, err := topic.Parse("v1.User.sign-up")
	fmt.Println(errors.Is(err, topic.ErrInvalidName))
	fmt.Println(err)
	// Output:
	// true
	// choreo/topic: invalid name "v1.User.sign-up": segment 2 (entity) "User" has upper case; segments are lowercase ASCII letters and digits, starting with a letter, did you mean v1.user.signup?
}

type UserSignedUp struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

type SignUpUser struct {
	Email string `json:"email"`
}

// Topics are usually package-level variables: MustEvent and MustCommand
// stop the program at start-up if a name is wrong.
var (
	SignUp   = topic.MustCommand[SignUpUser]("v1.user.signup")
	SignedUp = topic.MustEvent[UserSignedUp]("v1.user.signedup")
)

func ExampleMustEvent() {
	fmt.Println(SignUp.Kind(), SignUp)
	fmt.Println(SignedUp.Kind(), SignedUp)
	// Output:
	// command v1.user.signup
	// event v1.user.signedup
}

func ExampleNewEvent() {
	_, err := topic.NewEvent[UserSignedUp]("v1.user.signup")
	fmt.Println(errors.Is(err, topic.ErrTense))
	fmt.Println(err)

	e, err := topic.NewEvent[UserSignedUp]("v1.user.signedup")
	fmt.Println(e, err)
	// Output:
	// true
	// choreo/topic: verb in the wrong tense: event "v1.user.signup": an event says what happened, so its verb is in the past tense, and "signup" is not; did you mean v1.user.signedup? If the verb is right as it is, pass topic.SkipTenseCheck()
	// v1.user.signedup <nil>
}

func ExampleNewCommand() {
	_, err := topic.NewCommand[SignUpUser]("v1.invoice.paid")
	fmt.Println(err)
	// Output:
	// choreo/topic: verb in the wrong tense: command "v1.invoice.paid": a command says what to do, so its verb is in the present tense, and "paid" is past; did you mean v1.invoice.pay? If the verb is right as it is, pass topic.SkipTenseCheck()
}

func ExampleSkipTenseCheck() {
	// "startup" is a noun here, but the rules read it as the verb "start up",
	// so an event named with it is rejected.
	_, err := topic.NewEvent[struct{}]("v1.app.startup")
	fmt.Println(errors.Is(err, topic.ErrTense))

	e, err := topic.NewEvent[struct{}]("v1.app.startup", topic.SkipTenseCheck())
	fmt.Println(e, err)

	// Words the rules do not know (a state such as "low") and verbs that
	// read the same in both tenses need no option.
	low := topic.MustEvent[struct{}]("v1.stock.low")
	reset := topic.MustEvent[struct{}]("v1.counter.reset")
	fmt.Println(low, reset)
	// Output:
	// true
	// v1.app.startup <nil>
	// v1.stock.low v1.counter.reset
}

func ExampleCheckTense() {
	for _, s := range []string{"v1.email.send", "v1.order.stop", "v1.user.login", "v1.report.write", "v1.order.shipping"} {
		n, _ := topic.Parse(s)
		err := topic.CheckTense(n, topic.KindEvent)
		_, suggestion, _ := strings.Cut(err.Error(), "did you mean ")
		suggestion, _, _ = strings.Cut(suggestion, "?")
		fmt.Println(errors.Is(err, topic.ErrTense), s, "->", suggestion)
	}
	// Output:
	// true v1.email.send -> v1.email.sent
	// true v1.order.stop -> v1.order.stopped
	// true v1.user.login -> v1.user.loggedin
	// true v1.report.write -> v1.report.written
	// true v1.order.shipping -> v1.order.shipped
}

func ExampleInferKind() {
	for _, s := range []string{"v1.user.signup", "v1.invoice.paid", "v1.counter.reset"} {
		n, _ := topic.Parse(s)
		k, ok := topic.InferKind(n)
		fmt.Println(s, k, ok)
	}
	// Output:
	// v1.user.signup command true
	// v1.invoice.paid event true
	// v1.counter.reset Kind(0) false
}

func ExampleTenseOf() {
	for _, verb := range []string{"signup", "signedup", "reopened", "reset", "low", "sled"} {
		fmt.Println(verb, topic.TenseOf(verb))
	}
	// Output:
	// signup present
	// signedup past
	// reopened past
	// reset both
	// low unknown
	// sled unknown
}

func ExampleSuggestName() {
	for _, c := range []struct {
		name string
		kind topic.Kind
	}{
		{"v1.user.signup", topic.KindEvent},        // a known verb: certain
		{"v1.invoice.paid", topic.KindCommand},     // a known verb: certain
		{"v1.stock.low", topic.KindEvent},          // unknown: a guess, if "low" were a verb
		{"v1.user.frobnicated", topic.KindCommand}, // unknown: a guess from the -ed
		{"v1.user.signedup", topic.KindEvent},      // already fits
	} {
		n, _ := topic.Parse(c.name)
		s, ok := topic.SuggestName(n, c.kind)
		fmt.Printf("%s as %s: %q %v\n", c.name, c.kind, s, ok)
	}
	// Output:
	// v1.user.signup as event: "v1.user.signedup" true
	// v1.invoice.paid as command: "v1.invoice.pay" true
	// v1.stock.low as event: "v1.stock.lowed" true
	// v1.user.frobnicated as command: "v1.user.frobnicate" true
	// v1.user.signedup as event: "" false
}

func ExampleSubject() {
	n := SignedUp.Name()
	fmt.Println(topic.Subject("", SignedUp.Kind(), n))
	fmt.Println(topic.Subject("prod.eu", SignedUp.Kind(), n))
	fmt.Println(topic.Subject("prod.eu", SignUp.Kind(), SignUp.Name()))
	// Output:
	// evt.v1.user.signedup
	// prod.eu.evt.v1.user.signedup
	// prod.eu.cmd.v1.user.signup
}

func ExampleStream() {
	fmt.Println(topic.Stream("", topic.KindCommand, "user"), topic.StreamSubjects("", topic.KindCommand, "user"))
	fmt.Println(topic.Stream("prod.eu", topic.KindEvent, "user"), topic.StreamSubjects("prod.eu", topic.KindEvent, "user"))
	// Output:
	// CMD_user cmd.*.user.>
	// prod_eu_EVT_user prod.eu.evt.*.user.>
}

func ExampleValidateNamespace() {
	fmt.Println(topic.ValidateNamespace("prod.eu"))
	err := topic.ValidateNamespace("prod_eu")
	fmt.Println(errors.Is(err, topic.ErrInvalidNamespace))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// choreo/topic: invalid namespace "prod_eu": segment 1 "prod_eu" has '_'; a namespace is dot-separated segments of lowercase ASCII letters and digits, each starting with a letter, e.g. prod or prod.eu
}

func ExampleParseSubject() {
	k, n, err := topic.ParseSubject("prod", "prod.evt.v1.user.email.changed")
	fmt.Println(k, n, err)
	// Output:
	// event v1.user.email.changed <nil>
}
