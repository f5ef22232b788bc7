// Package client is a small Go client of the Gateway's HTTP API, used by the
// demo and the end-to-end tests the way an app would use the API.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/appcheck"
)

// Client calls one Gateway as one signed-in user.
type Client struct {
	BaseURL string
	Token   string
	// AppCheck is the Firebase App Check token submissions carry, for a
	// Gateway that enforces App Check (locally the stack's stand-in issues
	// it: testenv.Stack.AppCheckToken).
	AppCheck string
	HTTP     *http.Client
}

// APIError is an error answer of the Gateway: its status and the body's
// fields (api.ErrorBody).
type APIError struct {
	Status  int
	Code    string
	Message string
	Reason  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("gateway: %d %s: %s", e.Status, e.Code, e.Message)
}

// Submission is one photo to turn into a style.
type Submission struct {
	Photo       []byte
	ContentType string
	Style       string
	Priority    string
	Email       string
	// Phone is a number to text (the caller's verified one, or one staff
	// typed); Notify the channels chosen, comma-separated (email, phone,
	// push); empty: the Gateway's defaults.
	Phone          string
	Notify         string
	IdempotencyKey string
}

// Submit posts a job and returns it as accepted.
func (c *Client) Submit(ctx context.Context, s Submission) (api.Job, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := map[string]string{"style": s.Style, "priority": s.Priority, "email": s.Email, "phone": s.Phone, "notify": s.Notify}
	for k, v := range fields {
		if v != "" {
			_ = mw.WriteField(k, v) // writes to a bytes.Buffer cannot fail
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="photo"; filename="photo"`)
	if s.ContentType != "" {
		h.Set("Content-Type", s.ContentType)
	}
	pw, _ := mw.CreatePart(h)
	_, _ = pw.Write(s.Photo)
	mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/jobs", &body)
	if err != nil {
		return api.Job{}, fmt.Errorf("client.Submit: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if s.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", s.IdempotencyKey)
	}
	if c.AppCheck != "" {
		req.Header.Set(appcheck.Header, c.AppCheck)
	}
	var out struct{ Job api.Job }
	if err := c.do(req, http.StatusAccepted, &out); err != nil {
		return api.Job{}, fmt.Errorf("client.Submit: %w", err)
	}
	return out.Job, nil
}

// Job reads a job.
func (c *Client) Job(ctx context.Context, id string) (api.Job, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/jobs/"+id, nil)
	if err != nil {
		return api.Job{}, fmt.Errorf("client.Job: %w", err)
	}
	var out struct{ Job api.Job }
	if err := c.do(req, http.StatusOK, &out); err != nil {
		return api.Job{}, fmt.Errorf("client.Job: %w", err)
	}
	return out.Job, nil
}

// Styles lists the styles.
func (c *Client) Styles(ctx context.Context) ([]api.StyleInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/styles", nil)
	if err != nil {
		return nil, fmt.Errorf("client.Styles: %w", err)
	}
	var out struct{ Styles []api.StyleInfo }
	if err := c.do(req, http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("client.Styles: %w", err)
	}
	return out.Styles, nil
}

// Wait polls a job until it succeeded or failed, calling progress on every
// status change.
func (c *Client) Wait(ctx context.Context, id string, every time.Duration, progress func(api.Job)) (api.Job, error) {
	last := ""
	for {
		j, err := c.Job(ctx, id)
		if err != nil {
			return j, err
		}
		if j.Status != last && progress != nil {
			progress(j)
		}
		last = j.Status
		if j.Status == "succeeded" || j.Status == "failed" {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, fmt.Errorf("client.Wait %s: still %s: %w", id, j.Status, ctx.Err())
		case <-time.After(every):
		}
	}
}

// Download fetches an output URL.
func (c *Client) Download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("client.Download: %w", err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("client.Download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client.Download: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client.Download: %w", err)
	}
	return data, nil
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) do(req *http.Request, want int, out any) error {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var body api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return &APIError{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message, Reason: body.Error.Reason}
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// EmulatorSignUp creates a user on the Auth emulator, verifies their email
// (as following the verification link would) and returns an ID token that
// says so: the Gateway notifies only verified addresses.
func EmulatorSignUp(ctx context.Context, authHost, project, email, password string) (string, error) {
	base := "http://" + authHost + "/identitytoolkit.googleapis.com/v1/"
	creds := map[string]any{"email": email, "password": password, "returnSecureToken": true}
	if err := emulatorCreate(ctx, base, project, creds, nil); err != nil {
		return "", fmt.Errorf("client.EmulatorSignUp: %w", err)
	}
	var out struct {
		IDToken string `json:"idToken"`
	}
	if err := emulatorCall(ctx, base+"accounts:signInWithPassword?key=emulator", "", creds, &out); err != nil {
		return "", fmt.Errorf("client.EmulatorSignUp: sign in: %w", err)
	}
	if out.IDToken == "" {
		return "", fmt.Errorf("client.EmulatorSignUp: sign in: no token")
	}
	return out.IDToken, nil
}

// EmulatorVerifyPhone proves phone for the signed-in user of idToken on the
// Auth emulator as the app's phone linking does (sendVerificationCode, the
// code the emulator shows at /emulator/v1/projects/{p}/verificationCodes
// instead of texting it, signInWithPhoneNumber with the user's token) and
// returns the new ID token, which carries phone_number.
func EmulatorVerifyPhone(ctx context.Context, authHost, project, idToken, phone string) (string, error) {
	base := "http://" + authHost + "/identitytoolkit.googleapis.com/v1/"
	var sent struct {
		SessionInfo string `json:"sessionInfo"`
	}
	// The emulator takes any reCAPTCHA token.
	if err := emulatorCall(ctx, base+"accounts:sendVerificationCode?key=emulator", "",
		map[string]any{"phoneNumber": phone, "recaptchaToken": "emulator"}, &sent); err != nil {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: send code: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://"+authHost+"/emulator/v1/projects/"+project+"/verificationCodes", nil)
	if err != nil {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: read codes: %w", err)
	}
	var codes struct {
		VerificationCodes []struct {
			PhoneNumber string `json:"phoneNumber"`
			SessionInfo string `json:"sessionInfo"`
			Code        string `json:"code"`
		} `json:"verificationCodes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&codes)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: read codes: %w", err)
	}
	code := ""
	for _, c := range codes.VerificationCodes {
		if c.SessionInfo == sent.SessionInfo {
			code = c.Code
		}
	}
	if code == "" {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: the emulator shows no code for %s", phone)
	}
	var out struct {
		IDToken string `json:"idToken"`
	}
	if err := emulatorCall(ctx, base+"accounts:signInWithPhoneNumber?key=emulator", "",
		map[string]any{"sessionInfo": sent.SessionInfo, "code": code, "idToken": idToken}, &out); err != nil {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: confirm code: %w", err)
	}
	if out.IDToken == "" {
		return "", fmt.Errorf("client.EmulatorVerifyPhone: no token")
	}
	return out.IDToken, nil
}

