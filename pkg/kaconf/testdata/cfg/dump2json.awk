# dump2json.awk turns the "VRRP Topology" part of `keepalived -d` output into
# JSON: one object per instance with the fields TestSamplesGolden compares.
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function flushlist() { if (list != "") { printf "]"; list = "" } }
function field(k, v) { flushlist(); printf ",\n   %s: %s", q(k), v }
function startlist(k) { flushlist(); printf ",\n   %s: [", q(k); list = k; nitems = 0 }
function item(v) { printf "%s%s", (nitems++ ? ", " : ""), v }
function endinst() { if (inst) { flushlist(); printf "\n  }" } }
BEGIN { printf "{\"instances\": ["; ninst = 0 }
/------< VRRP Topology >------/ { topo = 1; next }
/------< / && topo { topo = 0 }
!topo { next }
/^ VRRP Instance = / {
	endinst(); inst = 1
	printf "%s\n  {\"name\": %s", (ninst++ ? "," : ""), q(substr($0, 18))
	next
}
/^   VRRP Version = / { field("version", $4); next }
/^   Wantstate = / { field("state", q($3)); next }
/^   Interface = / { field("interface", q($0 ~ /vmac on/ ? $NF : $3)); next }
/^   Virtual Router ID = / { field("vrid", $5); next }
/^   Priority = / { field("priority", $3); next }
/^   Advert interval = / {
	v = $4; u = $5
	ms = (u == "sec") ? v * 1000 : v
	field("advert_ms", ms); next
}
/^   Preempt = / { field("preempt", ($3 == "enabled") ? "true" : "false"); next }
/^   Authentication type = / { field("auth_type", q($4)); next }
/^   Password = / { field("auth_pass", q(substr($0, 15))); next }
/^   Gratuitous ARP delay = / { field("garp_delay", $5); next }
/^   Gratuitous ARP repeat = / { field("garp_repeat", $5); next }
/^   Virtual IP \(/ { startlist("vips"); next }
/^   Tracked interfaces :/ { startlist("track_interfaces"); next }
/^   Tracked scripts :/ { startlist("track_scripts"); next }
/^     / && list == "vips" { item(q($1)); next }
/^     / && (list == "track_interfaces" || list == "track_scripts") {
	item("{\"name\": " q($1) ", \"weight\": " $3 "}"); next
}
/^   / { flushlist() }
END { endinst(); printf "\n]}\n" }
