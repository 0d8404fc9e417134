package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

func TestGraphNodeIDsStayUnique(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `version: 1
topics:
  v1.user.signedup: {}
services:
  mail-out: {subscribes: [v1.user.signedup]}
  mail_out: {publishes: [v1.user.signedup]}
`)
	g, err := catalog.GenerateGraph(c, catalog.GraphMermaid)
	require.NoError(t, err)
	assert.Contains(t, string(g), `  svc_mail_out("mail-out")`)
	assert.Contains(t, string(g), `  svc_mail_out_2("mail_out")`)
	assert.Contains(t, string(g), "  evt_v1_user_signedup -.->|subscribes| svc_mail_out\n")
	assert.Contains(t, string(g), "  svc_mail_out_2 -.->|publishes| evt_v1_user_signedup\n")
}

func TestGraphRefusals(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {}\n")
	_, err := catalog.GenerateGraph(c, "png")
	assert.ErrorContains(t, err, `unknown graph format "png"; use mermaid or dot`)

	bad := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web: {sends: [v1.user.nope]}\n")
	_, err = catalog.GenerateGraph(bad, catalog.GraphDot)
	assert.ErrorIs(t, err, catalog.ErrInvalid)
	assert.ErrorContains(t, err, "cat.yaml:5: service web: sends v1.user.nope, which is not declared under topics")
}

func TestGraphDotQuotes(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web: {sends: [v1.user.signup]}\n  accounts: {handles: [v1.user.signup]}\n")
	g, err := catalog.GenerateGraph(c, catalog.GraphDot)
	require.NoError(t, err)
	assert.Equal(t, `digraph choreo {
  rankdir=LR;
  node [fontname="Helvetica", style=filled];
  edge [fontname="Helvetica", fontsize=10];
  "svc_accounts" [label="accounts", shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#1a73e8"];
  "svc_web" [label="web", shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#1a73e8"];
  "cmd_v1_user_signup" [label="v1.user.signup", shape=cds, fillcolor="#fef3e2", color="#e8710a"];
  "cmd_v1_user_signup" -> "svc_accounts" [label="handles"];
  "svc_web" -> "cmd_v1_user_signup" [label="sends"];
}
`, string(g))
}
