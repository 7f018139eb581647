package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/store"
)

// Topic management, in both of FCM's API generations (docs/api.md §3):
// the Instance ID batch calls the Go Admin SDK makes, the per-token
// topicSubscriptions resource the Node Admin SDK 14.5 uses, and the
// device's own subscribe and unsubscribe. Each answers errors in its own
// API's format.

// maxBatchTokens is the most tokens of one Instance ID batch call.
const maxBatchTokens = 1000

// maxBatchBodyBytes bounds a batch call's body: 1000 tokens of Herald's 43
// characters fit in 64 KiB, tokens of other shapes may be longer.
const maxBatchBodyBytes = 1 << 20

// Per-token errors of an Instance ID batch call.
const (
	iidNotFound        = "NOT_FOUND"
	iidInvalidArgument = "INVALID_ARGUMENT"
	iidTooManyTopics   = "TOO_MANY_TOPICS"
	iidInternal        = "INTERNAL"
)

// codeTooManyTopics is the FcmError errorCode of a subscription beyond
// store.MaxTopicsPerRegistration on the topicSubscriptions API; the Node
// SDK maps it to messaging/too-many-topics.
const codeTooManyTopics = "TOO_MANY_TOPICS"

// wellFormedToken reports whether token could be a registration token:
// 1 to fcm.MaxTokenLength printable ASCII characters, no space.
func wellFormedToken(token string) bool {
	if token == "" || len(token) > fcm.MaxTokenLength {
		return false
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return false
		}
	}
	return true
}

// topicNameRule is the text of an invalid topic name error.
var topicNameRule = fmt.Sprintf("it must match [a-zA-Z0-9-_.~%%]{1,%d}", fcm.MaxTopicLength)

// iidBatchRequest is the body of POST /iid/v1:batchAdd and :batchRemove.
type iidBatchRequest struct {
	To     string   `json:"to"`
	Tokens []string `json:"registration_tokens"`
}

// iidBatchResponse has one result per token, in order: {} for success or
// {"error":"<CODE>"}.
type iidBatchResponse struct {
	Results []iidResult `json:"results"`
}

type iidResult struct {
	Error string `json:"error,omitempty"`
}

// iidBatch is POST /iid/v1:batchAdd (add) and /iid/v1:batchRemove.
//
// The project is the access token's. The admin credential acts on tokens
// of any project, or with ?project=P on those of P only.
func (a *API) iidBatch(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		bearer, ok := auth.BearerToken(r)
		if !ok {
			iidError(w, http.StatusUnauthorized, "UNAUTHENTICATED")
			return
		}
		project := r.URL.Query().Get("project")
		if !a.Admin.Check(bearer) {
			p, err := a.Authority.Verify(ctx, bearer)
			if err != nil {
				iidError(w, http.StatusUnauthorized, "UNAUTHENTICATED")
				return
			}
			if project != "" && project != p.ProjectID {
				iidError(w, http.StatusForbidden, "PERMISSION_DENIED")
				return
			}
			project = p.ProjectID
		}
		var req iidBatchRequest
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBodyBytes))
		if err != nil || json.Unmarshal(body, &req) != nil {
			iidError(w, http.StatusBadRequest, "INVALID_ARGUMENT")
			return
		}
		topic := strings.TrimPrefix(req.To, "/topics/")
		if !fcm.ValidTopic(topic) || len(req.Tokens) == 0 || len(req.Tokens) > maxBatchTokens {
			iidError(w, http.StatusBadRequest, "INVALID_ARGUMENT")
			return
		}
		// Malformed tokens are answered without a store call.
		var tokens []string
		var at []int
		resp := iidBatchResponse{Results: make([]iidResult, len(req.Tokens))}
		for i, t := range req.Tokens {
			if !wellFormedToken(t) {
				resp.Results[i].Error = iidInvalidArgument
				continue
			}
			tokens = append(tokens, t)
			at = append(at, i)
		}
		var results []dispatch.TopicResult
		if add {
			results = a.Hub.Subscribe(ctx, project, topic, tokens)
		} else {
			results = a.Hub.Unsubscribe(ctx, project, topic, tokens)
		}
		for j, res := range results {
			code := ""
			switch err := res.Err; {
			case err == nil:
			case errors.Is(err, dispatch.ErrUnregistered):
				code = iidNotFound
			case errors.Is(err, dispatch.ErrSenderIDMismatch):
				code = iidInvalidArgument
			case errors.Is(err, store.ErrTooManyTopics):
				code = iidTooManyTopics
			case errors.Is(err, store.ErrClosed), errors.Is(err, dispatch.ErrShuttingDown):
				// Retrying the whole call is safe: both calls are idempotent.
				iidError(w, http.StatusServiceUnavailable, "UNAVAILABLE")
				return
			default:
				a.Logger.Error("topic management", "add", add, "err", err)
				code = iidInternal
			}
			resp.Results[at[j]].Error = code
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// topicSubscription is the topicSubscriptions API's resource.
type topicSubscription struct {
	Name       string `json:"name"`
	TopicName  string `json:"topic_name"`
	CreateTime string `json:"create_time"`
}

// createTopicSubscription is POST
// /v1/projects/{project}/registrations/{token}/topicSubscriptions?topic_name=T.
// A subscription that exists already answers 409 ALREADY_EXISTS.
func (a *API) createTopicSubscription(w http.ResponseWriter, r *http.Request) {
	project, token := r.PathValue("project"), r.PathValue("token")
	if ferr := a.authorizeSend(r, project); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	var body map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		fcm.WriteError(w, fcm.InvalidArgument("", "Invalid JSON payload received: %v. Send {}.", err))
		return
	}
	topic := r.URL.Query().Get("topic_name")
	if ferr := checkTopicRequest(token, topic, "topic_name"); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	res := a.Hub.Subscribe(r.Context(), project, topic, []string{token})[0]
	if ferr := a.topicSubscriptionError(res.Err); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	if !res.Changed {
		fcm.WriteError(w, &fcm.Error{HTTPStatus: http.StatusConflict, Status: "ALREADY_EXISTS",
			Message: "The registration is already subscribed to topic " + strconv.Quote(topic) + "."})
		return
	}
	writeJSON(w, http.StatusOK, topicSubscription{
		Name:       "projects/" + project + "/registrations/" + token + "/topicSubscriptions/" + topic,
		TopicName:  topic,
		CreateTime: res.At.UTC().Format(time.RFC3339Nano),
	})
}

