// Command demo is `make demo`: on the running local stack it signs a user in
// on the Auth emulator, submits the bundled portrait (NASA's public-domain
// astronaut photo of Eileen Collins, as shipped in Debian's python3-skimage
// data) in every style, shows progress while it waits, saves the outputs
// under .local/demo/ and prints their paths and the jobs' timings.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/appcheck"
	"github.com/tigerstudio/studio/infra/entry"
	"github.com/tigerstudio/studio/infra/samples"
)

func main() {
	entry.Main(realMain, func(err error) { fmt.Fprintln(os.Stderr, "demo:", err) })
}

func realMain(ctx context.Context) error {
	gatewayURL, authHost := os.Getenv("GATEWAY_URL"), os.Getenv("FIREBASE_AUTH_EMULATOR_HOST")
	if gatewayURL == "" || authHost == "" {
		return errors.New("GATEWAY_URL and FIREBASE_AUTH_EMULATOR_HOST are not set: start the stack with `make dev` and load .local/env, or run `make demo`")
	}
	outDir := filepath.Join(".local", "demo")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	c, err := signIn(ctx, gatewayURL, authHost)
	if err != nil {
		return err
	}
	all, err := c.Styles(ctx)
	if err != nil {
		return err
	}
	styles, generated := demoStyles(all)
	start := time.Now()
	submitted, err := submitAll(ctx, c, styles)
	if err != nil {
		return err
	}
	failed := 0
	for _, job := range submitted {
		done, err := c.Wait(ctx, job.ID, 200*time.Millisecond, func(j api.Job) {
			fmt.Printf("  %6.1fs  %-12s %s\n", time.Since(start).Seconds(), j.Style, j.Status)
		})
		if err != nil {
			return err
		}
		if done.Status == "failed" {
			failed++
			fmt.Printf("job %s failed: %s: %s\n", done.ID, done.Error.Code, done.Error.Message)
			continue
		}
		if err := report(ctx, c, done, outDir, generated[done.Style]); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d jobs failed", failed, len(submitted))
	}
	if dir := os.Getenv("MAIL_DIR"); dir != "" {
		printMails(ctx, dir, submitted)
	}
	// The same flows in a browser: the web app on the Hosting emulator
	// (absent when the stack runs without its web part).
	if web := os.Getenv("WEB_URL"); web != "" {
		return printApp(ctx, web, authHost, os.Getenv("GCLOUD_PROJECT"))
	}
	return nil
}

// signIn signs up a new account on the Auth emulator and, when the stack
// has its App Check stand-in, gets the App Check token the Gateway wants
// with each submission, as the web app does.
func signIn(ctx context.Context, gatewayURL, authHost string) (*client.Client, error) {
	email := fmt.Sprintf("demo-%d@example.test", time.Now().UnixNano())
	token, err := client.EmulatorSignUp(ctx, authHost, os.Getenv("GCLOUD_PROJECT"), email, "demo-password")
	if err != nil {
		return nil, err
	}
	fmt.Printf("signed in on the Auth emulator as %s\n", email)
	c := &client.Client{BaseURL: gatewayURL, Token: token}
	if standin := os.Getenv("APPCHECK_STANDIN_URL"); standin != "" {
		c.AppCheck, err = appcheck.ExchangeDebugToken(ctx, http.DefaultClient, standin, os.Getenv("GCLOUD_PROJECT"),
			os.Getenv("APP_CHECK_APP_ID"), os.Getenv("APP_CHECK_DEBUG_TOKEN"))
		if err != nil {
			return nil, err
		}
		fmt.Println("App Check token from the stack's App Check stand-in (in the cloud: reCAPTCHA Enterprise attests the app)")
	}
	return c, nil
}

// demoStyles are the styles the demo runs (DEMO_STYLE's, or the local ones
// and one generated), and who draws each generated one.
func demoStyles(all []api.StyleInfo) ([]api.StyleInfo, map[string]*api.Generated) {
	styles := oneGenerated(all)
	if only := os.Getenv("DEMO_STYLE"); only != "" {
		styles = filter(all, only)
	}
	generated := make(map[string]*api.Generated)
	for _, s := range styles {
		generated[s.ID] = s.Generated
	}
	return styles, generated
}

