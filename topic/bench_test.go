package topic

import "testing"

// Parse runs once per topic at start-up; Subject and String run on every
// send and publish, so those must stay allocation-light.

func BenchmarkParse(b *testing.B) {
	for _, s := range []string{"v1.user.signedup", "v1.account.billing.card.expired"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseInvalid(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("v1.User.signup"); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkNameString(b *testing.B) {
	parsed := mustParse(b, "v1.account.billing.card.expired")
	built := Name{Version: 1, Entity: "account", Qualifiers: []string{"billing", "card"}, Verb: "expired"}
	b.Run("parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = parsed.String()
		}
	})
	b.Run("built", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = built.String()
		}
	})
}

func BenchmarkSubject(b *testing.B) {
	n := mustParse(b, "v1.user.signedup")
	b.Run("no-namespace", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Subject("", KindEvent, n)
		}
	})
	b.Run("namespace", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Subject("prod.eu", KindEvent, n)
		}
	})
}

func BenchmarkStream(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Stream("prod.eu", KindEvent, "user")
	}
}

func BenchmarkCheckTense(b *testing.B) {
	for _, s := range []string{"v1.user.signedup", "v1.invoice.paid", "v1.user.email.changed", "v1.invoice.overdue"} {
		n := mustParse(b, s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckTense(n, KindEvent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNewEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEvent[int]("v1.user.signedup"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTenseError(b *testing.B) {
	n := mustParse(b, "v1.user.signup")
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckTense(n, KindEvent); err == nil {
			b.Fatal("accepted")
		}
	}
}
