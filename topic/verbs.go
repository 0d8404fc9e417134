package topic

import "strings"

// The word lists behind the tense rules. They are read-only lookup tables:
// built once when the package is initialized (by pure functions, no init()),
// never written afterwards, so every reader is safe for concurrent use.
//
// The known verbs are the rows of irregularTable, sameInBothTenses and
// regularVerbs (regular.go). The other lists are spelling exceptions for
// the rules in inflect.go; every word in them is a known verb too.

// irregularTable lists the irregular verbs a business event is likely to
// use. Each row is: base form, the past form suggested for events, then any
// other form accepted as past. The suggested form is the past participle when
// it differs from the base ("written", "taken", "frozen": an event name reads
// "the report was written"), otherwise the simple past ("ran", "came").
var irregularTable = [...][]string{
	{"arise", "arisen", "arose"},
	{"awake", "awoken", "awoke"},
	{"become", "became"},
	{"begin", "begun", "began"},
	{"bend", "bent"},
	{"bind", "bound"},
	{"bite", "bitten", "bit"},
	{"bleed", "bled"},
	{"blow", "blown", "blew"},
	{"break", "broken", "broke"},
	{"breed", "bred"},
	{"bring", "brought"},
	{"build", "built"},
	{"burn", "burned", "burnt"},
	{"buy", "bought"},
	{"catch", "caught"},
	{"choose", "chosen", "chose"},
	{"come", "came"},
	{"creep", "crept"},
	{"deal", "dealt"},
	{"dig", "dug"},
	{"do", "done", "did"},
	{"draw", "drawn", "drew"},
	{"dream", "dreamed", "dreamt"},
	{"drink", "drunk", "drank"},
	{"drive", "driven", "drove"},
	{"dwell", "dwelt", "dwelled"},
	{"eat", "eaten", "ate"},
	{"fall", "fallen", "fell"},
	{"feed", "fed"},
	{"feel", "felt"},
	{"fight", "fought"},
	{"find", "found"},
	{"flee", "fled"},
	{"fly", "flown", "flew"},
	{"forbid", "forbidden", "forbade"},
	{"forget", "forgotten", "forgot"},
	{"forgive", "forgiven", "forgave"},
	{"freeze", "frozen", "froze"},
	{"get", "gotten", "got"},
	{"give", "given", "gave"},
	{"go", "gone", "went"},
	{"grind", "ground"},
	{"grow", "grown", "grew"},
	{"hang", "hung", "hanged"},
	{"have", "had"},
	{"hear", "heard"},
	{"hide", "hidden", "hid"},
	{"hold", "held"},
	{"keep", "kept"},
	{"kneel", "knelt", "kneeled"},
	{"know", "known", "knew"},
	{"lay", "laid"},
	{"lead", "led"},
	{"leap", "leaped", "leapt"},
	{"learn", "learned", "learnt"},
	{"leave", "left"},
	{"lend", "lent"},
	{"light", "lit", "lighted"},
	{"lose", "lost"},
	{"make", "made"},
	{"mean", "meant"},
	{"meet", "met"},
	{"outdo", "outdone", "outdid"},
	{"pay", "paid"},
	{"prove", "proven", "proved"},
	{"redo", "redone", "redid"},
	{"ride", "ridden", "rode"},
	{"ring", "rung", "rang"},
	{"rise", "risen", "rose"},
	{"run", "ran"},
	{"say", "said"},
	{"see", "seen", "saw"},
	{"seek", "sought"},
	{"sell", "sold"},
	{"send", "sent"},
	{"shake", "shaken", "shook"},
	{"shine", "shone", "shined"},
	{"shoot", "shot"},
	{"show", "shown", "showed"},
	{"shrink", "shrunk", "shrank"},
	{"sing", "sung", "sang"},
	{"sink", "sunk", "sank"},
	{"sit", "sat"},
	{"sleep", "slept"},
	{"slide", "slid"},
	{"smell", "smelled", "smelt"},
	{"speak", "spoken", "spoke"},
	{"speed", "sped", "speeded"},
	{"spell", "spelled", "spelt"},
	{"spend", "spent"},
	{"spill", "spilled", "spilt"},
	{"spin", "spun"},
	{"spoil", "spoiled", "spoilt"},
	{"stand", "stood"},
	{"steal", "stolen", "stole"},
	{"stick", "stuck"},
	{"sting", "stung"},
	{"strike", "struck", "stricken"},
	{"string", "strung"},
	{"swear", "sworn", "swore"},
	{"sweep", "swept"},
	{"swim", "swum", "swam"},
	{"swing", "swung"},
	{"take", "taken", "took"},
	{"teach", "taught"},
	{"tear", "torn", "tore"},
	{"tell", "told"},
	{"think", "thought"},
	{"throw", "thrown", "threw"},
	{"undergo", "undergone", "underwent"},
	{"undo", "undone", "undid"},
	{"wake", "woken", "woke"},
	{"wear", "worn", "wore"},
	{"win", "won"},
	{"wind", "wound"},
	{"withdraw", "withdrawn", "withdrew"},
	{"withhold", "withheld"},
	{"write", "written", "wrote"},
}