// submitAll submits the sample portrait once in each style.
func submitAll(ctx context.Context, c *client.Client, styles []api.StyleInfo) ([]api.Job, error) {
	submitted := make([]api.Job, 0, len(styles))
	for _, s := range styles {
		job, err := c.Submit(ctx, client.Submission{Photo: samples.Astronaut(), ContentType: "image/png", Style: s.ID})
		if err != nil {
			return nil, err
		}
		fmt.Printf("submitted %-12s job %s (%s)\n", s.ID, job.ID, job.Status)
		submitted = append(submitted, job)
	}
	return submitted, nil
}

// report downloads a finished job's outputs into outDir and prints where
// they are, the job's timings and, for a generated style (g), who drew it.
func report(ctx context.Context, c *client.Client, done api.Job, outDir string, g *api.Generated) error {
	for i, o := range done.Outputs {
		data, err := c.Download(ctx, o.URL)
		if err != nil {
			return err
		}
		path := filepath.Join(outDir, fmt.Sprintf("%s-%s-%d.jpg", done.Style, done.ID[:8], i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		abs, _ := filepath.Abs(path)
		fmt.Printf("%-12s %dx%d  %s\n", done.Style, o.Width, o.Height, abs)
		fmt.Printf("             url %s\n", o.URL)
	}
	if t := done.Timings; t != nil {
		fmt.Printf("             queued %d ms, generated in %d ms, total %d ms\n", t.QueuedMs, t.GenerateMs, t.TotalMs)
	}
	if g != nil {
		if standin := os.Getenv("VERTEX_STANDIN_URL"); standin != "" {
			fmt.Printf("             drawn by the local Vertex AI STAND-IN at %s: a posterised, marked copy, no model ran\n", standin)
		}
		fmt.Printf("             in the cloud %s draws it on %s, list price $%.3f an image (%s)\n", g.Model, g.Processor, g.PriceUSD, g.PriceAsOf)
	}
	return nil
}

// oneGenerated keeps the local styles and the first style a hosted model
// draws: the demo shows a generated style without paying for (or, locally,
// waiting on) every one.
func oneGenerated(styles []api.StyleInfo) []api.StyleInfo {
	out := styles[:0:0]
	seen := false
	for _, s := range styles {
		if s.Generated != nil {
			if seen {
				continue
			}
			seen = true
		}
		out = append(out, s)
	}
	return out
}

// printApp prints where the two flows start in a browser, with a booth
// staff account of this run for the kiosk (a fresh one each time: the
// emulator keeps accounts while the stack runs).
func printApp(ctx context.Context, web, authHost, project string) error {
	email := fmt.Sprintf("booth-%d@example.test", time.Now().UnixNano())
	secret := make([]byte, 6)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("booth password: %w", err)
	}
	password := "booth-" + hex.EncodeToString(secret)
	event := cmp.Or(os.Getenv("EVENT"), "local") // the stack's Gateway's
	if err := client.EmulatorStaffAccount(ctx, authHost, project, event, email, password); err != nil {
		return err
	}
	fmt.Printf("open the app: %s\n", web)
	fmt.Printf("  attendee: %s (Take my portrait, Continue as guest; a phone's layout with the browser's device toolbar)\n", web)
	fmt.Printf("  kiosk:    %s/#/kiosk, staff sign-in %s / %s (a camera is needed; local emulator account)\n", web, email, password)
	return nil
}

// printMails waits briefly for Notify's emails about the jobs (the bridge
// and Notify run asynchronously) and prints where the SMTP sink put them.
func printMails(ctx context.Context, dir string, submitted []api.Job) {
	deadline := time.Now().Add(15 * time.Second)
	found := map[string]string{}
	for len(found) < len(submitted) && time.Now().Before(deadline) && ctx.Err() == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, j := range submitted {
				if strings.Contains(string(raw), j.ID) {
					found[j.ID] = f
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, j := range submitted {
		if f, ok := found[j.ID]; ok {
			fmt.Printf("email about %-12s %s\n", j.Style, f)
		} else {
			fmt.Printf("email about %-12s not arrived yet (is Notify running? see .local/logs/notify.log)\n", j.Style)
		}
	}
}

func filter(all []api.StyleInfo, ids string) []api.StyleInfo {
	var out []api.StyleInfo
	for _, s := range all {
		for _, id := range strings.Split(ids, ",") {
			if s.ID == strings.TrimSpace(id) {
				out = append(out, s)
			}
		}
	}
	return out
}
