package topic

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// verbPairs are (command verb, event verb) pairs: each must read in its own
// tense, and each must be suggested for the other. Grouped by the rule they
// exercise.
var verbPairs = []struct{ present, past string }{
	// -e: add d.
	{"create", "created"}, {"update", "updated"}, {"delete", "deleted"},
	{"complete", "completed"}, {"validate", "validated"}, {"initiate", "initiated"},
	{"evaluate", "evaluated"}, {"execute", "executed"}, {"compute", "computed"},
	{"route", "routed"}, {"invite", "invited"}, {"waste", "wasted"},
	{"close", "closed"}, {"use", "used"}, {"pause", "paused"}, {"release", "released"},
	{"purchase", "purchased"}, {"license", "licensed"}, {"reverse", "reversed"},
	{"produce", "produced"}, {"invoice", "invoiced"}, {"balance", "balanced"},
	{"change", "changed"}, {"arrange", "arranged"}, {"challenge", "challenged"},
	{"charge", "charged"}, {"merge", "merged"}, {"acknowledge", "acknowledged"},
	{"engage", "engaged"}, {"manage", "managed"}, {"stage", "staged"},
	{"authorize", "authorized"}, {"analyze", "analyzed"}, {"save", "saved"},
	{"approve", "approved"}, {"archive", "archived"}, {"receive", "received"},
	{"decide", "decided"}, {"provide", "provided"}, {"include", "included"},
	{"trade", "traded"}, {"upgrade", "upgraded"}, {"downgrade", "downgraded"},
	{"encode", "encoded"}, {"invoke", "invoked"}, {"revoke", "revoked"},
	{"describe", "described"}, {"subscribe", "subscribed"}, {"unsubscribe", "unsubscribed"},
	{"file", "filed"}, {"compile", "compiled"}, {"reconcile", "reconciled"},
	{"schedule", "scheduled"}, {"scale", "scaled"}, {"handle", "handled"},
	{"enable", "enabled"}, {"disable", "disabled"}, {"toggle", "toggled"},
	{"settle", "settled"}, {"throttle", "throttled"}, {"style", "styled"},
	{"name", "named"}, {"rename", "renamed"}, {"consume", "consumed"},
	{"resume", "resumed"}, {"welcome", "welcomed"}, {"combine", "combined"},
	{"define", "defined"}, {"decline", "declined"}, {"determine", "determined"},
	{"examine", "examined"}, {"tune", "tuned"}, {"zone", "zoned"}, {"clone", "cloned"},
	{"postpone", "postponed"}, {"type", "typed"}, {"swipe", "swiped"},
	{"scope", "scoped"}, {"escape", "escaped"}, {"store", "stored"},
	{"restore", "restored"}, {"ignore", "ignored"}, {"explore", "explored"},
	{"expire", "expired"}, {"require", "required"}, {"acquire", "acquired"},
	{"configure", "configured"}, {"secure", "secured"}, {"measure", "measured"},
	{"capture", "captured"}, {"share", "shared"}, {"compare", "compared"},
	{"prepare", "prepared"}, {"declare", "declared"}, {"interfere", "interfered"},
	{"queue", "queued"}, {"dequeue", "dequeued"}, {"continue", "continued"},
	{"issue", "issued"}, {"value", "valued"}, {"agree", "agreed"},
	{"free", "freed"}, {"guarantee", "guaranteed"}, {"owe", "owed"},
	{"age", "aged"}, {"cache", "cached"}, {"promote", "promoted"},
	{"vote", "voted"}, {"quote", "quoted"}, {"note", "noted"}, {"hope", "hoped"},
	{"rate", "rated"}, {"migrate", "migrated"}, {"cite", "cited"},
	{"bathe", "bathed"}, {"reroute", "rerouted"}, {"retire", "retired"},
	// Consonant + y: ied.
	{"apply", "applied"}, {"verify", "verified"}, {"notify", "notified"},
	{"deny", "denied"}, {"copy", "copied"}, {"reply", "replied"},
	{"modify", "modified"}, {"carry", "carried"}, {"query", "queried"},
	{"try", "tried"}, {"rely", "relied"}, {"empty", "emptied"},
	// Vowel + y: ed.
	{"play", "played"}, {"delay", "delayed"}, {"deploy", "deployed"},
	{"employ", "employed"}, {"destroy", "destroyed"}, {"relay", "relayed"},
	{"display", "displayed"}, {"survey", "surveyed"}, {"obey", "obeyed"},
	{"stay", "stayed"}, {"replay", "replayed"}, {"key", "keyed"},
	// One syllable, consonant-vowel-consonant: double.
	{"stop", "stopped"}, {"ship", "shipped"}, {"drop", "dropped"},
	{"plan", "planned"}, {"scan", "scanned"}, {"ban", "banned"},
	{"log", "logged"}, {"tag", "tagged"}, {"flag", "flagged"}, {"plug", "plugged"},
	{"sum", "summed"}, {"trim", "trimmed"}, {"grab", "grabbed"}, {"bar", "barred"},
	{"star", "starred"}, {"stir", "stirred"}, {"chat", "chatted"}, {"plot", "plotted"},
	{"pin", "pinned"}, {"pad", "padded"}, {"skip", "skipped"}, {"wrap", "wrapped"},
	{"map", "mapped"}, {"step", "stepped"}, {"cap", "capped"}, {"zip", "zipped"},
	{"top", "topped"}, {"pop", "popped"}, {"vet", "vetted"},
	{"trek", "trekked"}, {"shred", "shredded"},
	// Behind a prefix, or stressed last syllable: double too.
	{"unzip", "unzipped"}, {"unplug", "unplugged"}, {"unpin", "unpinned"},
	{"remap", "remapped"}, {"unwrap", "unwrapped"}, {"refer", "referred"},
	{"prefer", "preferred"}, {"regret", "regretted"}, {"overlap", "overlapped"},
	{"commit", "committed"}, {"submit", "submitted"}, {"resubmit", "resubmitted"},
	{"admit", "admitted"}, {"permit", "permitted"}, {"omit", "omitted"},
	{"emit", "emitted"}, {"transmit", "transmitted"}, {"occur", "occurred"},
	{"transfer", "transferred"}, {"defer", "deferred"}, {"control", "controlled"},
	{"patrol", "patrolled"}, {"compel", "compelled"}, {"expel", "expelled"},
	{"equip", "equipped"}, {"format", "formatted"}, {"reformat", "reformatted"},
	{"program", "programmed"}, {"debug", "debugged"}, {"embed", "embedded"},
	{"snapshot", "snapshotted"},
	// Unstressed last syllable: no doubling.
	{"open", "opened"}, {"reopen", "reopened"}, {"visit", "visited"},
	{"edit", "edited"}, {"limit", "limited"}, {"deposit", "deposited"},
	{"credit", "credited"}, {"audit", "audited"}, {"exit", "exited"},
	{"offer", "offered"}, {"enter", "entered"}, {"order", "ordered"},
	{"deliver", "delivered"}, {"register", "registered"}, {"trigger", "triggered"},
	{"filter", "filtered"}, {"render", "rendered"}, {"develop", "developed"},
	{"target", "targeted"}, {"budget", "budgeted"}, {"market", "marketed"},
	{"happen", "happened"}, {"listen", "listened"}, {"monitor", "monitored"},
	{"sponsor", "sponsored"}, {"abandon", "abandoned"}, {"mention", "mentioned"},
	{"provision", "provisioned"}, {"version", "versioned"}, {"partition", "partitioned"},
	{"decommission", "decommissioned"}, {"question", "questioned"},
	{"cancel", "canceled"}, {"label", "labeled"}, {"model", "modeled"},
	{"travel", "traveled"}, {"total", "totaled"}, {"signal", "signaled"},
	{"pivot", "pivoted"}, {"pilot", "piloted"}, {"focus", "focused"},
	{"alias", "aliased"}, {"boycott", "boycotted"}, {"interpret", "interpreted"},
	// Nothing special: ed.
	{"sign", "signed"}, {"assign", "assigned"}, {"add", "added"},
	{"pass", "passed"}, {"process", "processed"}, {"access", "accessed"},
	{"check", "checked"}, {"lock", "locked"}, {"unlock", "unlocked"},
	{"block", "blocked"}, {"track", "tracked"}, {"fail", "failed"},
	{"mail", "mailed"}, {"email", "emailed"}, {"install", "installed"},
	{"uninstall", "uninstalled"}, {"fill", "filled"}, {"call", "called"},
	{"roll", "rolled"}, {"enroll", "enrolled"}, {"dial", "dialed"},
	{"fuel", "fueled"}, {"need", "needed"}, {"proceed", "proceeded"},
	{"succeed", "succeeded"}, {"exceed", "exceeded"}, {"load", "loaded"},
	{"upload", "uploaded"}, {"download", "downloaded"}, {"fund", "funded"},
	{"refund", "refunded"}, {"record", "recorded"}, {"reward", "rewarded"},
	{"forward", "forwarded"}, {"extend", "extended"}, {"start", "started"},
	{"restart", "restarted"}, {"post", "posted"}, {"test", "tested"},
	{"list", "listed"}, {"export", "exported"}, {"import", "imported"},
	{"report", "reported"}, {"convert", "converted"}, {"wait", "waited"},
	{"await", "awaited"}, {"recruit", "recruited"}, {"treat", "treated"},
	{"repeat", "repeated"}, {"defeat", "defeated"}, {"reboot", "rebooted"},
	{"join", "joined"}, {"gain", "gained"}, {"maintain", "maintained"},
	{"retain", "retained"}, {"contain", "contained"}, {"earn", "earned"},
	{"return", "returned"}, {"turn", "turned"}, {"warn", "warned"},
	{"clean", "cleaned"}, {"loan", "loaned"}, {"claim", "claimed"},
	{"confirm", "confirmed"}, {"inform", "informed"}, {"perform", "performed"},
	{"redeem", "redeemed"}, {"stream", "streamed"}, {"climb", "climbed"},
	{"help", "helped"}, {"jump", "jumped"}, {"loop", "looped"},
	{"clear", "cleared"}, {"appear", "appeared"}, {"pair", "paired"},
	{"repair", "repaired"}, {"power", "powered"}, {"answer", "answered"},
	{"fix", "fixed"}, {"mix", "mixed"}, {"index", "indexed"}, {"tax", "taxed"},
	{"relax", "relaxed"}, {"allow", "allowed"}, {"follow", "followed"},
	{"review", "reviewed"}, {"view", "viewed"}, {"renew", "renewed"},
	{"sync", "synced"}, {"resync", "resynced"}, {"echo", "echoed"},
	{"veto", "vetoed"}, {"attach", "attached"}, {"detach", "detached"},
	{"match", "matched"}, {"patch", "patched"}, {"fetch", "fetched"},
	{"search", "searched"}, {"launch", "launched"}, {"dispatch", "dispatched"},
	{"switch", "switched"}, {"publish", "published"}, {"finish", "finished"},
	{"push", "pushed"}, {"flush", "flushed"}, {"refresh", "refreshed"},
	{"establish", "established"}, {"belong", "belonged"}, {"ping", "pinged"},
	{"link", "linked"}, {"mark", "marked"}, {"book", "booked"}, {"ask", "asked"},
	{"unearth", "unearthed"}, {"panic", "panicked"},
	{"increment", "incremented"}, {"implement", "implemented"}, {"document", "documented"},
	{"authenticate", "authenticated"}, {"own", "owned"}, {"curl", "curled"},
	{"crawl", "crawled"}, {"charter", "chartered"},
	// Irregular.
	{"send", "sent"}, {"pay", "paid"}, {"build", "built"}, {"make", "made"},
	{"sell", "sold"}, {"buy", "bought"}, {"write", "written"}, {"take", "taken"},
	{"give", "given"}, {"do", "done"}, {"freeze", "frozen"}, {"break", "broken"},
	{"choose", "chosen"}, {"draw", "drawn"}, {"withdraw", "withdrawn"},
	{"show", "shown"}, {"hide", "hidden"}, {"begin", "begun"}, {"run", "ran"},
	{"come", "came"}, {"become", "became"}, {"find", "found"}, {"lose", "lost"},
	{"spend", "spent"}, {"lend", "lent"}, {"leave", "left"}, {"hold", "held"},
	{"keep", "kept"}, {"win", "won"}, {"bind", "bound"}, {"feed", "fed"},
	{"lead", "led"}, {"speed", "sped"}, {"get", "gotten"}, {"go", "gone"},
	{"meet", "met"}, {"tell", "told"}, {"think", "thought"}, {"teach", "taught"},
	{"catch", "caught"}, {"bring", "brought"}, {"seek", "sought"}, {"fly", "flown"},
	{"throw", "thrown"}, {"know", "known"}, {"grow", "grown"}, {"forget", "forgotten"},
	{"forgive", "forgiven"}, {"forbid", "forbidden"}, {"shake", "shaken"},
	{"wake", "woken"}, {"steal", "stolen"}, {"speak", "spoken"}, {"swear", "sworn"},
	{"tear", "torn"}, {"wear", "worn"}, {"stand", "stood"}, {"understand", "understood"},
	{"undergo", "undergone"}, {"undo", "undone"}, {"redo", "redone"}, {"outdo", "outdone"},
	{"lay", "laid"}, {"deal", "dealt"}, {"wind", "wound"}, {"spin", "spun"},
	{"strike", "struck"}, {"stick", "stuck"}, {"hang", "hung"}, {"light", "lit"},
	{"prove", "proven"}, {"burn", "burned"}, {"learn", "learned"}, {"spell", "spelled"},
	{"dwell", "dwelt"}, {"eat", "eaten"}, {"see", "seen"}, {"ride", "ridden"},
	{"drive", "driven"}, {"rise", "risen"}, {"arise", "arisen"}, {"fall", "fallen"},
	{"withhold", "withheld"}, {"have", "had"}, {"hear", "heard"}, {"say", "said"},
	// Irregular behind a prefix.
	{"resend", "resent"}, {"rebuild", "rebuilt"}, {"rewrite", "rewritten"},
	{"overwrite", "overwritten"}, {"override", "overridden"}, {"prepay", "prepaid"},
	{"repay", "repaid"}, {"overpay", "overpaid"}, {"underpay", "underpaid"},
	{"resell", "resold"}, {"oversell", "oversold"}, {"upsell", "upsold"},
	{"unfreeze", "unfrozen"}, {"unbind", "unbound"}, {"rebind", "rebound"},
	{"rewind", "rewound"}, {"unwind", "unwound"}, {"rerun", "reran"},
	{"overcome", "overcame"}, {"undertake", "undertaken"}, {"underwrite", "underwritten"},
	{"mislead", "misled"}, {"mistake", "mistaken"}, {"uphold", "upheld"},
	{"overdraw", "overdrawn"}, {"remake", "remade"}, {"retell", "retold"},
	{"foresee", "foreseen"}, {"oversee", "overseen"}, {"overlay", "overlaid"},
	// Verb + particle.
	{"signup", "signedup"}, {"signin", "signedin"}, {"signoff", "signedoff"},
	{"login", "loggedin"}, {"logout", "loggedout"}, {"logon", "loggedon"},
	{"logoff", "loggedoff"}, {"checkout", "checkedout"}, {"checkin", "checkedin"},
	{"optin", "optedin"}, {"optout", "optedout"}, {"payout", "paidout"},
	{"payback", "paidback"}, {"cashout", "cashedout"}, {"lockout", "lockedout"},
	{"timeout", "timedout"}, {"rollback", "rolledback"}, {"rollout", "rolledout"},
	{"rollover", "rolledover"}, {"handover", "handedover"}, {"handoff", "handedoff"},
	{"takeover", "takenover"}, {"makeover", "madeover"}, {"failover", "failedover"},
	{"kickoff", "kickedoff"}, {"dropoff", "droppedoff"}, {"topup", "toppedup"},
	{"backup", "backedup"}, {"cleanup", "cleanedup"}, {"pickup", "pickedup"},
	{"lookup", "lookedup"}, {"followup", "followedup"}, {"scaleup", "scaledup"},
	{"scaledown", "scaleddown"}, {"warmup", "warmedup"}, {"wrapup", "wrappedup"},
	{"stepdown", "steppeddown"}, {"breakdown", "brokendown"}, {"lockdown", "lockeddown"},
	{"sellout", "soldout"}, {"buyout", "boughtout"}, {"layoff", "laidoff"},
	{"writeoff", "writtenoff"}, {"chargeback", "chargedback"}, {"callback", "calledback"},
	{"plugin", "pluggedin"}, {"phaseout", "phasedout"}, {"bailout", "bailedout"},
	{"powerdown", "powereddown"}, {"cooldown", "cooleddown"}, {"spinoff", "spunoff"},
	{"holdup", "heldup"}, {"addon", "addedon"}, {"passover", "passedover"},
	// -ing as the verb: still a present form.
}

