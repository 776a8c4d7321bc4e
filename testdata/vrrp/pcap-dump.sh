# pcap-dump.sh: sourced by capture.sh and capture-frr.sh.
# dump VRID prints "SRC DST HEX" of the last advert for VRID with a non-zero
# priority in $TMP/vrrp.pcap (IPv4 or IPv6), or nothing.
dump() {
	tcpdump -r "$TMP/vrrp.pcap" -n -x 2>/dev/null | awk -v want="$1" '
	function flush() {
		if (hex == "") return
		v = substr(hex, 1, 1)
		if (v == "4") { hl = hexval(substr(hex, 2, 1)) * 4; body = substr(hex, hl * 2 + 1); s = ip4(substr(hex, 25, 8)); d = ip4(substr(hex, 33, 8)) }
		else { body = substr(hex, 81); s = substr(hex, 17, 32); d = substr(hex, 49, 32) }
		if (hexval(substr(body, 3, 2)) == want && substr(body, 5, 2) != "00") { last = s " " d " " body }
		hex = ""
	}
	function hexval(h,   i, n) { n = 0; h = tolower(h); for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return n }
	function ip4(h,   i, r) { r = ""; for (i = 1; i <= 8; i += 2) r = r (i > 1 ? "." : "") hexval(substr(h, i, 2)); return r }
	/^[0-9]/ { flush(); next }
	/0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) hex = hex $i }
	END { flush(); print last }'
}
