package kaconf

import (
	"net/netip"
	"time"
)

// Config is the typed VRRP side of a keepalived.conf, after keepalived 2.2.7's
// defaults and derivations (see derive.go) have been applied.
type Config struct {
	Global         GlobalDefs
	Instances      []*Instance
	Scripts        map[string]*Script
	TrackFiles     map[string]*TrackFile
	TrackProcesses map[string]*TrackProcess
	SyncGroups     []*SyncGroup
	// BFDInstances are the bfd_instance blocks by name (bfd.go).
	BFDInstances map[string]*BFDInstance
	// StaticIPAddresses are installed at start and removed at stop;
	// StaticRoutes and StaticRules are those lines raw (the daemon installs
	// the typed StaticRouteSpecs / StaticRuleSpecs below).
	StaticIPAddresses []VIP
	StaticRoutes      []Raw
	StaticRules       []Raw
	// StaticRouteSpecs and StaticRuleSpecs are the same lines typed
	// (routes.go); the daemon installs these.
	StaticRouteSpecs []Route
	StaticRuleSpecs  []Rule
	// TrackGroups are the track_group blocks by name (trackgroup.go).
	TrackGroups map[string]*TrackGroup
	// Ifaces: interface_up_down_delays, linkbeat_interfaces and
	// linkbeat_use_polling (ifaces.go).
	Ifaces IfaceConfig
	// Pid: use_pid_dir, instance, child_wait_time (reloadcfg.go).
	Pid PidDefs
	// GarpGroups are the garp_group blocks, in file order (garpgroup.go).
	GarpGroups []*GarpGroup
	// NotActedOn lists, in file order, the lines whose keyword is parsed and
	// validated but not yet acted on by the daemon (status ParsedOnly).
	NotActedOn []KeywordUse
	// Skipped lists the top-level blocks that are recognised but not read
	// (LVS, checkers, BFD, ...), in file order.
	Skipped []Raw
}

// Raw is a configuration line kept as words with its position, for keywords
// that are recognised but not modelled.
type Raw struct {
	Words []string
	Pos   Pos
}

