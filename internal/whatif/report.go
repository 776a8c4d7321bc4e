package whatif

import "fmt"

// Report is the what-if analysis of the nodes of one cluster.
type Report struct {
	Nodes    []NodeInfo `json:"nodes"`
	Routers  []Router   `json:"routers"`
	Failures []Failure  `json:"failures"`
	Warnings []Warning  `json:"warnings"`
	// Notes say what the simulation assumes or does not model.
	Notes []string `json:"notes"`
}

// NodeInfo names a node and its file.
type NodeInfo struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// Router is one virtual router (VRID and family) across the nodes, and who
// holds its addresses with nothing failed.
type Router struct {
	Name     string         `json:"name"`
	VRID     uint8          `json:"vrid"`
	Family   uint8          `json:"family"`
	Version  uint8          `json:"version"`
	AdverInt string         `json:"advert_int"`
	VIPs     []string       `json:"vips"`
	Members  []RouterMember `json:"members"`
	HeldBy   []string       `json:"held_by"`
	// NotSimulated says why the router is left out ("" = simulated).
	NotSimulated string `json:"not_simulated,omitempty"`
	// NotElection lists keywords set on the router's instances that change
	// how a master serves its addresses, not who is master: simulated.
	NotElection []string `json:"simulated_not_election,omitempty"`
}

// RouterMember is one node's instance of a router.
type RouterMember struct {
	Node     string `json:"node"`
	Instance string `json:"instance"`
	Pos      string `json:"pos"`
	State    string `json:"state"`
	Priority uint8  `json:"priority"`
	// Effective is the priority with every track healthy.
	Effective    uint8  `json:"effective_priority"`
	Preempt      bool   `json:"preempt"`
	PreemptDelay string `json:"preempt_delay,omitempty"`
	Address      string `json:"address"`
	// AddressAssumed: the files do not give the advert source; this one
	// (from the documentation ranges) only decides ties.
	AddressAssumed bool `json:"address_assumed,omitempty"`
}

// Failure is one single failure on one node and what it does to every
// router it touches.
type Failure struct {
	Node string `json:"node"`
	// Kind is track_script, track_file, track_process, track_src_ip,
	// interface or stop.
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	What string `json:"what"`
	Pos  string `json:"pos,omitempty"`
	// SeenAfter / RecoveredAfter: how long after the real failure (and its
	// end) govrrp sees it: a script's fall×interval and rise×interval.
	SeenAfter      string    `json:"seen_after,omitempty"`
	RecoveredAfter string    `json:"recovered_after,omitempty"`
	Outcomes       []Outcome `json:"outcomes"`
}

// Outcome is what one failure, and the recovery from it, does to one router.
// Times are virtual, by the protocol, from the moment govrrp sees the change.
type Outcome struct {
	Router string `json:"router"`
	VRID   uint8  `json:"vrid"`
	// NotSimulated repeats the router's reason when it is left out.
	NotSimulated string `json:"not_simulated,omitempty"`
	// Effect on the failing node's instance: "150→90", "FAULT", "stopped",
	// "no effect".
	Effect string   `json:"effect,omitempty"`
	Before []string `json:"before,omitempty"`
	After  []string `json:"after,omitempty"`
	Moved  bool     `json:"moved"`
	Takes  string   `json:"takes,omitempty"`
	// Unheld is how long no node held the addresses during the move.
	Unheld    string   `json:"unheld,omitempty"`
	Recovered []string `json:"recovered,omitempty"`
	// Back: the holder after recovery is the holder before the failure.
	Back      bool   `json:"back"`
	BackTakes string `json:"back_takes,omitempty"`
	// Why the addresses come back or stay: "preempt", "preempt_delay 10s",
	// "nopreempt on proxy-a".
	Why string `json:"why,omitempty"`
	// Tie: the holder won on equal priority, decided by address.
	Tie bool `json:"tie,omitempty"`
	// Unsettled: the bounded simulation ended before the machines settled.
	Unsettled bool `json:"unsettled,omitempty"`
}

// Warning names the line to change.
type Warning struct {
	Pos string `json:"pos"`
	Msg string `json:"message"`
}

// String formats the warning as the config check's diagnostics are.
func (w Warning) String() string { return fmt.Sprintf("%s: warning: what-if: %s", w.Pos, w.Msg) }
