package impl

import (
	"github.com/sachet-server/sachet/gen"
)

// Server is the whole API, composed of one handler struct per tag.
type Server struct {
	*Auth
	*Users
	*Settings
	*Shares
	*Content
	*Uploads
	*Meta
	*Keys
	*Requests
}

var _ gen.StrictServerInterface = (*Server)(nil)
