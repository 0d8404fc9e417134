package permissions_test

import (
	"fmt"

	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/catalog/permissions"
)

// The permissions of a service that sends one command: its subject, the
// look-up of its stream, the account check, and its own replies.
func ExampleDerive() {
	c, err := catalog.Parse("catalog.yaml", []byte(`version: 1
topics:
  v1.user.signup: {kind: command}
services:
  web: {sends: [v1.user.signup]}
  accounts: {handles: [v1.user.signup]}
`))
	if err != nil {
		panic(err)
	}
	set, err := permissions.Derive(c, "", "web")
	if err != nil {
		panic(err)
	}
	u := set.Users[0]
	fmt.Println(u.Name, u.PasswordVar)
	fmt.Println("publish:", u.Publish)
	fmt.Println("subscribe:", u.Subscribe)
	// Output:
	// web CHOREO_PASSWORD_WEB
	// publish: [$JS.API.INFO $JS.API.STREAM.INFO.CMD_user cmd.v1.user.signup]
	// subscribe: [_INBOX_web.>]
}