// GlobalDefs holds the VRRP-relevant global_defs keywords. Fields whose
// keyword was not given hold keepalived's default.
type GlobalDefs struct {
	RouterID    string
	VRRPVersion uint8 // default 2

	GarpMasterRepeat        int           // default 5
	GarpMasterDelay         time.Duration // default 5s
	GarpMasterRefresh       time.Duration // default 0 (off)
	GarpMasterRefreshRepeat int           // default 1
	GarpLowerPrioRepeat     int           // default: GarpMasterRepeat
	GarpLowerPrioDelay      time.Duration // default: GarpMasterDelay
	GarpInterval            time.Duration
	GnaInterval             time.Duration
	MinGarp                 bool
	GarpExtraIf             time.Duration // vrrp_garp_extra_if SECS (0 = off)
	GarpExtraIfAll          bool          // ... with "all"
	DownTimerAdverts        int           // default 3
	LowerPrioNoAdvert       bool
	HigherPrioSendAdvert    bool

	McastGroup4      netip.Addr // default 224.0.0.18
	McastGroup6      netip.Addr // default ff02::12
	Strict           bool       // vrrp_strict
	CheckUnicastSrc  bool
	SkipCheckAdvAddr bool

	NotificationEmail     []string
	NotificationEmailFrom string
	SMTPServer            string
	SMTPServerPort        int // 0 = 25
	SMTPHeloName          string
	SMTPConnectTimeout    time.Duration
	SMTPAlert             *bool
	SMTPAlertVRRP         *bool
	NoEmailFaults         bool // no_email_faults: no mail on entering FAULT

	// startup_script / shutdown_script (their USER [GROUP] in RunAs);
	// timeouts 0 = keepalived's default 10 s.
	StartupScript         string
	StartupScriptTimeout  time.Duration
	ShutdownScript        string
	ShutdownScriptTimeout time.Duration

	EnableScriptSecurity      bool
	ScriptUser                string
	ScriptGroup               string
	NotifyFifo                string
	NotifyFifoScript          string
	VRRPNotifyFifo            string
	VRRPNotifyFifoScript      string
	VRRPNotifyPriorityChanges bool
	// FifoWriteStatesOnReload: fifo_write_vrrp_states_on_reload.
	FifoWriteStatesOnReload bool
	// RunAs holds the "USER [GROUP]" given on a FIFO script line, by keyword.
	RunAs map[string]RunAs

	DynamicInterfaces bool
	DefaultInterface  string // default eth0
	VRRPStartupDelay  time.Duration
	VmacPrefix        string
	// VmacAddrPrefix: vmac_addr_prefix, the prefix of VMACs made for VIPs
	// (use_vmac_addr, a VIP's use_vmac); "" is VmacPrefix.
	VmacAddrPrefix string
	// Receive buffers of the VRRP sockets (vrrp_rx_bufs_policy,
	// vrrp_rx_bufs_multiplier; internal/transport/rcvbuf.go): "" is
	// govrrp's default sizing.
	RxBufsPolicy     string // "" | "MTU" | "ADVERT" | "NUMBER"
	RxBufsSize       int    // bytes per instance with policy NUMBER
	RxBufsMultiplier int    // 0: keepalived's default 3

	// The no_accept firewall (keepalived's nftables, nftables_priority,
	// nftables_counters; vrrp_iptables maps here too).
	NFTablesTable    string // "" = govrrp's own table name
	NFTablesPriority *int   // nil = keepalived's default -1
	NFTablesCounters bool
	// NFTablesIfindex: nftables_ifindex, IPv6 link-local drops match the
	// interface by index even for dont_track_primary instances.
	NFTablesIfindex bool
	// DisableLocalIGMP: disable_local_igmp, no IGMP reports for
	// 224.0.0.0/24 groups (net.ipv4.igmp_link_local_mcast_reports 0).
	DisableLocalIGMP bool

	// Process is the VRRP process knobs (vrrp_rt_priority, vrrp_no_swap, ...).
	Process ProcessDefs

	// SNMP is the AgentX subagent's keywords (internal/snmp).
	SNMP SNMPDefs

	// Reload: reload_*, config_save_dir (reloadcfg.go).
	Reload ReloadDefs

	// Netlink receive buffers (vrrp_netlink_cmd_rcv_bufs[_force],
	// vrrp_netlink_monitor_rcv_bufs[_force]): 0 keeps the kernel's
	// default; Force sets them with SO_RCVBUFFORCE (past rmem_max).
	NetlinkCmdRcvBufs      int
	NetlinkCmdRcvBufsForce bool
	NetlinkMonRcvBufs      int
	NetlinkMonRcvBufsForce bool
	// ProcessMonRcvBufs[Force]: process_monitor_rcv_bufs[_force], the
	// receive buffer of the process events connector (track_process);
	// 0 keeps govrrp's default.
	ProcessMonRcvBufs      int
	ProcessMonRcvBufsForce bool

	// enable_dbus and dbus_service_name ("" = org.keepalived.Vrrp1):
	// keepalived's D-Bus interface (internal/dbusapi).
	EnableDBus      bool
	DBusServiceName string

	// Other holds every other recognised global_defs line (process tuning,
	// SNMP, DBus, LVS, firewall ...), parsed only.
	Other []Raw
}

