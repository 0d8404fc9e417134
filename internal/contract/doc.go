// Package contract holds no code: its test pins the public API of choreo's
// packages as documented in docs/architecture.md (section "Public API"),
// so that a change of one of those names or signatures fails to compile
// here before it reaches users.
package contract
