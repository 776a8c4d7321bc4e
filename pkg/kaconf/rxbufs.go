package kaconf

import "strconv"

// The socket receive-buffer keywords (keepalived's vrrp_rx_bufs_policy,
// vrrp_rx_bufs_multiplier, kernel_rx_buf_size). An invalid value is
// ignored with a warning, as keepalived 2.2.7 does; the arithmetic lives in
// internal/transport (RxBufPolicy).

const rxBufsDoc = "socket receive buffer: MTU or ADVERT (× vrrp_rx_bufs_multiplier) or NUMBER bytes per instance on the socket"

func gRxBufsPolicy() kwG {
	return kwG{name: "vrrp_rx_bufs_policy", args: "MTU|ADVERT|NUMBER", min: 1, max: 1, status: Supported, doc: rxBufsDoc, fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			t := n.Args[0].Text
			if t == "MTU" || t == "ADVERT" {
				g.RxBufsPolicy, g.RxBufsSize = t, 0
				return
			}
			v, err := strconv.ParseUint(t, 10, 32)
			if err != nil {
				checkRxBufsPolicy(c, n) // the warning
				return
			}
			g.RxBufsPolicy, g.RxBufsSize = "NUMBER", int(v)
		}}
}

func gRxBufsMultiplier() kwG {
	return kwG{name: "vrrp_rx_bufs_multiplier", args: "N", min: 1, max: 1, status: Supported,
		doc: "multiplier of vrrp_rx_bufs_policy MTU/ADVERT (default 3)", fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if v, ok := c.intArg(n, 0, 1, 1<<32-1); ok {
				g.RxBufsMultiplier = int(v)
			}
		}}
}

func iKernelRxBufSize() kwI {
	return kwI{name: "kernel_rx_buf_size", args: "BYTES", min: 1, max: 1, status: Supported,
		doc: "this instance's share of its socket's receive buffer (overrides vrrp_rx_bufs_policy)", fallback: ignore,
		fn: func(c *ctx, n *Node, in *Instance) {
			if v, ok := c.intArg(n, 0, 0, 1<<32-1); ok {
				in.KernelRxBufSize = int(v)
			}
		}}
}
