package interop

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// benchEnv reads the knobs of `make bench`: BENCH_ROUNDS, BENCH_SCALE,
// BENCH_WINDOW (the scale rows' measuring window), BENCH_QUICK, BENCH_OUT,
// BENCH_LINKS (0 skips the four-link rows, 1 runs them; default: on unless
// quick).
type benchEnv struct {
	rounds int
	scale  int
	window time.Duration
	quick  bool
	links  bool
	out    string
}

func readBenchEnv() benchEnv {
	e := benchEnv{rounds: 3, scale: 255, window: 60 * time.Second, out: "bin/bench"}
	if os.Getenv("BENCH_QUICK") != "" {
		e.quick, e.rounds, e.window = true, 1, 10*time.Second
	}
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && n > 0 {
		e.rounds = min(n, 50)
	}
	if n, err := strconv.Atoi(os.Getenv("BENCH_SCALE")); err == nil && n > 0 {
		e.scale = min(n, 255)
	}
	if d, err := time.ParseDuration(os.Getenv("BENCH_WINDOW")); err == nil && d > 0 {
		e.window = min(d, 10*time.Minute)
	}
	if s := os.Getenv("BENCH_OUT"); s != "" {
		e.out = s
	}
	e.links = !e.quick
	if s := os.Getenv("BENCH_LINKS"); s != "" {
		e.links = s != "0"
	}
	return e
}

// benchUnit says how a row's samples print and chart.
type benchUnit string

const (
	unitMs    benchUnit = "ms"
	unitPct   benchUnit = "% core"
	unitMB    benchUnit = "MB"
	unitCount benchUnit = "count"
	unitS     benchUnit = "s"
)

// benchRow is one scenario and metric, with samples per implementation.
type benchRow struct {
	name    string
	unit    benchUnit
	samples map[impl][]float64
}

// benchResults collects rows in the order they were first recorded.
type benchResults struct {
	mu   sync.Mutex
	rows []*benchRow
}

func (r *benchResults) add(name string, unit benchUnit, im impl, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, row := range r.rows {
		if row.name == name {
			row.samples[im] = append(row.samples[im], v)
			return
		}
	}
	r.rows = append(r.rows, &benchRow{name: name, unit: unit, samples: map[impl][]float64{im: {v}}})
}

// stats is median, min, max of samples (sorted copy); ok false when empty.
func stats(v []float64) (med, lo, hi float64, ok bool) {
	if len(v) == 0 {
		return 0, 0, 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1], true
}

func fmtStat(v []float64) string {
	med, lo, hi, ok := stats(v)
	if !ok {
		return "-"
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', decimals(x), 64) }
	return fmt.Sprintf("%s [%s–%s] n=%d", f(med), f(lo), f(hi), len(v))
}

func decimals(x float64) int {
	switch ax := math.Abs(x); {
	case ax >= 100:
		return 0
	case ax >= 10:
		return 1
	default:
		return 2
	}
}

// table renders one line per row: keepalived beside govrrp, each
// "median [min–max] n=rounds".
func (r *benchResults) table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-58s %-7s %-30s %-30s\n", "scenario / metric", "unit", "keepalived 2.2.7 med [min–max]", "govrrp med [min–max]")
	for _, row := range r.rows {
		fmt.Fprintf(&b, "%-58s %-7s %-30s %-30s\n", row.name, row.unit, fmtStat(row.samples[keepalived]), fmtStat(row.samples[govrrp]))
	}
	return b.String()
}

// Chart colours: keepalived grey, govrrp blue; the min–max whisker black.
var (
	colKA   = color.RGBA{0x90, 0x90, 0x90, 0xff}
	colGV   = color.RGBA{0x1f, 0x6f, 0xc0, 0xff}
	colAxis = color.RGBA{0x30, 0x30, 0x30, 0xff}
	colGrid = color.RGBA{0xe0, 0xe0, 0xe0, 0xff}
)