// Instance is one vrrp_instance.
type Instance struct {
	Name string
	Pos  Pos

	State     string // "MASTER" | "BACKUP" as written; default BACKUP
	Interface string
	// LinkbeatUsePolling: the deprecated instance linkbeat_use_polling —
	// the carrier of Interface is polled (ifaces.go).
	LinkbeatUsePolling bool
	VRID               uint8
	// Priority is the configured priority. keepalived 2.2.7 (checked with
	// `keepalived -d`): omitted with state MASTER → 255 (address owner),
	// omitted otherwise → 100.
	Priority    uint8
	PrioritySet bool
	// AdverInt: v2 rounded to whole seconds (minimum 1 s); v3 rounded to
	// centiseconds. Default 1 s.
	AdverInt time.Duration
	Version  uint8 // 2|3: instance "version", else global vrrp_version; IPv6 forces 3
	Family   uint8 // 4|6, from the VIPs / unicast addresses

	AuthType    string  // "" | "PASS" | "AH"
	AuthPass    [8]byte // zero padded, truncated to 8 (as keepalived)
	AuthPassRaw string
	// AuthHMAC is the auth_hmac block (keepalived 2.4 signed adverts), nil
	// when absent.
	AuthHMAC *AuthHMAC

	VIPs         []VIP
	ExcludedVIPs []VIP

	Nopreempt    bool
	PreemptDelay time.Duration

	UnicastSrcIP       netip.Addr
	UnicastPeers       []UnicastPeer
	UnicastTTL         int
	KernelRxBufSize    int // kernel_rx_buf_size: this instance's share of its socket's buffer; 0 by policy
	UnicastFaultNoPeer bool
	CheckUnicastSrc    bool
	McastSrcIP         netip.Addr
	McastDstIP         netip.Addr
	TrackSrcIP         bool

	GarpMasterRepeat        int
	GarpMasterDelay         time.Duration
	GarpMasterRefresh       time.Duration
	GarpMasterRefreshRepeat int
	GarpLowerPrioRepeat     int
	GarpLowerPrioDelay      time.Duration
	GarpExtraIf             time.Duration // garp_extra_if SECS (default global; 0 = off)
	GarpExtraIfAll          bool          // ... with "all": every interface of a VIP/eVIP but the instance's
	DownTimerAdverts        int
	LowerPrioNoAdvert       bool
	HigherPrioSendAdvert    bool

	TrackScripts    []TrackRef
	TrackInterfaces []TrackRef
	TrackFiles      []TrackRef
	TrackProcesses  []TrackRef
	TrackBFDs       []TrackRef

	Notify, NotifyMaster, NotifyBackup, NotifyFault, NotifyStop string
	NotifyMasterRxLowerPri, NotifyDeleted                       string
	NotifyDeletedSet                                            bool // notify_deleted given, with or without a script
	// RunAs holds the "USER [GROUP]" given on a notify line, by keyword.
	RunAs                 map[string]RunAs
	NotifyPriorityChanges bool
	SmtpAlert             bool
	SmtpAlertSet          bool // smtp_alert given (else the global defaults apply)

	Accept             *bool // nil: not given (accept by default, unless strict)
	StrictMode         bool
	V3ChecksumAsV2     bool
	UseVMAC            string // "" = no VMAC; the VMAC name, or "vrrp.<VRID>" when use_vmac has no name
	VMACAddr           string
	VMACXmitBase       bool
	UseVMACAddr        bool // use_vmac_addr: a VMAC on each other interface (or for the other family) a VIP/eVIP uses
	DontTrackPrimary   bool
	SkipCheckAdvAddr   bool
	PromoteSecondaries bool
	NoVirtualIPAddress bool
	// OldUnicastChecksum is old_unicast_checksum: "" (auto-detect on
	// receive), "old" (send and accept the pre-1.3.6 form), "never".
	OldUnicastChecksum string

	VirtualRoutes []Raw
	VirtualRules  []Raw
	// VirtualRouteSpecs and VirtualRuleSpecs are the same lines typed
	// (routes.go); the daemon installs these while master.
	VirtualRouteSpecs []Route
	VirtualRuleSpecs  []Rule
	// Other holds every other recognised line (ParsedOnly keywords that are
	// not modelled above), raw.
	Other []Raw
}

// RunAs is the user (and group) a script line names; empty fields mean the
// default script user.
type RunAs struct {
	User, Group string
}

