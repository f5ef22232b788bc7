package gateway

import (
	"context"
	"math"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/styles"
)

// priceMicros is a generated style's list price per image in millionths of
// a US dollar; 0 for a local style.
func priceMicros(st styles.Style) int64 {
	if st.Generated == nil {
		return 0
	}
	return int64(math.Round(st.Generated.PriceUSD * 1e6))
}

// budgetSpent is what the event's accepted generated jobs cost, for the
// listing's "available"; a failed read shows every style available, since
// the submission's own check decides.
func (s *Server) budgetSpent(ctx context.Context) int64 {
	if s.d.Budget == nil || s.d.GeneratedBudget <= 0 {
		return 0
	}
	spent, err := s.d.Budget.Reserved(ctx, s.d.Event)
	if err != nil {
		logging.FromContext(ctx).Warn("could not read the event's spend on generated styles", "err", err)
		return 0
	}
	return spent
}

// spend reserves a generated job's price from the event's budget, before
// anything is stored; a job refused afterwards gives it back (undo).
func (s *Server) spend(ctx context.Context, nj *newJob) *apiError {
	st, _ := s.d.Styles.Lookup(nj.req.Style)
	price := priceMicros(st)
	if price == 0 || s.d.Budget == nil {
		return nil
	}
	ok, err := s.d.Budget.TakeBudget(ctx, s.d.Event, price, s.d.GeneratedBudget)
	if err != nil {
		return s.unavailable(ctx, "count the event's spend on generated styles", err)
	}
	if !ok {
		logging.FromContext(ctx).Info("generated style refused: the event's budget is spent", "style", st.ID)
		e := answerErr(api.CodeResourceExhausted, msgBudgetSpent)
		e.body.Reason = ReasonBudgetSpent
		return e
	}
	nj.budget = price
	return nil
}

// ReasonBudgetSpent marks the refusal of a generated style past the
// event's budget: unlike the rate limits' 429s it does not pass with time,
// so the app offers the local styles instead of trying again.
const ReasonBudgetSpent = "generated_budget_spent"

// msgBudgetSpent is the refusal's message: the attendee can still have a
// portrait in one of the local styles, which the app offers.
const msgBudgetSpent = "this event's budget for portraits drawn by a hosted model is spent; pick one of the studio's own styles, which still work"
