package topic

// Option changes how NewCommand, MustCommand, NewEvent and MustEvent check
// a name. The zero set of options checks grammar and tense.
type Option interface {
	apply(*options)
}

type options struct {
	skipTense bool
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// SkipTenseCheck turns off the tense check, for a known verb the rules
// misread: a noun that is also a verb, such as "v1.app.startup" named as an
// event. Words the rules do not know ("v1.build.green", "v1.stock.low") and
// verbs that read the same in both tenses (reset, put, cut, ...) do not
// need it: they are accepted as commands and as events. The grammar is
// always checked. Default: the tense check is on.
func SkipTenseCheck() Option {
	return optionFunc(func(o *options) { o.skipTense = true })
}

// Command is a typed command topic: a name with a present-tense verb
// ("v1.user.signup") and the Go type T of its payload. Create it once,
// usually as a package-level variable with MustCommand, and share it: a
// Command is immutable and safe for concurrent use.
//
// Command and Event are different types whatever T is, so a function that
// takes a Command[T] does not compile when given an Event[T], and neither
// converts into the other. The zero Command has a zero Name, which the bus
// refuses.
type Command[T any] struct {
	// The differently named fields make Command and Event distinct
	// underlying types, so no conversion between them compiles; the
	// zero-size [0]T does the same between Command[A] and Command[B].
	_       [0]T
	command Name
}

// Event is a typed event topic: a name with a past-tense verb
// ("v1.user.signedup") and the Go type T of its payload. Immutable and safe
// for concurrent use, like Command; see Command for why the two never mix.
type Event[T any] struct {
	_     [0]T
	event Name
}

// NewCommand parses name as a command topic carrying T. The error matches
// ErrInvalidName for a grammar mistake and ErrTense for a known verb in the
// past tense (unless SkipTenseCheck is given); see CheckTense.
func NewCommand[T any](name string, opts ...Option) (Command[T], error) {
	n, err := checked(name, KindCommand, opts)
	if err != nil {
		return Command[T]{}, err
	}
	return Command[T]{command: n}, nil
}

// MustCommand is NewCommand for names fixed in the source: it panics with
// NewCommand's error, so a bad name stops the program at start-up.
func MustCommand[T any](name string, opts ...Option) Command[T] {
	c, err := NewCommand[T](name, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// NewEvent parses name as an event topic carrying T. The error matches
// ErrInvalidName for a grammar mistake and ErrTense for a known verb in the
// present tense (unless SkipTenseCheck is given); see CheckTense.
func NewEvent[T any](name string, opts ...Option) (Event[T], error) {
	n, err := checked(name, KindEvent, opts)
	if err != nil {
		return Event[T]{}, err
	}
	return Event[T]{event: n}, nil
}

// MustEvent is NewEvent for names fixed in the source: it panics with
// NewEvent's error.
func MustEvent[T any](name string, opts ...Option) Event[T] {
	e, err := NewEvent[T](name, opts...)
	if err != nil {
		panic(err)
	}
	return e
}

func checked(name string, k Kind, opts []Option) (Name, error) {
	skipTense := false
	if len(opts) > 0 {
		var o options
		for _, opt := range opts {
			if opt != nil {
				opt.apply(&o)
			}
		}
		skipTense = o.skipTense
	}
	n, err := Parse(name)
	if err != nil {
		return Name{}, err
	}
	if !skipTense {
		if err := CheckTense(n, k); err != nil {
			return Name{}, err
		}
	}
	return n, nil
}

// Name returns the command's topic name. The returned Name is a copy the
// caller may change without affecting c.
func (c Command[T]) Name() Name { return c.command.clone() }

// Name returns the event's topic name. The returned Name is a copy the
// caller may change without affecting e.
func (e Event[T]) Name() Name { return e.event.clone() }

// Kind returns KindCommand.
func (c Command[T]) Kind() Kind { return KindCommand }

// Kind returns KindEvent.
func (e Event[T]) Kind() Kind { return KindEvent }

// String returns the topic name, such as "v1.user.signup" ("" for the zero
// Command), without allocating.
func (c Command[T]) String() string { return c.command.String() }

// String returns the topic name, such as "v1.user.signedup" ("" for the zero
// Event), without allocating.
func (e Event[T]) String() string { return e.event.String() }

// clone copies n so that its Qualifiers do not share memory with the
// original. Names without qualifiers are copied without allocating.
func (n Name) clone() Name {
	if n.Qualifiers != nil {
		n.Qualifiers = append([]string(nil), n.Qualifiers...)
	}
	return n
}