func TestVerbPairs(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, p := range verbPairs {
		for _, w := range []string{p.present, p.past} {
			if seen[w] {
				t.Errorf("verbPairs lists %q twice", w)
			}
			seen[w] = true
		}
		assert.Equalf(t, TensePresent, TenseOf(p.present), "TenseOf(%q)", p.present)
		assert.Equalf(t, TensePast, TenseOf(p.past), "TenseOf(%q)", p.past)
		got, ok := pastOf(p.present)
		assert.Truef(t, ok && got == p.past, "pastOf(%q) = %q, %v; want %q", p.present, got, ok, p.past)
		got, ok = presentOf(p.past)
		assert.Truef(t, ok && got == p.present, "presentOf(%q) = %q, %v; want %q", p.past, got, ok, p.present)
	}
}

func TestSameInBothTenses(t *testing.T) {
	t.Parallel()
	for _, w := range []string{
		"reset", "put", "set", "cut", "shut", "read", "quit", "hit", "cast",
		"broadcast", "upset", "bid", "split", "spread", "cost", "let", "bet",
		"hurt", "burst", "forecast", "input", "output", "offset", "preset",
		"shed", "wed", "fit", "outbid", "undercut", "multicast",
		// Compounds and prefixes of such verbs.
		"setup", "shutdown", "cutover", "cutoff", "readout", "rebid", "reread", "unset",
	} {
		assert.Equalf(t, TenseBoth, TenseOf(w), "TenseOf(%q)", w)
		p, ok := pastOf(w)
		assert.Truef(t, ok && p == w, "pastOf(%q) = %q, %v", w, p, ok)
		p, ok = presentOf(w)
		assert.Truef(t, ok && p == w, "presentOf(%q) = %q, %v", w, p, ok)
	}
}

