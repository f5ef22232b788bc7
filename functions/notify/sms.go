package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Texter sends text messages through one provider. Twilio's Messages API
// is the one built here; another provider (a KakaoTalk business-message
// API, see README) is another implementation of the same two methods.
type Texter interface {
	// Text sends one message. An error wrapping ErrTextRejected means the
	// provider refused it for good (a number that cannot receive texts):
	// retrying cannot help. Any other error is transient.
	Text(ctx context.Context, t Text) error
	// Sent reports whether the provider already accepted a message for
	// t.Key to t.To: a delivery that crashed between the provider's answer
	// and the ledger's record asks before sending again, so the retry
	// neither loses the message nor sends it twice.
	Sent(ctx context.Context, t Text) (bool, error)
}

// Text is one text message. Key (the job id) appears in Body, so the
// provider's record of the message shows which job it was for.
type Text struct {
	To   string
	Body string
	Key  string
}

// ErrTextRejected means the provider refused the message permanently.
var ErrTextRejected = errors.New("text message rejected")

// TwilioTexter sends SMS through Twilio's Programmable Messaging REST API
// (api.twilio.com/2010-04-01, Messages resource) with plain net/http: the
// API has been stable since 2010, and two calls do not need an SDK.
type TwilioTexter struct {
	// BaseURL is https://api.twilio.com, or the local stand-in's address.
	BaseURL    string
	AccountSID string
	// AuthToken is a secret (Secret Manager in the cloud); never logged.
	AuthToken string
	// From is the sender: a Twilio number in E.164, an alphanumeric sender
	// id, or a Messaging Service SID (MG...).
	From   string
	Client *http.Client
}

// twilioMessage is the part of Twilio's Message resource used here.
type twilioMessage struct {
	SID    string `json:"sid"`
	To     string `json:"to"`
	From   string `json:"from"`
	Body   string `json:"body"`
	Status string `json:"status"`
}

// twilioError is Twilio's error body: {"code", "message", "more_info", "status"}.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

func (t *TwilioTexter) messagesURL() string {
	return strings.TrimRight(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
}

func (t *TwilioTexter) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Accept", "application/json")
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	return c.Do(req.WithContext(ctx))
}

// Text creates one Message.
func (t *TwilioTexter) Text(ctx context.Context, m Text) error {
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if strings.HasPrefix(t.From, "MG") {
		form.Set("MessagingServiceSid", t.From)
	} else {
		form.Set("From", t.From)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.messagesURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.do(ctx, req)
	if err != nil {
		return fmt.Errorf("twilio: send: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		return nil
	}
	return twilioFailure(resp.StatusCode, body)
}

// twilioFailure classifies an error answer: 429 and 5xx are transient, as
// are 401/403/404 (the operator's credentials or account, which a fix
// of theirs and the trigger's retry recover); any other 4xx refuses this
// message (an invalid or unsubscribed number) and is final.
func twilioFailure(status int, body []byte) error {
	var e twilioError
	_ = json.Unmarshal(body, &e)
	err := fmt.Errorf("twilio: HTTP %d, code %d: %s", status, e.Code, e.Message)
	switch {
	case status == http.StatusTooManyRequests, status >= 500,
		status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return err
	case status >= 400:
		return fmt.Errorf("%w: %w", ErrTextRejected, err)
	}
	return err
}

// Sent lists the newest messages from From to m.To (Twilio lists newest
// first) and looks for m.Key in their bodies.
func (t *TwilioTexter) Sent(ctx context.Context, m Text) (bool, error) {
	q := url.Values{"To": {m.To}, "PageSize": {"50"}}
	if !strings.HasPrefix(t.From, "MG") {
		q.Set("From", t.From)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.messagesURL()+"?"+q.Encode(), nil)
	if err != nil {
		return false, fmt.Errorf("twilio: %w", err)
	}
	resp, err := t.do(ctx, req)
	if err != nil {
		return false, fmt.Errorf("twilio: list: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("twilio: list: %w", twilioFailure(resp.StatusCode, body))
	}
	var page struct {
		Messages []twilioMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return false, fmt.Errorf("twilio: list: %w", err)
	}
	for _, msg := range page.Messages {
		if strings.Contains(msg.Body, m.Key) {
			return true, nil
		}
	}
	return false, nil
}