// VIP is one line of virtual_ipaddress, virtual_ipaddress_excluded or
// static_ipaddress.
type VIP struct {
	Prefix    netip.Prefix // bare address → /32 or /128
	Broadcast netip.Addr
	Dev       string
	Scope     string
	Label     string
	Peer      netip.Addr
	NoDAD     bool
	NoTrack   bool
	// UseVMAC: the address's own use_vmac option (a VMAC on its dev).
	UseVMAC bool
	// TrackGroup names the track_group of a static_ipaddress line
	// (trackgroup.go); "" otherwise.
	TrackGroup string
	Other      []string // other recognised options, raw (home, mngtmpaddr, ...)
	Pos        Pos
}

// UnicastPeer is one unicast_peer entry. MinTTL/MaxTTL are -1 when not given.
type UnicastPeer struct {
	Addr   netip.Addr
	MinTTL int
	MaxTTL int
	Pos    Pos
}

// TrackRef is an entry of a track_* block. Weight holds the effective weight
// after derivation (the tracked object's default when WeightSet is false).
type TrackRef struct {
	Name      string
	Weight    int
	WeightSet bool
	Reverse   bool
	Pos       Pos
}

// Script is a vrrp_script.
type Script struct {
	Name     string
	Pos      Pos
	Script   string
	Interval time.Duration // default 1s
	Timeout  time.Duration // default: Interval
	Weight   int
	Reverse  bool
	Rise     int // default 1
	Fall     int // default 1
	User     string
	Group    string
	InitFail bool
}

// TrackFile is a track_file (vrrp_track_file) block.
type TrackFile struct {
	Name      string
	Pos       Pos
	File      string
	Weight    int // default 1
	Reverse   bool
	InitFile  bool
	InitValue int
	Overwrite bool
}

// TrackProcess is a vrrp_track_process block.
type TrackProcess struct {
	Name           string
	Pos            Pos
	Process        []string
	ParamMatch     string
	Weight         int // default 0 (keepalived 2.2.7: a missing process is FAULT)
	Reverse        bool
	Quorum         int // default 1
	QuorumMax      int // -1: none
	ForkDelay      time.Duration
	TerminateDelay time.Duration
	FullCommand    bool
}

// SyncGroup is a vrrp_sync_group.
type SyncGroup struct {
	Name                                                        string
	Pos                                                         Pos
	Group                                                       []string
	GroupPos                                                    []Pos
	TrackScripts                                                []TrackRef
	TrackInterfaces                                             []TrackRef
	TrackFiles                                                  []TrackRef
	TrackProcesses                                              []TrackRef
	TrackBFDs                                                   []TrackRef // track_bfd (bfd.go)
	Notify, NotifyMaster, NotifyBackup, NotifyFault, NotifyStop string
	SmtpAlert                                                   bool
	SmtpAlertSet                                                bool             // smtp_alert given
	RunAs                                                       map[string]RunAs // by notify keyword
	GlobalTracking                                              bool
	SyncGroupTrackingWeight                                     bool
	NotifyPriorityChanges                                       bool
}

// SNMPDefs are global_defs' SNMP keywords. The lines also stay in Other
// (raw), as before they were typed.
type SNMPDefs struct {
	VRRP   bool   // enable_snmp_vrrp (enable_snmp_keepalived): KEEPALIVED-MIB's VRRP branch
	RFCv2  bool   // enable_snmp_rfcv2 or enable_snmp_rfc: VRRP-MIB (RFC 2787)
	RFCv3  bool   // enable_snmp_rfcv3 or enable_snmp_rfc: VRRPV3-MIB (RFC 6527)
	Traps  bool   // enable_traps
	Socket string // snmp_socket; "" is keepalived's default unix:/var/agentx/master
}

// Any reports whether a MIB is enabled (keepalived then runs a subagent).
func (s SNMPDefs) Any() bool { return s.VRRP || s.RFCv2 || s.RFCv3 }