// deleteTopicSubscription is DELETE
// /v1/projects/{project}/registrations/{token}/topicSubscriptions/{topic}[?allow_missing=true].
// A missing subscription is 404 NOT_FOUND unless allow_missing is true.
func (a *API) deleteTopicSubscription(w http.ResponseWriter, r *http.Request) {
	project, token, topic := r.PathValue("project"), r.PathValue("token"), r.PathValue("topic")
	if ferr := a.authorizeSend(r, project); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	allowMissing := false
	if v := r.URL.Query().Get("allow_missing"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fcm.WriteError(w, fcm.InvalidArgument("allow_missing", "Invalid value for allow_missing: %s; want true or false.", strconv.Quote(v)))
			return
		}
		allowMissing = b
	}
	if ferr := checkTopicRequest(token, topic, "topic"); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	res := a.Hub.Unsubscribe(r.Context(), project, topic, []string{token})[0]
	if ferr := a.topicSubscriptionError(res.Err); ferr != nil {
		fcm.WriteError(w, ferr)
		return
	}
	if !res.Changed && !allowMissing {
		fcm.WriteError(w, fcm.NotFound("The registration is not subscribed to topic "+strconv.Quote(topic)+"."))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// checkTopicRequest checks the token and topic of a topicSubscriptions
// call; field names the topic's parameter.
func checkTopicRequest(token, topic, field string) *fcm.Error {
	if !wellFormedToken(token) {
		return fcm.InvalidArgument("registration", "The registration token is not a valid FCM registration token.")
	}
	if !fcm.ValidTopic(topic) {
		return fcm.InvalidArgument(field, "Invalid topic name %s: %s.", strconv.Quote(topic), topicNameRule)
	}
	return nil
}

// topicSubscriptionError maps a hub error of the topicSubscriptions API.
func (a *API) topicSubscriptionError(err error) *fcm.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dispatch.ErrUnregistered):
		return fcm.Unregistered()
	case errors.Is(err, dispatch.ErrSenderIDMismatch):
		return fcm.InvalidArgument("registration", "The registration token belongs to another project.")
	case errors.Is(err, store.ErrTooManyTopics):
		return &fcm.Error{HTTPStatus: http.StatusBadRequest, Status: "FAILED_PRECONDITION", ErrorCode: codeTooManyTopics,
			Message: fmt.Sprintf("The registration is subscribed to %d topics, the most allowed.", store.MaxTopicsPerRegistration)}
	case errors.Is(err, store.ErrClosed), errors.Is(err, dispatch.ErrShuttingDown):
		return fcm.Unavailable(retryAfterShutdown)
	default:
		a.Logger.Error("topic management", "err", err)
		return fcm.Internal()
	}
}

// deviceTopic is POST (subscribe) and DELETE (unsubscribe)
// /device/v1/registrations/{token}/topics/{topic} with the device
// credential.
func (a *API) deviceTopic(subscribe bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, ok := deviceCredential(r)
		if !ok {
			writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED", "missing device credential: want Authorization: Device <id>:<secret>")
			return
		}
		topic := r.PathValue("topic")
		if !fcm.ValidTopic(topic) {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "invalid topic name "+strconv.Quote(topic)+": "+topicNameRule)
			return
		}
		var err error
		if subscribe {
			err = a.Hub.DeviceSubscribe(r.Context(), cred, r.PathValue("token"), topic)
		} else {
			err = a.Hub.DeviceUnsubscribe(r.Context(), cred, r.PathValue("token"), topic)
		}
		if errors.Is(err, store.ErrTooManyTopics) {
			writeStatus(w, http.StatusBadRequest, "FAILED_PRECONDITION",
				fmt.Sprintf("the registration is subscribed to %d topics, the most allowed: unsubscribe from one first", store.MaxTopicsPerRegistration))
			return
		}
		if err != nil {
			a.hubError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	}
}
