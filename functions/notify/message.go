package notify

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

// Email is one message, with a plain-text and an HTML body.
type Email struct {
	To        string
	Subject   string
	Text      string
	HTML      string
	MessageID string
}

type message struct {
	email Email
	push  Push
	// text is the text message: short (one or two SMS segments, each billed)
	// with the link and the job id.
	text string
}

type link struct {
	URL           string
	Width, Height int
}

type view struct {
	JobID  string
	Style  string
	Links  []link
	Reason string
	Advice string
}

var (
	readyText = texttemplate.Must(texttemplate.New("ready").Parse(
		`Your {{.Style}} portrait is ready.
{{range .Links}}
  {{.URL}}  ({{.Width}}x{{.Height}})
{{end}}
The links expire; download the images soon.

Job {{.JobID}}
`))
	readyHTML = htmltemplate.Must(htmltemplate.New("ready").Parse(
		`<!doctype html><html><body style="font-family:sans-serif">
<p>Your <b>{{.Style}}</b> portrait is ready.</p>
{{range .Links}}<p><a href="{{.URL}}"><img src="{{.URL}}" width="320" alt="your portrait ({{.Width}}x{{.Height}})"></a><br><a href="{{.URL}}">Download ({{.Width}}x{{.Height}})</a></p>
{{end}}<p style="color:#666">The links expire; download the images soon. Job {{.JobID}}</p>
</body></html>`))
	failedText = texttemplate.Must(texttemplate.New("failed").Parse(
		`We could not create your {{.Style}} portrait.

What happened: {{.Reason}}
What to do: {{.Advice}}

Job {{.JobID}}
`))
	failedHTML = htmltemplate.Must(htmltemplate.New("failed").Parse(
		`<!doctype html><html><body style="font-family:sans-serif">
<p>We could not create your <b>{{.Style}}</b> portrait.</p>
<p><b>What happened:</b> {{.Reason}}</p>
<p><b>What to do:</b> {{.Advice}}</p>
<p style="color:#666">Job {{.JobID}}</p>
</body></html>`))
)

// explain turns an error document into words for the owner: what happened
// and what to do.
func explain(code string) (reason, advice string) {
	switch code {
	case jobs.CodeNoFace:
		return "we could not find a face in your photo.",
			"retake the photo facing the camera, with your whole face visible and well lit, and submit it again."
	case jobs.CodeInvalidInput:
		return "the photo could not be read or used.",
			"submit another photo (JPEG, PNG or WebP, one face, well lit)."
	case jobs.CodeBlocked:
		return "the image model declined this photo or style for safety reasons.",
			"submit another photo (one person, facing the camera, nothing else in focus), or pick another style."
	case jobs.CodeAttemptsExhausted, jobs.CodeInternal:
		return "the studio had a technical problem with this photo.",
			"submit the photo again in a few minutes, or ask the staff at the booth."
	}
	return "the studio could not finish the job.",
		"submit the photo again, or ask the staff at the booth."
}

// jobLink is the app's page of the job for its owner; a booth job's owner
// is the kiosk's staff account, so a booth attendee gets the download link
// instead (Notify never knows the pick-up code: only its hash is stored).
func (s *Service) jobLink(job store.Job) string {
	if s.d.AppURL == "" || job.Request.Priority == jobs.Booth {
		return ""
	}
	return strings.TrimRight(s.d.AppURL, "/") + "/#/job/" + url.PathEscape(job.ID)
}

func (s *Service) compose(ctx context.Context, job store.Job, what outcome) (message, error) {
	style := job.Request.Style
	if st, ok := s.d.Styles.Lookup(style); ok {
		style = st.Name
	}
	v := view{JobID: job.ID, Style: style}
	var text *texttemplate.Template
	var html *htmltemplate.Template
	var m message
	m.push.Data = map[string]string{"jobId": job.ID}
	switch what {
	case succeeded:
		if job.Response == nil {
			return message{}, fmt.Errorf("notify: job %s has no response", job.ID)
		}
		for _, o := range job.Response.Outputs {
			u, err := s.d.URLs.URL(ctx, s.d.OutputBucket, o.Name)
			if err != nil {
				return message{}, fmt.Errorf("notify: link output: %w", err)
			}
			v.Links = append(v.Links, link{URL: u, Width: o.Width, Height: o.Height})
		}
		text, html = readyText, readyHTML
		m.email.Subject = fmt.Sprintf("Your %s portrait is ready", style)
		m.push = Push{Title: "Your portrait is ready", Body: fmt.Sprintf("Your %s portrait is ready to download.", style),
			Data: map[string]string{"jobId": job.ID, "status": "succeeded", "style": job.Request.Style}}
		link := s.jobLink(job)
		if link == "" && len(v.Links) > 0 {
			link = v.Links[0].URL
		}
		m.text = fmt.Sprintf("Tiger Studio: your %s portrait is ready. %s (job %s)", style, link, job.ID)
	case failed:
		code := ""
		if job.Failure != nil {
			code = job.Failure.Code
		}
		v.Reason, v.Advice = explain(code)
		text, html = failedText, failedHTML
		m.email.Subject = fmt.Sprintf("We could not create your %s portrait", style)
		m.push = Push{Title: "Your portrait could not be made", Body: v.Reason + " " + v.Advice,
			Data: map[string]string{"jobId": job.ID, "status": "failed", "style": job.Request.Style}}
		m.text = fmt.Sprintf("Tiger Studio: we could not create your %s portrait: %s %s", style, v.Reason, s.jobLink(job))
		m.text = strings.TrimSpace(m.text) + fmt.Sprintf(" (job %s)", job.ID)
	}
	var tb, hb bytes.Buffer
	if err := text.Execute(&tb, v); err != nil {
		return message{}, fmt.Errorf("notify: text body: %w", err)
	}
	if err := html.Execute(&hb, v); err != nil {
		return message{}, fmt.Errorf("notify: html body: %w", err)
	}
	m.email.Text, m.email.HTML = tb.String(), hb.String()
	m.email.MessageID = fmt.Sprintf("<%s.%d@tiger-studio>", job.ID, what)
	return m, nil
}
