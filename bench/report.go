package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

func fmtMem(m memPeak) string {
	if math.IsNaN(m.rss) && math.IsNaN(m.hwm) {
		return "—"
	}
	s := fmtNum(m.rss) + " / " + fmtNum(m.hwm)
	if !math.IsNaN(m.start) {
		s += " (at start " + fmtNum(m.start) + ")"
	}
	return s
}

var tableHead = []string{"db", "scenario", "sachet", "reference", "ratio", "target", "met?", "server peak RSS MiB (sampled / VmHWM)"}

func (r row) cells() []string {
	return []string{r.db, r.name, r.value, r.ref, fmtRatio(r.ratio), r.target, r.met, fmtMem(r.mem)}
}

// textTable is the table for the terminal.
func (b *bench) textTable() string {
	rows := [][]string{tableHead}
	for _, r := range b.rows {
		rows = append(rows, r.cells())
	}
	w := make([]int, len(tableHead))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	var sb strings.Builder
	sb.WriteString("\n")
	for k, r := range rows {
		for i, c := range r {
			sb.WriteString(c)
			if i < len(r)-1 {
				sb.WriteString(strings.Repeat(" ", w[i]-utf8.RuneCountInString(c)+2))
			}
		}
		sb.WriteString("\n")
		if k == 0 {
			for i := range w {
				sb.WriteString(strings.Repeat("-", w[i]))
				if i < len(w)-1 {
					sb.WriteString("  ")
				}
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

func (b *bench) mdTable() string {
	var sb strings.Builder
	sb.WriteString("| " + strings.Join(tableHead, " | ") + " |\n")
	sb.WriteString("|" + strings.Repeat("---|", len(tableHead)) + "\n")
	for _, r := range b.rows {
		c := r.cells()
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "|", "\\|")
		}
		if strings.HasPrefix(r.met, "no") {
			c[6] = "**" + c[6] + "**"
		}
		sb.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	return sb.String()
}

type machine struct {
	cores              int
	cpu, mem, disk, os string
}

func readFirst(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func collectMachine(dir string) machine {
	m := machine{cores: runtime.NumCPU(), os: runtime.GOOS + "/" + runtime.GOARCH}
	if k := readFirst("/proc/sys/kernel/osrelease"); k != "" {
		m.os = "Linux " + k + " " + runtime.GOARCH
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				var kb float64
				fmt.Sscan(f[1], &kb)
				m.mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	m.disk = diskInfo(dir)
	return m
}

// diskInfo describes the disk under dir from df -T and /sys/block.
func diskInfo(dir string) string {
	out, err := exec.Command("df", "-T", "-h", dir).Output()
	if err != nil {
		return "unknown (df -T failed)"
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 7 {
		return strings.TrimSpace(lines[len(lines)-1])
	}
	src, fstype, total, avail, mnt := f[0], f[1], f[2], f[4], f[6]
	desc := fmt.Sprintf("%s (%s, %s, %s free, on %s)", src, fstype, total, avail, mnt)
	name := filepath.Base(src)
	sys, err := filepath.EvalSymlinks("/sys/class/block/" + name)
	if err != nil {
		return desc
	}
	if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
		sys = filepath.Dir(sys)
	}
	model := readFirst(filepath.Join(sys, "device/model"))
	if model == "" {
		if out, err := exec.Command("lsblk", "-dno", "MODEL", "/dev/"+filepath.Base(sys)).Output(); err == nil {
			model = strings.TrimSpace(string(out))
		}
	}
	if model == "" {
		model = "model not reported"
		if strings.HasPrefix(filepath.Base(sys), "vd") {
			model += ", virtio"
		}
	}
	if rot := readFirst(filepath.Join(sys, "queue/rotational")); rot != "" {
		model += ", queue/rotational=" + rot
	}
	return desc + "; " + model
}

const keepMarker = "<!-- bench: hand-written notes below this line are kept when the tool rewrites this file -->"

func (b *bench) command() string {
	var q []string
	for _, a := range b.args {
		if strings.ContainsAny(a, " '\"$()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q = append(q, a)
	}
	return strings.TrimSpace("go run ./bench " + strings.Join(q, " "))
}

func (b *bench) writeREADME(path string, m machine, sum *summary, runErr error) error {
	kept := ""
	if old, err := os.ReadFile(path); err == nil {
		if _, after, ok := bytes.Cut(old, []byte(keepMarker)); ok {
			kept = strings.TrimLeft(string(after), "\n")
		}
	}
	c := b.cfg
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format, args...) }
	p("# Sachet benchmarks\n\n")
	p("Written by `make bench` (the load generator in `bench/`, issue 4). Everything above the\n")
	p("marker at the end is regenerated on every run; notes below it are kept.\n\n")
	p("- **Date:** %s (took %s)\n", b.start.UTC().Format("2006-01-02 15:04 MST"), time.Since(b.start).Round(time.Second))
	p("- **Command:** `make bench`, i.e. `go build -o bin/sachet ./cmd/sachet && %s`\n", b.command())
	p("- **Machine:** %d cores (%s), %s memory, %s\n", m.cores, m.cpu, m.mem, m.os)
	p("- **Disk (data dir, `df -T`):** %s\n", m.disk)
	p("- **Load average (1/5/15 min):** %s at the start, %s at the end (load above %d, or CPU pressure above 0, is other work competing for the cores)\n", b.loadStart, loadavg(), m.cores)
	p("- **Software:** %s\n", strings.Join(b.versions, ", "))
	p("- **Settings:** runs per scenario: %d (medians shown); big file %s; %d × %s parallel uploads; %s chunks; "+
		"%d ranges of %s at concurrency %d; metadata and list at concurrency %d for %s; %d shares; "+
		"login at concurrency %d for %s, bcrypt cost %d; memory sizes %s (runs per size: %d).\n\n",
		c.runs, fmtSize(c.big), c.par, fmtSize(c.parSize), fmtSize(c.chunk),
		c.ranges, fmtSize(c.rangeSize), c.rangeConc, c.metaConc, c.metaDur, c.listShares,
		c.loginConc, c.loginDur, c.bcryptCost, c.memSizes.String(), c.memRuns)
	p("## Results\n\n")
	p("%s\n", b.mdTable())
	p("%d requests, %d failed. The load generator's own peak RSS: %s MiB.\n\n", sum.requests, sum.failures, fmtNum(selfHWM()))
	for _, sec := range b.sections {
		p("%s\n", sec)
	}
	if runErr != nil {
		p("**The run reported errors:** `%s`\n\n", strings.ReplaceAll(firstLine(runErr.Error()), "`", "'"))
	}
	if len(b.notes) > 0 {
		p("Notes from this run:\n\n")
		for _, n := range b.notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	p("## How it is measured\n\n")
	p("- `sachet serve` is started fresh for each database (a temporary data dir; SQLite, then a MariaDB database\n")
	p("  created and dropped by the tool), an admin is created with `sachet user create --admin` and given every\n")
	p("  permission; all requests carry its token. The client is Go's `net/http` with keep-alive connections for\n")
	p("  every worker and no compression, on the same %d cores as the server (and as the references).\n", m.cores)
	p("- **Download:** the whole share, one stream, then %d at once (aggregate MiB/s), after one untimed download\n", c.par)
	p("  that warms the page cache. nginx (same run, generated config, %d workers, `sendfile on`) serves\n  the same file: %s. The curl row is `curl -s -o /dev/null -w '%%{speed_download}'`\n", m.cores, orDefault(b.nginxFile, "not run"))
	p("  of the same share and of nginx's file, interleaved, right after (page cache warm).\n")
	p("- **Upload:** the Dropzone protocol (`dzuuid`, `dzchunkindex`, `dztotalchunks`, file part `upload`), %s chunks\n", fmtSize(c.chunk))
	p("  one after another per file until the `201`; pseudo-random bytes streamed through `io.Pipe` +\n")
	p("  `multipart.Writer`, timed from the first chunk to the `201`. Reference: `dd if=/dev/zero bs=8M conv=fsync`\n")
	p("  of the same number of bytes into the data dir, once before and twice after each run (its own MB/s figure;\n")
	p("  the median of all, since dd alone swings by up to 3× back to back on a shared disk).\n")
	p("- **Range / metadata / list / login:** fixed concurrency, each worker sends its next request when the last\n")
	p("  one's body is read; req/s is completed requests over wall time, p50/p99 over all requests of a run.\n")
	p("  The bcrypt reference is `bcrypt.CompareHashAndPassword` at the server's cost on %d goroutines, run right after\n", c.bcryptWorkers)
	p("  each login run. Python figures are the ones issue 4 measured on this machine, for scale.\n")
	p("- **Memory:** `/proc/<pid>/status` VmRSS sampled every %s during each sachet scenario (the peak), and VmHWM\n", sampleEvery)
	p("  reset at the start of each scenario (`echo 5 > /proc/<pid>/clear_refs`) and read at its end; the column\n")
	p("  shows both, the worst over the runs, and the VmRSS the scenario started with (what earlier scenarios left:\n")
	p("  the server runs all scenarios in order). A scenario misses its target when either peak exceeds %.0f MiB. Memory\n", rssLimit)
	p("  flatness: one upload and one download of each size; the peaks must not grow with the size (spread ≤ 8 MiB).\n")
	p("- **S3 (issue 11, `-scenarios s3`):** the bench starts versitygw (posix backend on a temporary dir, loopback) and\n")
	p("  `sachet serve` with `SACHET_STORAGE=s3://%s/%s` on it: two processes on one fresh MariaDB database (one on SQLite\n", s3Bucket, s3Prefix)
	p("  when MariaDB is absent). Upload, download and memory (sizes %s) use process 1; metadata and list send\n", c.s3MemSizes.String())
	p("  alternate workers' requests to each process (reported, no target). The reference, right after each sachet run,\n")
	p("  puts the same bytes to the same versitygw straight through minio-go (`PutObject`, parts of max(chunk, 5 MiB),\n")
	p("  one stream; %d at once for the parallel row) and gets the object back (`GetObject`, one stream).\n\n", c.par)
	p("%s\n\n", keepMarker)
	sb.WriteString(kept)
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 400 {
		l = l[:400] + "…"
	}
	return l
}