// TestOtherPastForms covers past forms that are accepted but not the ones
// suggested: British spellings, simple past next to participle, old forms.
func TestOtherPastForms(t *testing.T) {
	t.Parallel()
	for form, base := range map[string]string{
		"cancelled": "cancel", "labelled": "label", "modelled": "model",
		"travelled": "travel", "levelled": "level", "fuelled": "fuel",
		"signalled": "signal", "totalled": "total", "dialled": "dial",
		"wrote": "write", "took": "take", "did": "do", "gave": "give",
		"froze": "freeze", "broke": "break", "chose": "choose", "showed": "show",
		"began": "begin", "forgot": "forget", "got": "get", "went": "go",
		"burnt": "burn", "learnt": "learn", "spelt": "spell", "proved": "prove",
		"lighted": "light", "saw": "see", "rewrote": "rewrite", "undid": "undo",
		"tookover": "takeover", "wroteoff": "writeoff", "brokedown": "breakdown",
		"fitted": "fit", "wedded": "wed", "quitted": "quit",
		"misspelled": "misspell", "installed": "install", "recalled": "recall",
	} {
		assert.Equalf(t, TensePast, TenseOf(form), "TenseOf(%q)", form)
		got, ok := presentOf(form)
		assert.Truef(t, ok && got == base, "presentOf(%q) = %q, %v; want %q", form, got, ok, base)
	}
}