// emulatorCall POSTs a JSON body to the Auth emulator and decodes the
// answer into out (if not nil).
func emulatorCall(ctx context.Context, url, bearer string, body, out any) error {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	// The emulator (Node) drops idle keep-alive connections; a reused one
	// can be reset under us, so each call gets its own.
	req.Close = true
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// EmulatorStaffAccount creates a booth staff account of event on the Auth
// emulator: email and password, the address verified, the staff claim
// naming event (what `studioctl staff grant` sets in the cloud), for the
// kiosk's sign-in.
func EmulatorStaffAccount(ctx context.Context, authHost, project, event, email, password string) error {
	base := "http://" + authHost + "/identitytoolkit.googleapis.com/v1/"
	creds := map[string]any{"email": email, "password": password, "returnSecureToken": true}
	claims, _ := json.Marshal(map[string]any{"staff": []string{event}})
	if err := emulatorCreate(ctx, base, project, creds, map[string]any{"customAttributes": string(claims)}); err != nil {
		return fmt.Errorf("client.EmulatorStaffAccount: %w", err)
	}
	return nil
}

// emulatorCreate creates a user on the Auth emulator as its admin ("owner"
// is the emulator's admin credential), as the operator's tools do: a
// client may not sign up with a password (functions/authblock). It
// verifies the address and sets the extra account fields.
func emulatorCreate(ctx context.Context, base, project string, creds, extra map[string]any) error {
	var user struct {
		LocalID string `json:"localId"`
	}
	if err := emulatorCall(ctx, base+"projects/"+project+"/accounts", "owner", creds, &user); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	update := map[string]any{"localId": user.LocalID, "emailVerified": true}
	for k, v := range extra {
		update[k] = v
	}
	if err := emulatorCall(ctx, base+"projects/"+project+"/accounts:update", "owner", update, nil); err != nil {
		return fmt.Errorf("verify email: %w", err)
	}
	return nil
}
