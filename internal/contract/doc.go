// Package contract holds no code: its test pins the public API that
// DESIGN.md promises, so that a change of a contract name or signature
// fails to compile here before it reaches users.
package contract
