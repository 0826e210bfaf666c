package store

// SetResultsCheckedHook makes f run inside SaveResults' transaction right after its month check,
// until the returned restore is called.
func SetResultsCheckedHook(f func()) (restore func()) {
	hookResultsChecked = f
	return func() { hookResultsChecked = nil }
}
