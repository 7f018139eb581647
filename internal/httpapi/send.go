package httpapi

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
)

// retryAfterShutdown is the Retry-After of sends refused while shutting down.
const retryAfterShutdown = 5 * time.Second

// retryAfterOverload is the Retry-After of sends refused because too many
// are waiting for the store.
const retryAfterOverload = time.Second

// send is POST /v1/projects/{project}/messages:send.
func (a *API) send(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	result, ferr := a.doSend(w, r)
	if ferr != nil {
		result = ferr.ErrorCode
		if result == "" {
			result = ferr.Status
		}
		fcm.WriteError(w, ferr)
	}
	a.Metrics.Sends.WithLabelValues(result).Inc()
	a.Metrics.SendSeconds.Observe(time.Since(start).Seconds())
}

func (a *API) doSend(w http.ResponseWriter, r *http.Request) (result string, ferr *fcm.Error) {
	ctx := r.Context()
	project := r.PathValue("project")
	if ferr := a.authorizeSend(r, project); ferr != nil {
		return "", ferr
	}
	// The project quota counts what FCM counts: every request of an
	// authorised sender, client errors and validate_only included, except
	// those answered 429 or 5xx, whose message goes back.
	if err := a.Limiter.Project(project); err != nil {
		return "", a.refusal(err)
	}
	defer func() {
		if ferr != nil && (ferr.HTTPStatus == http.StatusTooManyRequests || ferr.HTTPStatus >= 500) {
			a.Limiter.RefundProject(project)
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", fcm.InvalidArgument("message", "Request payload size exceeds the limit: %d bytes.", maxBodyBytes)
		}
		return "", fcm.InvalidArgument("", "Could not read the request body: %v", err)
	}
	req, err := fcm.DecodeSendRequest(body)
	if err != nil {
		var ferr *fcm.Error
		if errors.As(err, &ferr) {
			return "", ferr
		}
		return "", fcm.InvalidArgument("", "%v", err)
	}
	m := &req.Message
	token := m.Token
	if token == "" {
		token = m.Fid // a Herald registration token doubles as the installation ID
	}
	var notif *herald.Notification
	if n := m.Notification; n != nil {
		notif = &herald.Notification{Title: n.Title, Body: n.Body, Image: n.Image}
	}
	msgBody := dispatch.Body{Data: m.DeliveryData(), Notification: notif}
	var id string
	if token != "" {
		id, err = a.Hub.Send(ctx, dispatch.Outgoing{
			ProjectID:    project,
			Token:        token,
			TTL:          m.TTL(),
			CollapseKey:  m.CollapseKey(),
			High:         m.HighPriority(),
			Body:         msgBody,
			Platform:     m.Platform(),
			ValidateOnly: req.ValidateOnly,
		})
	} else {
		id, err = a.Hub.SendTopic(ctx, dispatch.OutgoingTopic{
			ProjectID:    project,
			Topic:        m.Topic,
			Condition:    m.Condition,
			TTL:          m.TTL(),
			CollapseKey:  m.CollapseKey(),
			High:         m.HighPriority(),
			Body:         msgBody,
			Platform:     m.Platform(),
			ValidateOnly: req.ValidateOnly,
		})
	}
	switch {
	case errors.Is(err, quota.ErrOverloaded), errors.As(err, new(*quota.ExceededError)):
		return "", a.refusal(err)
	case errors.Is(err, dispatch.ErrBadCondition):
		return "", fcm.InvalidArgument("message.condition", "Invalid condition: %v", errors.Unwrap(err))
	case errors.Is(err, dispatch.ErrUnregistered):
		return "", fcm.Unregistered()
	case errors.Is(err, dispatch.ErrSenderIDMismatch):
		return "", fcm.SenderIDMismatch()
	case errors.Is(err, store.ErrClosed), errors.Is(err, dispatch.ErrShuttingDown):
		return "", fcm.Unavailable(retryAfterShutdown)
	case err != nil:
		a.Logger.Error("send failed", "project", project, "err", err)
		return "", fcm.Internal()
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": "projects/" + project + "/messages/" + id})
	if req.ValidateOnly {
		return "validated", nil
	}
	return "accepted", nil
}

// refusal counts a send refused by a limit and returns its FCM error: 429
// QUOTA_EXCEEDED with the time until the limit accepts one more message,
// or 503 UNAVAILABLE with Retry-After: 1 when too many sends are waiting
// for the store.
func (a *API) refusal(err error) *fcm.Error {
	if errors.Is(err, quota.ErrOverloaded) {
		a.Metrics.SendRefusals.WithLabelValues("in_flight").Inc()
		return fcm.Unavailable(retryAfterOverload)
	}
	var e *quota.ExceededError
	if !errors.As(err, &e) {
		return fcm.Internal()
	}
	a.Metrics.SendRefusals.WithLabelValues(string(e.Limit)).Inc()
	return fcm.QuotaExceeded(e.RetryAfter)
}

// authorizeSend accepts an access token of the project's service account,
// or the admin credential.
func (a *API) authorizeSend(r *http.Request, project string) *fcm.Error {
	bearer, ok := auth.BearerToken(r)
	if !ok {
		return fcm.Unauthenticated("Request is missing required authentication credential. Expected OAuth 2 access token from the token_uri of a service-account file made by `herald key create`.")
	}
	if !a.Admin.Check(bearer) {
		p, err := a.Authority.Verify(r.Context(), bearer)
		switch {
		case errors.Is(err, auth.ErrExpired):
			return fcm.Unauthenticated("Request had invalid authentication credentials: the access token expired; get a new one from the token endpoint.")
		case errors.Is(err, auth.ErrRevoked):
			return fcm.Unauthenticated("Request had invalid authentication credentials: the service-account key was revoked.")
		case err != nil:
			return fcm.Unauthenticated("Request had invalid authentication credentials. Expected OAuth 2 access token from Herald's token endpoint.")
		case p.ProjectID != project:
			return fcm.PermissionDenied("Permission 'cloudmessaging.messages.create' denied: the credential belongs to project " + p.ProjectID + ", not " + project + ".")
		}
	}
	if _, err := a.Store.Project(r.Context(), project); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fcm.NotFound("Project " + project + " does not exist on this Herald server.")
		}
		a.Logger.Error("looking up project", "project", project, "err", err)
		return fcm.Internal()
	}
	return nil
}
