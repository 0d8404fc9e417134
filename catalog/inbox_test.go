package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

func TestServiceInbox(t *testing.T) {
	c, err := catalog.Parse("c.yaml", []byte(`version: 1
topics:
  v1.user.signedup: {}
services:
  email: {subscribes: [v1.user.signedup], inbox: true}
  metrics: {subscribes: [v1.user.signedup], inbox: false}
  web: {}
`))
	require.NoError(t, err)
	assert.True(t, c.Service("email").Inbox)
	assert.Equal(t, 5, c.Service("email").InboxLine)
	assert.False(t, c.Service("metrics").Inbox)
	assert.False(t, c.Service("web").Inbox)

	_, err = catalog.Parse("c.yaml", []byte(`version: 1
services:
  email: {inbox: "email_inbox"}
`))
	require.ErrorIs(t, err, catalog.ErrInvalid)
	assert.Contains(t, err.Error(), `c.yaml:3: service email: inbox: "email_inbox" is not true or false`)
}