// chartPNG draws one panel per unit given (client-seen outage in ms, CPU in
// % of a core): a pair of bars per row (keepalived left, govrrp right,
// height = median, whisker = min–max), on a log10 axis so 10 ms and 3.6 s
// rows are both readable. Labels are drawn with a 3×5 pixel font.
func (r *benchResults) chartPNG(path string, units ...benchUnit) error {
	r.mu.Lock()
	var panels [][]*benchRow
	for _, u := range units {
		var rows []*benchRow
		for _, row := range r.rows {
			if row.unit == u {
				rows = append(rows, row)
			}
		}
		if len(rows) > 0 {
			panels = append(panels, rows)
		}
	}
	r.mu.Unlock()
	const panelH, barW, gap, left, top = 260, 14, 18, 70, 30
	const legend = "GREY KEEPALIVED 2.2.7  BLUE GOVRRP  BAR MEDIAN  LINE MIN-MAX  LOG SCALE  0 = NONE"
	width := max(left+40, 20+len(legend)*8)
	for _, p := range panels {
		width = max(width, left+len(p)*(2*barW+gap)+40)
	}
	height := len(panels)*(panelH+top+190) + 20
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fillRect(img, img.Bounds(), color.White)
	y0 := 10
	for _, rows := range panels {
		drawPanel(img, rows, left, y0+top, panelH, barW, gap)
		y0 += panelH + top + 110
	}
	drawText(img, 10, height-14, legend, colAxis, 2)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func drawPanel(img *image.RGBA, rows []*benchRow, left, top, h, barW, gap int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range rows {
		for _, v := range row.samples {
			for _, x := range v {
				if x > 0 {
					lo, hi = math.Min(lo, x), math.Max(hi, x)
				}
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi <= dlo {
		dhi = dlo + 1
	}
	yOf := func(v float64) int {
		if v <= 0 {
			return top + h
		}
		f := (math.Log10(v) - dlo) / (dhi - dlo)
		return top + h - int(math.Round(f*float64(h)))
	}
	right := left + len(rows)*(2*barW+gap)
	for d := dlo; d <= dhi; d++ {
		y := yOf(math.Pow(10, d))
		fillRect(img, image.Rect(left, y, right, y+1), colGrid)
		drawText(img, 4, y-5, strconv.FormatFloat(math.Pow(10, d), 'g', 4, 64), colAxis, 2)
	}
	drawText(img, left, top-22, strings.ToUpper(string(rows[0].unit)), colAxis, 2)
	fillRect(img, image.Rect(left-1, top, left, top+h+1), colAxis)
	fillRect(img, image.Rect(left, top+h, right, top+h+1), colAxis)
	for i, row := range rows {
		x := left + gap/2 + i*(2*barW+gap)
		for j, im := range []impl{keepalived, govrrp} {
			med, mn, mx, ok := stats(row.samples[im])
			if !ok {
				continue
			}
			c := colKA
			if im == govrrp {
				c = colGV
			}
			bx := x + j*barW
			if med <= 0 { // nothing to draw on a log axis: say so
				drawText(img, bx+3, top+h-7, "0", c, 1)
			}
			fillRect(img, image.Rect(bx, yOf(med), bx+barW-2, top+h), c)
			cx := bx + barW/2 - 1
			fillRect(img, image.Rect(cx, yOf(mx), cx+1, yOf(mn)+1), colAxis)
		}
		drawTextVertical(img, x+barW-4, top+h+6, strings.ToUpper(row.name), colAxis)
	}
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// font3x5 is a 3×5 bitmap per glyph, rows top to bottom, 3 bits each.
var font3x5 = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
	'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1},
	'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7}, 'A': {2, 5, 7, 5, 5}, 'B': {6, 5, 6, 5, 6},
	'C': {7, 4, 4, 4, 7}, 'D': {6, 5, 5, 5, 6}, 'E': {7, 4, 6, 4, 7}, 'F': {7, 4, 6, 4, 4},
	'G': {7, 4, 5, 5, 7}, 'H': {5, 5, 7, 5, 5}, 'I': {7, 2, 2, 2, 7}, 'J': {1, 1, 1, 5, 7},
	'K': {5, 5, 6, 5, 5}, 'L': {4, 4, 4, 4, 7}, 'M': {5, 7, 7, 5, 5}, 'N': {6, 5, 5, 5, 5},
	'O': {7, 5, 5, 5, 7}, 'P': {7, 5, 7, 4, 4}, 'Q': {7, 5, 5, 7, 1}, 'R': {6, 5, 6, 5, 5},
	'S': {7, 4, 7, 1, 7}, 'T': {7, 2, 2, 2, 2}, 'U': {5, 5, 5, 5, 7}, 'V': {5, 5, 5, 5, 2},
	'W': {5, 5, 7, 7, 5}, 'X': {5, 5, 2, 5, 5}, 'Y': {5, 5, 2, 2, 2}, 'Z': {7, 1, 2, 4, 7},
	'.': {0, 0, 0, 0, 2}, '-': {0, 0, 7, 0, 0}, '/': {1, 1, 2, 4, 4}, '%': {5, 1, 2, 4, 5},
	'@': {7, 5, 7, 4, 7}, '+': {0, 2, 7, 2, 0}, '(': {1, 2, 2, 2, 1}, ')': {4, 2, 2, 2, 4},
	'=': {0, 7, 0, 7, 0}, ':': {0, 2, 0, 2, 0}, 'e': {7, 4, 6, 4, 7},
}

func drawGlyph(img *image.RGBA, x, y int, g [5]uint8, c color.Color, s int, vertical bool) {
	for row := 0; row < 5; row++ {
		for col := 0; col < 3; col++ {
			if g[row]&(4>>col) == 0 {
				continue
			}
			px, py := x+col*s, y+row*s
			if vertical { // rotate 90° clockwise: reading top to bottom
				px, py = x+(4-row)*s, y+col*s
			}
			fillRect(img, image.Rect(px, py, px+s, py+s), c)
		}
	}
}

func drawText(img *image.RGBA, x, y int, s string, c color.Color, scale int) {
	for _, r := range s {
		if g, ok := font3x5[r]; ok {
			drawGlyph(img, x, y, g, c, scale, false)
		}
		x += 4 * scale
	}
}

func drawTextVertical(img *image.RGBA, x, y int, s string, c color.Color) {
	for _, r := range s {
		if g, ok := font3x5[r]; ok {
			drawGlyph(img, x, y, g, c, 1, true)
		}
		y += 4
	}
}