// TestWordsLeftWhole checks that words which only look like a prefix plus
// a verb, or a verb plus a particle, are not split.
func TestWordsLeftWhole(t *testing.T) {
	t.Parallel()
	for w, want := range map[string]string{
		"maintain": "maintained", "reason": "reasoned", "hover": "hovered",
		"cover": "covered", "discover": "discovered", "recover": "recovered",
		"summon": "summoned", "present": "presented", "relent": "relented",
		"relay": "relayed", "join": "joined", "train": "trained",
		"explain": "explained", "mention": "mentioned", "shout": "shouted",
		"scout": "scouted", "render": "rendered", "consent": "consented",
		"button": "buttoned", "season": "seasoned",
	} {
		assert.Equalf(t, TensePresent, TenseOf(w), "TenseOf(%q)", w)
		got, ok := pastOf(w)
		assert.Truef(t, ok && got == want, "pastOf(%q) = %q, %v; want %q", w, got, ok, want)
	}
}

// TestGerunds: an -ing verb reads as present; as an event the suggestion is
// the past of the verb behind it.
func TestGerunds(t *testing.T) {
	t.Parallel()
	for w, want := range map[string]string{
		"shipping": "shipped", "processing": "processed", "creating": "created",
		"applying": "applied", "pinging": "pinged", "bringing": "brought",
		"paying": "paid", "canceling": "canceled", "committing": "committed",
		"dying": "died", "signing": "signed", "queueing": "queued",
	} {
		assert.Equalf(t, TensePresent, TenseOf(w), "TenseOf(%q)", w)
		got, ok := pastOf(w)
		assert.Truef(t, ok && got == want, "pastOf(%q) = %q, %v; want %q", w, got, ok, want)
	}
}

