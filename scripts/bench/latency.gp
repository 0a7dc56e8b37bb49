# latency.gp — the benchmark's chart: latency over time per series, with the switch moments marked.
# gnuplot -c latency.gp OUT.png DATA_DIR "name|title" ...   (scripts/bench.sh runs it)
# DATA_DIR/name.dat: t_s p50_ms p99_ms max_ms requests failed (per 250 ms of send time);
# DATA_DIR/name.marks: t_s type (switch | mark = a deploy's switch | restart).

out = ARG1
dir = ARG2
panels = ARGC - 2

set terminal pngcairo size 1400, 360 * panels + 60 font "DejaVu Sans,10" noenhanced
set output out
set multiplot layout panels, 1 title "Latency through nginx over time (open loop, from the intended send time; per 250 ms)"
set logscale y
set format y "%g"
set yrange [0.1:100000]
set ytics nomirror
set y2tics nomirror
set y2range [0:*]
set xlabel "seconds since the load started"
set ylabel "latency (ms, log)"
set y2label "failed requests per 250 ms"
set grid ytics lc rgb "#e0e0e0"
set key outside right top vertical

do for [i = 1:panels] {
    spec = value(sprintf("ARG%d", i + 2))
    bar = strstrt(spec, "|")
    name = substr(spec, 1, bar - 1)
    set title substr(spec, bar + 1, strlen(spec))
    data = dir . "/" . name . ".dat"
    marks = dir . "/" . name . ".marks"
    plot marks using 1:(strcol(2) eq "switch" ? 0.1 : NaN):(0):(1e5) with vectors nohead lc rgb "#7f7f7f" dt 2 title "switch", \
         marks using 1:(strcol(2) eq "mark" ? 0.1 : NaN):(0):(1e5) with vectors nohead lc rgb "#2ca02c" dt 2 title "deploy: switch", \
         marks using 1:(strcol(2) eq "restart" ? 0.1 : NaN):(0):(1e5) with vectors nohead lc rgb "#ff7f0e" dt 2 title "restart", \
         data using 1:4 with lines lc rgb "#f4b6b6" title "max", \
         data using 1:3 with lines lc rgb "#d62728" lw 1.5 title "p99", \
         data using 1:2 with lines lc rgb "#1f77b4" lw 1.5 title "p50", \
         data using 1:6 axes x1y2 with impulses lc rgb "#000000" lw 2 title "failed"
}
unset multiplot
