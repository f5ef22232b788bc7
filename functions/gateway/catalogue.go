package gateway

import "github.com/tigerstudio/studio/functions/gateway/api"

// photoLimits is the upload check's limits as GET /v1/styles tells them to
// the app, which refuses a photo the Gateway would refuse before sending it
// (and says why in the user's words).
func (s *Server) photoLimits() api.PhotoLimits {
	p := s.d.Photos
	return api.PhotoLimits{MinSide: p.MinSide, MaxAspect: p.MaxAspect, MaxBytes: p.MaxBytes, MaxPixels: p.MaxPixels}
}
