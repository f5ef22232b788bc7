package gateway

import (
	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/styles"
)

// photoLimits is the upload check's limits as GET /v1/styles tells them to
// the app, which refuses a photo the Gateway would refuse before sending it
// (and says why in the user's words).
func (s *Server) photoLimits() api.PhotoLimits {
	p := s.d.Photos
	return api.PhotoLimits{MinSide: p.MinSide, MaxAspect: p.MaxAspect, MaxBytes: p.MaxBytes, MaxPixels: p.MaxPixels}
}

// localized is a style's translations as GET /v1/styles serves them.
func localized(in map[string]styles.Text) map[string]api.StyleText {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]api.StyleText, len(in))
	for lang, t := range in {
		out[lang] = api.StyleText{Name: t.Name, Description: t.Description}
	}
	return out
}
