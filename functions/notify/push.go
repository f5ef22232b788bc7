package notify

import (
	"context"
	"fmt"
	"log/slog"

	"firebase.google.com/go/v4/messaging"
)

// FCMMessenger sends push notifications with Firebase Cloud Messaging
// through the Admin SDK.
type FCMMessenger struct {
	Client *messaging.Client
	Logger *slog.Logger
}

// Send delivers p to every token and returns the tokens FCM rejected for
// good (unregistered: the browser revoked the subscription; invalid), which
// the caller removes from devices/{uid}. If any device got the notification
// it counts as sent: retrying would notify those devices twice. Only when
// none did and some failed transiently is the failure returned, so the
// trigger retries.
func (f *FCMMessenger) Send(ctx context.Context, tokens []string, p Push) ([]string, error) {
	resp, err := f.Client.SendEachForMulticast(ctx, &messaging.MulticastMessage{
		Tokens:       tokens,
		Notification: &messaging.Notification{Title: p.Title, Body: p.Body},
		Data:         p.Data,
	})
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	var rejected []string
	transient := 0
	for i, r := range resp.Responses {
		switch {
		case r.Success:
		case messaging.IsUnregistered(r.Error) || messaging.IsInvalidArgument(r.Error):
			f.Logger.Warn("push token rejected; removing it", "device", i, "err", r.Error)
			rejected = append(rejected, tokens[i])
		default:
			f.Logger.Warn("push to a device failed", "device", i, "err", r.Error)
			transient++
		}
	}
	if resp.SuccessCount == 0 && transient > 0 {
		return rejected, fmt.Errorf("fcm: all %d sends failed", len(tokens))
	}
	return rejected, nil
}

// LogMessenger stands in for FCM in the local stack, which has no FCM
// emulator: it logs what would be pushed (not the tokens).
type LogMessenger struct {
	Logger *slog.Logger
}

// Send logs the notification.
func (l *LogMessenger) Send(ctx context.Context, tokens []string, p Push) ([]string, error) {
	l.Logger.InfoContext(ctx, "push (local stand-in for FCM)", "devices", len(tokens), "title", p.Title, "data", p.Data)
	return nil, nil
}