// sameInBothTenses lists verbs whose past form is the base form ("the
// counter was reset" / "reset the counter"). They are accepted for commands
// and events alike, and InferKind cannot tell which one is meant.
var sameInBothTenses = setOf(
	"beat", "bet", "bid", "broadcast", "burst", "cast", "cost", "cut",
	"fit", "forecast", "hit", "hurt", "input", "let", "misread",
	"multicast", "offset", "outbid", "output", "podcast", "preset",
	"proofread", "put", "quit", "read", "recast", "reread", "reset", "rid",
	"set", "shed", "shut", "slit", "split", "spread", "sublet", "thrust",
	"typeset", "undercut", "upset", "webcast", "wed",
)

// verbPrefixes are prefixes that leave the verb they are put in front of
// irregular: resend/resent, rebuild/rebuilt, overpay/overpaid.
var verbPrefixes = [...]string{"under", "over", "fore", "out", "pre", "mis", "re", "un", "up"}

// regularPrefixes are the verb prefixes that may also go in front of a
// regular verb: reopen, unlock, prebook. The other prefixes make nouns of
// too many regular verbs (uptime, outage, overhead) to be read as verbs.
var regularPrefixes = setOf("pre", "re", "un")

// notPrefixed lists words that start with a prefix and a known verb by
// accident: "relay" is not "re" + "lay", "present" is not "pre" + "sent",
// and "unclear" is an adjective, not "un" + "clear".
var notPrefixed = setOf(
	"outcome", "present", "relay", "relent", "resting", "unclean", "unclear",
	"unequal", "upkeep",
)

// particles end compound verbs: signup, login, checkout, takeover.
var particles = [...]string{"back", "down", "over", "off", "out", "up", "in", "on"}

// particleBases lists the regular verbs that commonly take a particle. A
// word only splits into verb + particle when its first part is a form of
// one of them or of an irregular verb or one that reads the same in both
// tenses, so "maintain" never becomes "mainta" + "in", nor "dragon"
// "drag" + "on".
var particleBases = setOf(
	"add", "back", "bail", "black", "blast", "book", "boot", "bounce",
	"call", "carry", "cash", "change", "charge", "check", "claw", "clean",
	"clear", "clock", "close", "cool", "count", "crack", "cross", "drill",
	"drop", "fade", "fail", "fill", "flip", "follow", "gear", "hand", "head",
	"hook", "kick", "knock", "level", "lift", "line", "load", "lock", "log",
	"look", "loop", "mark", "match", "max", "melt", "mess", "mix", "mock",
	"move", "opt", "pair", "pass", "phase", "pick", "play", "plug", "pop",
	"power", "print", "pull", "punch", "push", "ramp", "roll", "round",
	"scale", "sign", "slow", "sort", "start", "step", "stop", "sum",
	"switch", "sync", "tap", "team", "time", "tip", "top", "touch", "tune",
	"turn", "walk", "warm", "wash", "weigh", "wipe", "work", "wrap", "zoom",
)

