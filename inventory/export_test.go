package inventory

import "time"

// ApplyTogether applies revs as one group, as if they had arrived at the
// same moment, and returns each one's outcome and error. fault, when not
// nil, makes the database refuse the write of the revisions it picks.
func (s *Store) ApplyTogether(revs []Revision, fault func(*Revision) bool) ([]Outcome, []error) {
	groupFault = fault
	defer func() { groupFault = nil }()
	outs, errs := make([]Outcome, len(revs)), make([]error, len(revs))
	var reqs []*request
	var idx []int
	for i := range revs {
		rev := revs[i]
		if errs[i] = validateRevision(&rev); errs[i] != nil {
			continue
		}
		reqs = append(reqs, &request{rev: rev, hash: rev.Hash(), done: make(chan result, 1)})
		idx = append(idx, i)
	}
	s.applyGroup(reqs)
	for j, r := range reqs {
		res := <-r.done
		outs[idx[j]], errs[idx[j]] = res.out, res.err
	}
	return outs, errs
}

// SetRunningCheck shortens how often HoldRunning checks its session.
func (s *Store) SetRunningCheck(d time.Duration) { s.runningCheck = d }
