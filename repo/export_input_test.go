package repo

// SetKeepOpenBudget sets how many inputs a batch keeps open, for tests, and
// returns a function that restores the limit.
func SetKeepOpenBudget(n int) (restore func()) {
	old := keepOpenBudget
	keepOpenBudget = func() int { return n }
	return func() { keepOpenBudget = old }
}