// doublesFinalConsonant lists verbs of more than one syllable whose stressed
// last syllable doubles its consonant: committed, controlled, formatted.
// One-syllable verbs (stop, plan) follow the rule without being listed.
var doublesFinalConsonant = setOf(
	"abet", "acquit", "admit", "allot", "annul", "befit", "commit", "compel",
	"concur", "confer", "control", "debug", "defer", "deter", "dispel",
	"embed", "emit", "equip", "excel", "expel", "extol", "format",
	"handicap", "incur", "infer", "kidnap", "occur", "omit", "patrol",
	"permit", "prefer", "program", "propel", "snapshot", "submit",
	"transfer", "transmit",
)

// doubledLInBritish lists verbs whose l is doubled in British spelling
// (fuelled, signalled) and that the "-el" rule in inflect.go does not catch.
var doubledLInBritish = setOf(
	"annul", "control", "dial", "duel", "equal", "extol", "fuel", "initial",
	"marshal", "patrol", "pedal", "pencil", "refuel", "rival", "signal",
	"total", "trial",
)

// keepsFinalE and dropsFinalE settle the base form of a regular past where
// the spelling alone cannot: "created" comes from "create", "pivoted" from
// "pivot".
var keepsFinalE = setOf(
	"adhere", "adore", "atone", "baste", "cache", "cite", "cohere",
	"condone", "create", "deplore", "dethrone", "enthrone", "excite",
	"exhale", "expedite", "explore", "haste", "ignite", "ignore", "implore",
	"incite", "inhale", "interfere", "intone", "invite", "paste",
	"persevere", "postpone", "recite", "revere", "route", "taste", "unite",
	"waste", "welcome",
)

var dropsFinalE = setOf(
	"alias", "ballot", "bias", "bus", "canvas", "focus", "gas", "pilot",
	"pivot", "sync",
)

// set is a read-only string set.
type set map[string]struct{}

func setOf(words ...string) set {
	s := make(set, len(words))
	for _, w := range words {
		s[w] = struct{}{}
	}
	return s
}

func (s set) has(w string) bool {
	_, ok := s[w]
	return ok
}

// irregularIndex maps irregular forms to their base and back.
type irregularIndex struct {
	pastOf map[string]string // base -> suggested past form
	baseOf map[string]string // any accepted past form -> base
	forms  map[string][]string
}

var irregulars = indexIrregulars(irregularTable[:])

func indexIrregulars(rows [][]string) irregularIndex {
	idx := irregularIndex{
		pastOf: make(map[string]string, len(rows)),
		baseOf: make(map[string]string, 2*len(rows)),
		forms:  make(map[string][]string, len(rows)),
	}
	for _, row := range rows {
		base := row[0]
		idx.pastOf[base] = row[1]
		idx.forms[base] = row[1:]
		for _, past := range row[1:] {
			idx.baseOf[past] = base
		}
	}
	return idx
}

// regularIndex maps the regular forms of the known verbs to their base:
// the regular past of every regular verb and of every verb that reads the
// same in both tenses (created, cancelled, fitted), and the -ing form of
// every known verb (shipping, paying, resetting). It is built by inflecting
// forward, so a form reads as past exactly when the rules in inflect.go
// make it from a known verb, and looking a form up costs one map access.
type regularIndex struct {
	pastBase   map[string]string // created -> create
	gerundBase map[string]string // creating -> create
}

var regularForms = indexRegularForms()

func indexRegularForms() regularIndex {
	bases := make([]string, 0, len(regularVerbs)+len(sameInBothTenses))
	for base := range regularVerbs {
		bases = append(bases, base)
	}
	for base := range sameInBothTenses {
		bases = append(bases, base)
	}
	idx := regularIndex{
		pastBase:   make(map[string]string, 2*len(bases)),
		gerundBase: make(map[string]string, 2*(len(bases)+len(irregularTable))),
	}
	for _, base := range bases {
		idx.pastBase[regularPast(base)] = base
		idx.gerundBase[regularGerund(base)] = base
		if strings.HasSuffix(base, "e") {
			idx.gerundBase[base+"ing"] = base // queueing next to queuing
		}
	}
	for _, row := range irregularTable {
		idx.gerundBase[regularGerund(row[0])] = row[0]
	}
	// The British spellings last, so that they never stand in for another
	// verb's past.
	for _, base := range bases {
		if british, ok := britishPast(base); ok {
			if _, taken := idx.pastBase[british]; !taken {
				idx.pastBase[british] = base
			}
		}
	}
	return idx
}
