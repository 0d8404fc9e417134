package topic

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type signup struct{ Email string }

func TestNewCommandAndEvent(t *testing.T) {
	t.Parallel()
	c, err := NewCommand[signup]("v1.user.signup")
	require.NoError(t, err)
	assert.Equal(t, "v1.user.signup", c.String())
	assert.Equal(t, "v1.user.signup", c.Name().String())
	assert.Equal(t, "user", c.Name().Entity)
	assert.Equal(t, KindCommand, c.Kind())

	e, err := NewEvent[signup]("v1.user.email.changed")
	require.NoError(t, err)
	assert.Equal(t, "v1.user.email.changed", e.String())
	assert.Equal(t, []string{"email"}, e.Name().Qualifiers)
	assert.Equal(t, KindEvent, e.Kind())
}

func TestNewCommandErrors(t *testing.T) {
	t.Parallel()
	_, err := NewCommand[signup]("v1.User.signup")
	assert.ErrorIs(t, err, ErrInvalidName)
	_, err = NewCommand[signup]("v1.user.signedup")
	assert.ErrorIs(t, err, ErrTense)
	assert.Contains(t, err.Error(), "did you mean v1.user.signup?")
	_, err = NewEvent[signup]("v1.user.signup")
	assert.ErrorIs(t, err, ErrTense)
	assert.Contains(t, err.Error(), "did you mean v1.user.signedup?")
	_, err = NewEvent[signup]("v1..signedup")
	assert.ErrorIs(t, err, ErrInvalidName)
}

func TestSkipTenseCheck(t *testing.T) {
	t.Parallel()
	e, err := NewEvent[int]("v1.build.green", SkipTenseCheck())
	require.NoError(t, err)
	assert.Equal(t, "v1.build.green", e.String())
	c, err := NewCommand[int]("v1.cache.flushed", SkipTenseCheck())
	require.NoError(t, err)
	assert.Equal(t, "v1.cache.flushed", c.String())

	// Never the grammar.
	_, err = NewEvent[int]("v1.Build.green", SkipTenseCheck())
	assert.ErrorIs(t, err, ErrInvalidName)
	_, err = NewCommand[int]("v1.build", SkipTenseCheck())
	assert.ErrorIs(t, err, ErrInvalidName)

	// A nil option is ignored.
	_, err = NewEvent[int]("v1.user.signedup", nil)
	assert.NoError(t, err)
}

func TestVerbsInBothTensesNeedNoOption(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"v1.counter.reset", "v1.value.put", "v1.price.cut", "v1.message.read", "v1.env.setup"} {
		_, err := NewCommand[int](name)
		assert.NoErrorf(t, err, "command %s", name)
		_, err = NewEvent[int](name)
		assert.NoErrorf(t, err, "event %s", name)
	}
}

func TestMustPanicsWithTheError(t *testing.T) {
	t.Parallel()
	assert.NotPanics(t, func() { MustCommand[int]("v1.user.signup") })
	assert.NotPanics(t, func() { MustEvent[int]("v1.user.signedup") })
	for _, f := range []func(){
		func() { MustCommand[int]("v1.user.signedup") },
		func() { MustEvent[int]("v1.user.signup") },
		func() { MustEvent[int]("nope") },
	} {
		func() {
			defer func() {
				r := recover()
				err, ok := r.(error)
				require.Truef(t, ok, "panic value %v is an error", r)
				assert.True(t, reflect.TypeOf(err) != nil)
			}()
			f()
			t.Error("did not panic")
		}()
	}
}

func TestZeroValues(t *testing.T) {
	t.Parallel()
	var c Command[int]
	var e Event[int]
	assert.True(t, c.Name().IsZero())
	assert.True(t, e.Name().IsZero())
	assert.Equal(t, "", c.String())
	assert.Equal(t, "", e.String())
	assert.Equal(t, KindCommand, c.Kind())
	assert.Equal(t, KindEvent, e.Kind())
}

func TestNameReturnsACopy(t *testing.T) {
	t.Parallel()
	e := MustEvent[int]("v1.user.email.changed")
	n := e.Name()
	n.Qualifiers[0] = "phone"
	n.Verb = "verified"
	assert.Equal(t, "v1.user.email.changed", e.String())
	assert.Equal(t, "v1.user.email.changed", e.Name().String())
}

func TestNameWithoutQualifiersDoesNotAllocate(t *testing.T) {
	e := MustEvent[int]("v1.user.signedup")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = e.Name() }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = e.String() }))
}

// acceptsCommand only compiles with a Command. Passing an Event to it, as in
//
//	acceptsCommand(MustEvent[signup]("v1.user.signedup"))
//
// fails to compile ("cannot use ... (value of type Event[signup]) as
// Command[signup] value"); a test cannot assert a compile error, so
// TestCommandAndEventAreDistinctTypes checks the type relations that make
// it so.
func acceptsCommand[T any](c Command[T]) Kind { return c.Kind() }

func TestCommandAndEventAreDistinctTypes(t *testing.T) {
	t.Parallel()
	assert.Equal(t, KindCommand, acceptsCommand(MustCommand[signup]("v1.user.signup")))

	cmd := reflect.TypeFor[Command[signup]]()
	evt := reflect.TypeFor[Event[signup]]()
	cmdOther := reflect.TypeFor[Command[string]]()
	evtOther := reflect.TypeFor[Event[string]]()
	assert.NotEqual(t, cmd, evt)
	for _, pair := range [][2]reflect.Type{{cmd, evt}, {evt, cmd}, {cmd, cmdOther}, {evt, evtOther}, {cmd, evtOther}} {
		assert.Falsef(t, pair[0].AssignableTo(pair[1]), "%v assignable to %v", pair[0], pair[1])
		assert.Falsef(t, pair[0].ConvertibleTo(pair[1]), "%v convertible to %v", pair[0], pair[1])
	}

	kindOf := func(v any) string {
		switch v.(type) {
		case Command[signup]:
			return "command"
		case Event[signup]:
			return "event"
		}
		return "neither"
	}
	assert.Equal(t, "command", kindOf(MustCommand[signup]("v1.user.signup")))
	assert.Equal(t, "event", kindOf(MustEvent[signup]("v1.user.signedup")))
	assert.Equal(t, "neither", kindOf(MustEvent[string]("v1.user.signedup")))
}
