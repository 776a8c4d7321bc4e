# effective.awk turns `keepalived -d` output (timestamps stripped) into
# KEY=VALUE lines of the effective values TestFallbacks compares beyond
# ../cfg/dump2json.awk's: global.*, instance.NAME.*, script.NAME.*,
# process.NAME.*. Durations are in milliseconds.
function kv(k, v) { print sect "." k "=" v }
function ms(v, u) { return (u ~ /^milli/) ? v : v * 1000 }
/^------< Global definitions >------/ { sect = "global"; next }
/^------< VRRP Topology >------/ { sect = ""; next }
/^------< / { sect = ""; next }
/^ VRRP Instance = / { sect = "instance." substr($0, 18); next }
/^ VRRP Script = / { sect = "script." substr($0, 16); next }
/^ VRRP Track process = / { sect = "process." substr($0, 23); next }
sect == "" { next }
sect == "global" && /^ VRRP IPv4 mcast group = / { kv("mcast_group4", $6); next }
sect == "global" && /^ VRRP IPv6 mcast group = / { kv("mcast_group6", $6); next }
sect == "global" && /^ VRRP default protocol version = / { kv("vrrp_version", $6); next }
sect == "global" && /^ Gratuitous ARP interval = / { kv("garp_interval_ms", $5 * 1000); next }
sect == "global" && /^ Gratuitous NA interval = / { kv("gna_interval_ms", $5 * 1000); next }
sect == "global" && /^ vrrp_startup_delay = / { kv("startup_delay_ms", $3 * 1000); next }
sect == "global" && /^ Num adverts before down = / { kv("down_timer_adverts", $6); next }
sect ~ /^(global|instance)/ && /Gratuitous ARP delay = / { kv("garp_delay_ms", $NF * 1000); next }
sect ~ /^(global|instance)/ && /Gratuitous ARP repeat = / { kv("garp_repeat", $NF); next }
sect ~ /^(global|instance)/ && /Gratuitous ARP refresh (timer )?= / { kv("garp_refresh_ms", $NF * 1000); next }
sect ~ /^(global|instance)/ && /Gratuitous ARP refresh repeat = / { kv("garp_refresh_repeat", $NF); next }
sect ~ /^(global|instance)/ && /Gratuitous ARP lower priority delay = / { kv("garp_lower_prio_delay_ms", $NF * 1000); next }
sect ~ /^(global|instance)/ && /Gratuitous ARP lower priority repeat = / { kv("garp_lower_prio_repeat", $NF); next }
sect ~ /^(global|instance)/ && /Send advert after receive lower priority advert = / { kv("lower_prio_no_advert", $NF == "true" ? "false" : "true"); next }
sect ~ /^(global|instance)/ && /Send advert after receive higher priority advert = / { kv("higher_prio_send_advert", $NF); next }
sect ~ /^instance/ && /^   Down timer adverts = / { kv("down_timer_adverts", $NF); next }
sect ~ /^instance/ && /^   Using src_ip = / { kv("src_ip", $4); next }
sect ~ /^instance/ && /^   Multicast address / { kv("mcast_dst_ip", $3); next }
sect ~ /^instance/ && /^   Preempt delay = / { kv("preempt_delay_ms", $4 * 1000); next }
sect ~ /^instance/ && /^   Unicast TTL = / { kv("unicast_ttl", $4); next }
sect ~ /^instance/ && /^   Accept = / { kv("accept", $3 == "enabled" ? "true" : "false"); next }
sect ~ /^instance/ && /^   Unicast Peer :/ { peers = 1; npeer = 0; next }
sect ~ /^instance/ && peers && /^     / { kv("peer." npeer++, $1 " " $3 " " $5); next }
sect ~ /^instance/ && /^   Tracked processes :/ { procs = 1; nproc = 0; next }
sect ~ /^instance/ && procs && /^     / { sub(/,$/, "", $1); kv("track_process." nproc++, $1 " " $3); next }
sect ~ /^instance/ && /^   Tracked files :/ { files = 1; nfile = 0; next }
sect ~ /^instance/ && files && /^     / { sub(/,$/, "", $1); kv("track_file." nfile++, $1 " " $3); next }
/^   [^ ]/ { peers = 0; procs = 0; files = 0 }
sect ~ /^script/ && /^   Interval = / { kv("interval_ms", ms($3, $4)); next }
sect ~ /^script/ && /^   Timeout = / { kv("timeout_ms", ms($3, $4)); next }
sect ~ /^script/ && /^   Weight = / { kv("weight", $3); next }
sect ~ /^script/ && /^   Rise = / { kv("rise", $3); next }
sect ~ /^script/ && /^   Fall = / { kv("fall", $3); next }
sect ~ /^process/ && /^   Min processes = / { kv("quorum", $4); next }
sect ~ /^process/ && /^   Max processes = / { kv("quorum_max", $4); next }
sect ~ /^process/ && /^   Weight = / { kv("weight", $3); next }
sect ~ /^process/ && /^   Terminate delay = / { v = $4; sub(/s$/, "", v); kv("terminate_delay_ms", v * 1000); next }
sect ~ /^process/ && /^   Fork delay = / { v = $4; sub(/s$/, "", v); kv("fork_delay_ms", v * 1000); next }