func TestNoSuggestionForNonWords(t *testing.T) {
	t.Parallel()
	for _, w := range []string{"step2", "oauth2", "v2", "x9ed"} {
		_, ok := pastOf(w)
		assert.Falsef(t, ok, "pastOf(%q)", w)
		_, ok = presentOf(w)
		assert.Falsef(t, ok, "presentOf(%q)", w)
	}
}

// TestVerbListsAreConsistent guards the tables in verbs.go and regular.go:
// no word may be listed as two things at once, the table rows must be well
// formed, and every word of a spelling-exception list must be a known verb.
func TestVerbListsAreConsistent(t *testing.T) {
	t.Parallel()
	for _, row := range irregularTable {
		if !assert.GreaterOrEqual(t, len(row), 2, "row %v", row) {
			continue
		}
		base := row[0]
		assert.Falsef(t, sameInBothTenses.has(base), "%q is irregular and same-in-both-tenses", base)
		for _, form := range row[1:] {
			assert.NotEqualf(t, base, form, "%q lists itself as its past", base)
			_, isBase := irregulars.pastOf[form]
			assert.Falsef(t, isBase, "past form %q of %q is also listed as a base", form, base)
			assert.Falsef(t, sameInBothTenses.has(form), "past form %q of %q is same-in-both-tenses", form, base)
		}
	}
	for w := range regularVerbs {
		assert.Falsef(t, isIrregularBase(w), "%q is listed as regular and irregular", w)
		assert.Falsef(t, sameInBothTenses.has(w), "%q is listed as regular and same-in-both-tenses", w)
		_, _, prefixed := splitPrefixedIrregular(w)
		assert.Falsef(t, prefixed, "regular verb %q reads as a prefixed irregular verb; list it in notPrefixed", w)
	}
	for name, list := range map[string]set{
		"particleBases": particleBases, "doublesFinalConsonant": doublesFinalConsonant,
		"doubledLInBritish": doubledLInBritish, "keepsFinalE": keepsFinalE, "dropsFinalE": dropsFinalE,
	} {
		for w := range list {
			assert.Truef(t, regularVerbs.has(w), "%s lists %q, which regularVerbs does not", name, w)
		}
	}
}
